//! Parsers for individual flag values, with docker's error wording: CPUs as a rational
//! number, restart policies, ulimits, sysctls, labels, environment entries, durations.

use api_types::{RestartPolicy, Ulimit};

use api_types::time::parse_go_duration;

/// `opts.ParseCPUs`: `1.5` → 1_500_000_000 nano-CPUs; also `3/2`.
pub fn parse_cpus(v: &str) -> Result<i64, String> {
    let bad = || format!("failed to parse {v} as a rational number");
    let (num, den) = match v.split_once('/') {
        Some((n, d)) => (n, d),
        None => (v, "1"),
    };
    let den: i128 = den.parse().map_err(|_| bad())?;
    if den == 0 {
        return Err(bad());
    }
    let (neg, digits) = match num.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, num.strip_prefix('+').unwrap_or(num)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    // value = int.frac / den, in nanos: (int.frac * 1e9) / den must be an integer.
    let scale = 10i128
        .checked_pow(frac.len() as u32)
        .ok_or("value is too precise")?;
    let mantissa: i128 = format!("{int}{frac}")
        .trim_start_matches('0')
        .parse()
        .unwrap_or(0);
    let numer = mantissa * 1_000_000_000;
    let denom = scale * den;
    if numer % denom != 0 {
        return Err("value is too precise".into());
    }
    let nanos = numer / denom;
    i64::try_from(if neg { -nanos } else { nanos }).map_err(|_| bad())
}

/// `opts.ParseRestartPolicy`: `no`, `always`, `unless-stopped`, `on-failure[:N]`.
pub fn parse_restart(policy: &str) -> Result<RestartPolicy, String> {
    if policy.is_empty() {
        return Ok(RestartPolicy::default());
    }
    let (name, count) = match policy.split_once(':') {
        Some(("", _)) => {
            return Err("invalid restart policy format: no policy provided before colon".into())
        }
        Some((n, c)) => (n, Some(c)),
        None => (policy, None),
    };
    let mut p = RestartPolicy {
        name: name.to_string(),
        maximum_retry_count: 0,
    };
    if let Some(c) = count.filter(|c| !c.is_empty()) {
        p.maximum_retry_count = c.parse().map_err(|_| {
            "invalid restart policy format: maximum retry count must be an integer".to_string()
        })?;
    }
    Ok(p)
}

const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// `units.ParseUlimit`: `nofile=1024[:2048]`.
pub fn parse_ulimit(v: &str) -> Result<Ulimit, String> {
    let (name, limits) = v
        .split_once('=')
        .ok_or_else(|| format!("invalid ulimit argument: {v}"))?;
    if !ULIMITS.contains(&name) {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let int = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| format!("strconv.ParseInt: parsing {s:?}: invalid syntax"))
    };
    let (soft, hard) = match limits.split_once(':') {
        Some((s, h)) => (int(s)?, int(h)?),
        None => (int(limits)?, int(limits)?),
    };
    if soft > hard {
        return Err(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        ));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

/// `opts.ValidateSysctl`: namespaced sysctls only.
pub fn validate_sysctl(v: &str) -> Result<(String, String), String> {
    const EXACT: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let denied = || format!("sysctl '{v}' is not allowed");
    let (k, val) = v.split_once('=').ok_or_else(denied)?;
    if k.is_empty() {
        return Err(denied());
    }
    if EXACT.contains(&k) || k.starts_with("net.") || k.starts_with("fs.mqueue.") {
        return Ok((k.to_string(), val.to_string()));
    }
    Err(denied())
}

/// `opts.ValidateLabel`.
pub fn validate_label(v: &str) -> Result<(), String> {
    let key = v.split_once('=').map(|(k, _)| k).unwrap_or(v);
    let key = key.trim_start_matches([' ', '\t']);
    if key.is_empty() {
        return Err(format!("invalid label '{v}': empty name"));
    }
    if key.contains([' ', '\t']) {
        return Err(format!("label '{key}' contains whitespaces"));
    }
    Ok(())
}

/// `opts.ValidateEnv`: `KEY` alone takes the caller's value of `KEY` when set.
pub fn validate_env(v: &str) -> Result<String, String> {
    let (k, has_value) = match v.split_once('=') {
        Some((k, _)) => (k, true),
        None => (v, false),
    };
    if k.is_empty() {
        return Err(format!("invalid environment variable: {v}"));
    }
    if has_value {
        return Ok(v.to_string());
    }
    Ok(match std::env::var(k) {
        Ok(val) => format!("{k}={val}"),
        Err(_) => v.to_string(),
    })
}

/// A Go duration flag value in nanoseconds.
pub fn duration_nanos(v: &str) -> Result<i64, String> {
    parse_go_duration(v)
        .map(|s| (s * 1e9).round() as i64)
        .ok_or_else(|| format!("time: invalid duration {v:?}"))
}

/// A Go integer flag value.
pub fn int(v: &str) -> Result<i64, String> {
    v.parse()
        .map_err(|_| format!("strconv.ParseInt: parsing {v:?}: invalid syntax"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_as_rationals() {
        assert_eq!(parse_cpus("1.5"), Ok(1_500_000_000));
        assert_eq!(parse_cpus("0.5"), Ok(500_000_000));
        assert_eq!(parse_cpus("2"), Ok(2_000_000_000));
        assert_eq!(parse_cpus("3/2"), Ok(1_500_000_000));
        assert_eq!(parse_cpus("0.000000001"), Ok(1));
        assert_eq!(parse_cpus("1.50000000000"), Ok(1_500_000_000));
        assert_eq!(
            parse_cpus("0.0000000001").unwrap_err(),
            "value is too precise"
        );
        assert_eq!(
            parse_cpus("abc").unwrap_err(),
            "failed to parse abc as a rational number"
        );
        assert_eq!(
            parse_cpus("1/0").unwrap_err(),
            "failed to parse 1/0 as a rational number"
        );
    }

    #[test]
    fn restart_policies() {
        assert_eq!(parse_restart("").unwrap(), RestartPolicy::default());
        assert_eq!(
            parse_restart("on-failure:3").unwrap().maximum_retry_count,
            3
        );
        assert_eq!(parse_restart("always").unwrap().name, "always");
        assert!(parse_restart(":3").is_err());
        assert!(parse_restart("on-failure:x").is_err());
    }

    #[test]
    fn ulimits_sysctls_labels_env() {
        assert_eq!(
            parse_ulimit("nofile=1024:2048").unwrap(),
            Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048
            }
        );
        assert_eq!(parse_ulimit("nproc=10").unwrap().hard, 10);
        assert_eq!(
            parse_ulimit("bogus=1").unwrap_err(),
            "invalid ulimit type: bogus"
        );
        assert!(parse_ulimit("nofile=2:1").unwrap_err().contains("2 > 1"));
        assert!(validate_sysctl("net.ipv4.ip_forward=1").is_ok());
        assert_eq!(
            validate_sysctl("kernel.pid_max=1").unwrap_err(),
            "sysctl 'kernel.pid_max=1' is not allowed"
        );
        assert!(validate_label("a=b").is_ok());
        assert_eq!(
            validate_label("=b").unwrap_err(),
            "invalid label '=b': empty name"
        );
        assert_eq!(
            validate_env("=x").unwrap_err(),
            "invalid environment variable: =x"
        );
        assert_eq!(validate_env("A=1").unwrap(), "A=1");
        assert_eq!(
            validate_env("BERTH_SURELY_UNSET_VAR").unwrap(),
            "BERTH_SURELY_UNSET_VAR"
        );
        assert_eq!(duration_nanos("1m30s"), Ok(90_000_000_000));
    }
}
