//! `--change` instructions of `import` and `commit`: the Dockerfile instructions that only
//! touch the image config (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD,
//! STOPSIGNAL, USER, VOLUME, WORKDIR), applied to an `oci::config::ContainerConfig`.

use std::collections::BTreeMap;

use oci::config::{ContainerConfig, HealthConfig};
use serde_json::Value;

use crate::clock;
use crate::error::{Error, Result};

const ALLOWED: &[&str] = &[
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "HEALTHCHECK",
    "LABEL",
    "ONBUILD",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Applies every change, in order; fails naming the first bad one.
pub fn apply(config: &mut ContainerConfig, changes: &[String]) -> Result<()> {
    for change in changes {
        apply_one(config, change.trim())?;
    }
    Ok(())
}

fn bad(change: &str, why: &str) -> Error {
    Error::invalid(format!("invalid change \"{change}\": {why}"))
}

fn apply_one(c: &mut ContainerConfig, change: &str) -> Result<()> {
    if change.is_empty() {
        return Ok(());
    }
    let (word, rest) = match change.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (change, ""),
    };
    let inst = word.to_ascii_uppercase();
    if !ALLOWED.contains(&inst.as_str()) {
        return Err(Error::invalid(format!(
            "{word} is not a valid change command"
        )));
    }
    if rest.is_empty() && inst != "CMD" && inst != "ENTRYPOINT" {
        return Err(bad(
            change,
            &format!("{inst} requires at least one argument"),
        ));
    }
    match inst.as_str() {
        "CMD" => c.cmd = Some(command(rest)),
        "ENTRYPOINT" => c.entrypoint = Some(command(rest)),
        "ENV" => {
            let env = c.env.get_or_insert_with(Vec::new);
            for (k, v) in key_values(rest, true).map_err(|e| bad(change, &e))? {
                let entry = format!("{k}={v}");
                match env
                    .iter_mut()
                    .find(|e| e.split('=').next() == Some(k.as_str()))
                {
                    Some(slot) => *slot = entry,
                    None => env.push(entry),
                }
            }
        }
        "LABEL" => {
            let labels = c.labels.get_or_insert_with(BTreeMap::new);
            for (k, v) in key_values(rest, false).map_err(|e| bad(change, &e))? {
                labels.insert(k, v);
            }
        }
        "EXPOSE" => {
            let ports = c.exposed_ports.get_or_insert_with(BTreeMap::new);
            for p in rest.split_whitespace() {
                let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                let ok = num.split('-').all(|n| n.parse::<u16>().is_ok())
                    && matches!(proto, "tcp" | "udp" | "sctp");
                if !ok {
                    return Err(bad(change, &format!("invalid port {p}")));
                }
                ports.insert(format!("{num}/{proto}"), Value::Object(Default::default()));
            }
        }
        "USER" => c.user = Some(rest.to_string()),
        "WORKDIR" => {
            let dir = if rest.starts_with('/') {
                rest.to_string()
            } else {
                let base = c.working_dir.clone().unwrap_or_else(|| "/".into());
                format!("{}/{rest}", base.trim_end_matches('/'))
            };
            c.working_dir = Some(dir);
        }
        "STOPSIGNAL" => c.stop_signal = Some(rest.to_string()),
        "VOLUME" => {
            let vols = c.volumes.get_or_insert_with(BTreeMap::new);
            let list: Vec<String> = match serde_json::from_str::<Vec<String>>(rest) {
                Ok(v) if rest.starts_with('[') => v,
                _ => rest.split_whitespace().map(str::to_string).collect(),
            };
            for v in list {
                vols.insert(v, Value::Object(Default::default()));
            }
        }
        "ONBUILD" => c
            .on_build
            .get_or_insert_with(Vec::new)
            .push(rest.to_string()),
        "HEALTHCHECK" => c.healthcheck = Some(healthcheck(rest).map_err(|e| bad(change, &e))?),
        _ => unreachable!("checked against ALLOWED"),
    }
    Ok(())
}

/// Exec form (`["a","b"]`) or shell form (`/bin/sh -c "…"`).
fn command(rest: &str) -> Vec<String> {
    if rest.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(rest) {
            return v;
        }
    }
    if rest.is_empty() {
        return Vec::new();
    }
    vec!["/bin/sh".into(), "-c".into(), rest.to_string()]
}

