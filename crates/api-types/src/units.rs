//! Human-readable durations and sizes exactly as docker's `go-units` writes them
//! (`Up 5 seconds`, `About a minute ago`, `4.26MB`, `1.95GiB`), Go's `%.*g` float
//! formatting they rely on, and the size parser behind `--memory 512m`.

/// `units.HumanDuration`: how long ago, in docker's words.
pub fn human_duration(secs: f64) -> String {
    let seconds = secs as i64;
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = (secs / 60.0) as i64;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (secs / 3600.0 + 0.5) as i64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", (secs / 3600.0) as i64 / 24 / 365)
}

const DECIMAL: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

fn size_and_unit(
    mut size: f64,
    base: f64,
    units: &'static [&'static str; 9],
) -> (f64, &'static str) {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

/// `units.HumanSizeWithPrecision`: decimal units, `precision` significant digits (`4.26MB`).
pub fn human_size_with_precision(size: f64, precision: usize) -> String {
    let (s, unit) = size_and_unit(size, 1000.0, &DECIMAL);
    format!("{}{unit}", go_g(s, precision))
}

/// `units.HumanSize`: four significant digits.
pub fn human_size(size: f64) -> String {
    human_size_with_precision(size, 4)
}

/// `units.BytesSize`: binary units, four significant digits (`1.953GiB`).
pub fn bytes_size(size: f64) -> String {
    let (s, unit) = size_and_unit(size, 1024.0, &BINARY);
    format!("{}{unit}", go_g(s, 4))
}

/// Go's `%.{precision}g`: `precision` significant digits, trailing zeros dropped, exponent
/// form when the exponent is below -4 or at least `precision`.
pub fn go_g(f: f64, precision: usize) -> String {
    let p = precision.max(1);
    if f == 0.0 {
        return "0".into();
    }
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Round to p significant digits first; the exponent is that of the rounded value.
    let sci = format!("{:.*e}", p - 1, f);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let m = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", exp.abs());
    }
    let decimals = (p as i32 - 1 - exp).max(0) as usize;
    trim_zeros(&format!("{:.*}", decimals, f)).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// `units.RAMInBytes`: `512m`, `1g`, `100KiB`, `1.5GB` (binary multiples whatever the
/// spelling), as `--memory` takes them.
pub fn ram_in_bytes(s: &str) -> Result<i64, String> {
    let sep = s.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ');
    let Some(sep) = sep else {
        return Err(format!("invalid size: '{s}'"));
    };
    let (num, sfx) = if s.as_bytes()[sep] == b' ' {
        (&s[..sep], &s[sep + 1..])
    } else {
        (&s[..=sep], &s[sep + 1..])
    };
    let size: f64 = num
        .parse()
        .map_err(|_| format!("strconv.ParseFloat: parsing {num:?}: invalid syntax"))?;
    if size < 0.0 {
        return Err(format!("invalid size: '{s}'"));
    }
    if sfx.is_empty() {
        return Ok(size as i64);
    }
    let bad = || format!("invalid suffix: '{}'", sfx.to_lowercase());
    if sfx.len() > 3 {
        return Err(bad());
    }
    let lower = sfx.to_lowercase();
    let b = lower.as_bytes();
    if b[0] == b'b' {
        return if b.len() > 1 {
            Err(bad())
        } else {
            Ok(size as i64)
        };
    }
    let mul: f64 = match b[0] {
        b'k' => 1024.0,
        b'm' => 1024f64.powi(2),
        b'g' => 1024f64.powi(3),
        b't' => 1024f64.powi(4),
        b'p' => 1024f64.powi(5),
        _ => return Err(bad()),
    };
    match b.len() {
        2 if b[1] != b'b' => return Err(bad()),
        3 if &lower[1..] != "ib" => return Err(bad()),
        _ => {}
    }
    Ok((size * mul) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_go_units() {
        let cases: &[(f64, &str)] = &[
            (0.5, "Less than a second"),
            (1.0, "1 second"),
            (47.0, "47 seconds"),
            (65.0, "About a minute"),
            (119.0, "About a minute"),
            (180.0, "3 minutes"),
            (35.0 * 60.0, "35 minutes"),
            (3600.0, "About an hour"),
            (5400.0, "2 hours"),
            (24.0 * 3600.0, "24 hours"),
            (47.0 * 3600.0, "47 hours"),
            (48.0 * 3600.0, "2 days"),
            (13.0 * 86400.0, "13 days"),
            (14.0 * 86400.0, "2 weeks"),
            (59.0 * 86400.0, "8 weeks"),
            (60.0 * 86400.0, "2 months"),
            (729.0 * 86400.0, "24 months"),
            (730.0 * 86400.0, "2 years"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(*secs), *want, "{secs}");
        }
    }

    #[test]
    fn sizes_like_go_units() {
        assert_eq!(human_size(1000.0), "1kB");
        assert_eq!(human_size(1024.0), "1.024kB");
        assert_eq!(human_size(1_000_000.0), "1MB");
        assert_eq!(human_size(1_048_576.0), "1.049MB");
        assert_eq!(human_size(3.42e9), "3.42GB");
        assert_eq!(human_size(5.372e12), "5.372TB");
        assert_eq!(human_size(2.22e15), "2.22PB");
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(human_size_with_precision(4_257_800.0, 3), "4.26MB");
        assert_eq!(human_size_with_precision(10.0, 3), "10B");
        assert_eq!(human_size_with_precision(999_999.0, 3), "1e+03kB");
        assert_eq!(bytes_size(1024.0), "1KiB");
        assert_eq!(bytes_size(1024.0 * 1024.0 * 1.5), "1.5MiB");
        assert_eq!(bytes_size(16_663_560_192.0), "15.52GiB");
    }

    #[test]
    fn go_g_formatting() {
        assert_eq!(go_g(1.5, 3), "1.5");
        assert_eq!(go_g(123.456, 3), "123");
        assert_eq!(go_g(1234.0, 3), "1.23e+03");
        assert_eq!(go_g(0.0001234, 3), "0.000123");
        assert_eq!(go_g(0.00001234, 3), "1.23e-05");
    }

    #[test]
    fn parses_ram_sizes() {
        assert_eq!(ram_in_bytes("32"), Ok(32));
        assert_eq!(ram_in_bytes("32b"), Ok(32));
        assert_eq!(ram_in_bytes("32k"), Ok(32 * 1024));
        assert_eq!(ram_in_bytes("32kb"), Ok(32 * 1024));
        assert_eq!(ram_in_bytes("32KiB"), Ok(32 * 1024));
        assert_eq!(ram_in_bytes("32m"), Ok(32 << 20));
        assert_eq!(ram_in_bytes("1.5g"), Ok(3 << 29));
        assert_eq!(ram_in_bytes("32 mb"), Ok(32 << 20));
        assert_eq!(ram_in_bytes(""), Err("invalid size: ''".into()));
        assert_eq!(ram_in_bytes("hello"), Err("invalid size: 'hello'".into()));
        assert_eq!(ram_in_bytes("32bb"), Err("invalid suffix: 'bb'".into()));
        assert_eq!(ram_in_bytes("32x"), Err("invalid suffix: 'x'".into()));
        assert!(ram_in_bytes("-32").is_err());
    }
}