/// Splits `a=1 b="two words" c=x\ y` into pairs; with `legacy`, `KEY value words` (no `=` in
/// the first word) is one pair, as `ENV` allows.
fn key_values(s: &str, legacy: bool) -> std::result::Result<Vec<(String, String)>, String> {
    let words = shell_words(s)?;
    if legacy && words.first().is_some_and(|w| !w.contains('=')) {
        let (k, v) = s
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("{s} needs a value"))?;
        return Ok(vec![(k.to_string(), v.trim().to_string())]);
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("{w} is not of the form key=value")),
        })
        .collect()
}

/// Whitespace-separated words with `"…"`, `'…'` and `\` quoting removed.
fn shell_words(s: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '"' | '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some(c) if c == ch => break,
                        Some('\\') if ch == '"' => match chars.next() {
                            Some(n) => cur.push(n),
                            None => return Err("unterminated quote".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unterminated quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

fn healthcheck(rest: &str) -> std::result::Result<HealthConfig, String> {
    let mut hc = HealthConfig::default();
    let mut s = rest.trim();
    if s.eq_ignore_ascii_case("NONE") {
        hc.test = Some(vec!["NONE".into()]);
        return Ok(hc);
    }
    while let Some(flag) = s.strip_prefix("--") {
        let (f, after) = flag.split_once(char::is_whitespace).unwrap_or((flag, ""));
        let (name, value) = f
            .split_once('=')
            .ok_or_else(|| format!("flag --{f} needs a value"))?;
        let dur = || {
            clock::parse_go_duration(value)
                .map(|d| d.as_nanos() as i64)
                .ok_or_else(|| format!("invalid duration {value} for --{name}"))
        };
        match name {
            "interval" => hc.interval = Some(dur()?),
            "timeout" => hc.timeout = Some(dur()?),
            "start-period" => hc.start_period = Some(dur()?),
            "start-interval" => hc.start_interval = Some(dur()?),
            "retries" => {
                hc.retries = Some(
                    value
                        .parse()
                        .map_err(|_| format!("invalid retries {value}"))?,
                )
            }
            other => return Err(format!("unknown flag --{other}")),
        }
        s = after.trim();
    }
    let (word, cmd) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
    if !word.eq_ignore_ascii_case("CMD") {
        return Err("HEALTHCHECK must be NONE or CMD".into());
    }
    let cmd = cmd.trim();
    hc.test = Some(match serde_json::from_str::<Vec<String>>(cmd) {
        Ok(v) if cmd.starts_with('[') => std::iter::once("CMD".to_string()).chain(v).collect(),
        _ => vec!["CMD-SHELL".into(), cmd.to_string()],
    });
    Ok(hc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_docker_changes() {
        let mut c = ContainerConfig::default();
        apply(
            &mut c,
            &[
                r#"CMD ["sh"]"#.into(),
                "ENTRYPOINT echo hi".into(),
                r#"ENV A=1 B="two words""#.into(),
                "ENV LEGACY some value".into(),
                "LABEL k=v".into(),
                "EXPOSE 80 53/udp".into(),
                "WORKDIR /srv".into(),
                "WORKDIR app".into(),
                "USER app".into(),
                "VOLUME /data".into(),
                "STOPSIGNAL SIGINT".into(),
                "HEALTHCHECK --interval=5s CMD true".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.cmd.unwrap(), vec!["sh"]);
        assert_eq!(c.entrypoint.unwrap(), vec!["/bin/sh", "-c", "echo hi"]);
        assert_eq!(
            c.env.unwrap(),
            vec!["A=1", "B=two words", "LEGACY=some value"]
        );
        assert_eq!(c.labels.unwrap()["k"], "v");
        let ports: Vec<_> = c.exposed_ports.unwrap().into_keys().collect();
        assert_eq!(ports, vec!["53/udp", "80/tcp"]);
        assert_eq!(c.working_dir.as_deref(), Some("/srv/app"));
        assert_eq!(c.user.as_deref(), Some("app"));
        assert!(c.volumes.unwrap().contains_key("/data"));
        assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
        let hc = c.healthcheck.unwrap();
        assert_eq!(hc.interval, Some(5_000_000_000));
        assert_eq!(hc.test.unwrap(), vec!["CMD-SHELL", "true"]);
    }

    #[test]
    fn rejects_what_docker_rejects() {
        let mut c = ContainerConfig::default();
        assert!(apply(&mut c, &["RUN true".into()])
            .unwrap_err()
            .to_string()
            .contains("RUN is not a valid change command"));
        assert!(apply(&mut c, &["EXPOSE nope".into()]).is_err());
        assert!(apply(&mut c, &["LABEL novalue".into()]).is_err());
        assert!(apply(&mut c, &["ENV A=\"open".into()]).is_err());
        assert!(apply(&mut c, &["USER".into()]).is_err());
    }
}
