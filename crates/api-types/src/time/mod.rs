//! Time as Docker writes and reads it, in one place for the daemon, the shim and the CLI:
//! RFC 3339 with nanoseconds as Go's `time.RFC3339Nano` writes it (inspect, json-file log
//! lines, exit records, image configs; [`ZERO_TIME`] for "never"), Go's `time.Time.String()`
//! in a [`Zone`] (`2026-01-02 15:04:05 +0100 CET`, what the CLI prints), Go duration strings
//! (`1h30m`), and the two `since`/`until` parsers: moby's client-side `GetTimestamp` and the
//! daemon's reading of what it sends. Pure: callers pass "now" and the local zone in.
//!
//! Vocabulary: *unix* is seconds since the epoch, *nanos* nanoseconds since the epoch (an
//! `i128`, so that the API's range fits); the civil-date maths is Howard Hinnant's
//! days-from-civil algorithms (proleptic Gregorian). The `jiff` crate could replace the zone
//! and calendar code; it is not used because the shim links this module and must stay small,
//! and because Go's own rules (an empty `TZ` is UTC, `TZ=:Zone`) are few enough to keep here.

mod zone;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use zone::Zone;

/// Go's zero time, which inspect shows for "never".
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The date of a day count since the epoch.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn split(unix: i64, off: i32) -> (i64, u32, u32, i64, i64, i64) {
    let local = unix + off as i64;
    let (y, m, d) = civil_from_days(local.div_euclid(86400));
    let s = local.rem_euclid(86400);
    (y, m, d, s / 3600, s % 3600 / 60, s % 60)
}

fn offset_str(off: i32, colon: bool) -> String {
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.unsigned_abs();
    if colon {
        format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
    } else {
        format!("{sign}{:02}{:02}", a / 3600, a % 3600 / 60)
    }
}

/// Go's `time.Unix(unix, 0).String()` in `zone`: `2006-01-02 15:04:05 -0700 MST`.
pub fn go_time_string(unix: i64, zone: &Zone) -> String {
    let (off, abbr) = zone.lookup(unix);
    let (y, mo, d, h, mi, s) = split(unix, off);
    format!(
        "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} {} {abbr}",
        offset_str(off, false)
    )
}

/// RFC 3339 with nanoseconds trimmed of trailing zeros, in `zone` (`Z` for UTC), as Go's
/// `time.RFC3339Nano`.
pub fn rfc3339_nano(unix: i64, nanos: u32, zone: &Zone) -> String {
    let (off, _) = zone.lookup(unix);
    let (y, mo, d, h, mi, s) = split(unix, off);
    let mut frac = String::new();
    if nanos > 0 {
        frac = format!(".{nanos:09}").trim_end_matches('0').to_string();
    }
    let z = if off == 0 {
        "Z".to_string()
    } else {
        offset_str(off, true)
    };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{z}")
}

/// Go's `time.Duration.String()`: `0s`, `500ms`, `1.5µs`, `30s`, `1m30s`, `2h0m0s`.
pub fn format_go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    // A fraction with trailing zeros dropped: 1500 over 1000 is "1.5".
    let frac = |v: u128, unit: u128| -> String {
        let (whole, rest) = (v / unit, v % unit);
        if rest == 0 {
            return whole.to_string();
        }
        let width = unit.to_string().len() - 1;
        let digits = format!("{rest:0width$}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    };
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{}µs", frac(ns, 1_000));
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", frac(ns, 1_000_000));
    }
    let secs = ns / 1_000_000_000;
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    let s = frac(ns % 60_000_000_000, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m{s}s"),
        (h, m) => format!("{h}h{m}m{s}s"),
    }
}

/// Go's `time.ParseDuration`, in seconds: `300ms`, `-1.5h`, `2h45m`.
pub fn parse_go_duration(s: &str) -> Option<f64> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += n * mult;
    }
    Some(if neg { -total } else { total })
}

/// A parsed `YYYY-MM-DD[THH[:MM[:SS[.frac]]]][Z|±HH:MM]`.
fn parse_datetime(v: &str, default_off: i32) -> Option<(i64, u32)> {
    let num = |s: &str| -> Option<u32> {
        if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
            s.parse().ok()
        } else {
            None
        }
    };
    let (date, mut rest) = v.split_at(v.len().min(10));
    let mut dp = date.split('-');
    let (y, mo, d) = (num(dp.next()?)? as i64, num(dp.next()?)?, num(dp.next()?)?);
    if dp.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let (mut h, mut mi, mut s, mut nanos) = (0u32, 0u32, 0u32, 0u32);
    if let Some(t) = rest.strip_prefix('T') {
        let end = t.find(['Z', 'z', '+', '-']).unwrap_or(t.len());
        let (clock, zone) = t.split_at(end);
        let (hms, frac) = clock
            .split_once('.')
            .map(|(a, b)| (a, Some(b)))
            .unwrap_or((clock, None));
        let mut parts = hms.split(':');
        h = num(parts.next()?)?;
        mi = parts.next().map(num).unwrap_or(Some(0))?;
        s = parts.next().map(num).unwrap_or(Some(0))?;
        if let Some(f) = frac {
            if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            nanos = format!("{f:0<9}").get(..9)?.parse().ok()?;
        }
        if h > 23 || mi > 59 || s > 60 {
            return None;
        }
        rest = zone;
    }
    let off = match rest {
        "" => default_off,
        "Z" | "z" => 0,
        z => {
            let sign = if z.starts_with('-') {
                -1
            } else if z.starts_with('+') {
                1
            } else {
                return None;
            };
            let (zh, zm) = z[1..].split_once(':')?;
            sign * (num(zh)? as i32 * 3600 + num(zm)? as i32 * 60)
        }
    };
    let days = days_from_civil(y, mo, d);
    let unix = days * 86400 + (h * 3600 + mi * 60 + s) as i64 - off as i64;
    Some((unix, nanos))
}

/// moby's `GetTimestamp`: a Go duration (relative to `now`), an RFC 3339-like date (local
/// when it has no zone), or a unix timestamp passed through; returns what the API takes.
pub fn get_timestamp(value: &str, now: f64, zone: &Zone) -> Result<String, String> {
    if value != "0" {
        if let Some(d) = parse_go_duration(value) {
            return Ok(format!("{}", (now - d).floor() as i64));
        }
    }
    let has_zone = value.contains(['z', 'Z', '+']) || value.matches('-').count() == 3;
    let local_off = zone.lookup(now as i64).0;
    if let Some((unix, nanos)) = parse_datetime(value, if has_zone { 0 } else { local_off }) {
        return Ok(format!("{unix}.{nanos:09}"));
    }
    if value.contains('-') {
        return Err(format!("parsing time {value:?}: cannot parse as RFC 3339"));
    }
    let (sec, frac) = value.split_once('.').unwrap_or((value, ""));
    let ok = sec.parse::<i64>().is_ok()
        && (frac.is_empty() || frac.parse::<u64>().is_ok())
        && !(value.ends_with('.'));
    if !ok {
        return Err(format!(
            "failed to parse value as time or duration: {value:?}"
        ));
    }
    Ok(value.to_string())
}

/// RFC 3339 with nanoseconds in UTC (`2024-01-02T03:04:05.123456789Z`, trailing zeros of the
/// fraction dropped): the json-file log and exit-record format.
pub fn format_rfc3339_nano(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    rfc3339_nano(d.as_secs() as i64, d.subsec_nanos(), Zone::utc_static())
}

/// [`format_rfc3339_nano`] of nanoseconds since the epoch; `0` is Go's zero time
/// ([`ZERO_TIME`]), as inspect shows "never".
pub fn rfc3339(nanos: i128) -> String {
    if nanos == 0 {
        return ZERO_TIME.to_string();
    }
    let (secs, sub) = (
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000),
    );
    match i64::try_from(secs) {
        Ok(secs) => rfc3339_nano(secs, sub as u32, Zone::utc_static()),
        Err(_) => ZERO_TIME.to_string(),
    }
}

/// Parses an RFC 3339 timestamp (`Z` or `±hh:mm` offset, any number of fraction digits)
/// into nanoseconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos: u32 = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        nanos = format!("{:0<9}", &frac[..digits.min(9)]).parse().ok()?;
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
            let o = rest[1..3].parse::<i64>().ok()? * 3600 + rest[4..6].parse::<i64>().ok()? * 60;
            if rest.starts_with('-') {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + se - offset;
    Some(secs as i128 * 1_000_000_000 + nanos as i128)
}

/// [`parse_rfc3339`] as the API reads stored times: empty or [`ZERO_TIME`] is 0 ("never").
pub fn parse_rfc3339_or_zero(s: &str) -> Option<i128> {
    if s.is_empty() || s == ZERO_TIME {
        return Some(0);
    }
    parse_rfc3339(s)
}

/// [`parse_rfc3339`] as a [`SystemTime`]; `None` before the epoch.
pub fn parse_system_time(s: &str) -> Option<SystemTime> {
    let nanos = u64::try_from(parse_rfc3339(s)?).ok()?;
    Some(UNIX_EPOCH + Duration::from_nanos(nanos))
}

/// The daemon's reading of a `since`/`until` value: Unix seconds with an optional fraction
/// (`1700000000.123`, what the CLI sends), RFC 3339, or a Go duration before `now` (`10m`).
/// Returns nanoseconds since the epoch.
pub fn parse_timestamp(s: &str, now: i128) -> Option<i128> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Some((a, b)) = s.split_once('.') {
        if let (Ok(sec), true) = (a.parse::<i64>(), b.chars().all(|c| c.is_ascii_digit())) {
            let frac = format!("{b:0<9}");
            let ns: i128 = frac[..9].parse().ok()?;
            return Some(sec as i128 * 1_000_000_000 + ns);
        }
    }
    if let Ok(sec) = s.parse::<i64>() {
        return Some(sec as i128 * 1_000_000_000);
    }
    if let Some(t) = parse_rfc3339_or_zero(s) {
        return Some(t);
    }
    parse_go_duration(s)
        .filter(|d| *d >= 0.0)
        .map(|d| now - (d * 1e9) as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_duration_strings() {
        let f = |ns: u64| format_go_duration(Duration::from_nanos(ns));
        assert_eq!(f(0), "0s");
        assert_eq!(f(100), "100ns");
        assert_eq!(f(1_500), "1.5µs");
        assert_eq!(f(500_000_000), "500ms");
        assert_eq!(f(1_000_000_000), "1s");
        assert_eq!(f(30_000_000_000), "30s");
        assert_eq!(f(90_500_000_000), "1m30.5s");
        assert_eq!(f(7_200_000_000_000), "2h0m0s");
    }

    fn paris() -> Option<Zone> {
        std::fs::read("/usr/share/zoneinfo/Europe/Paris")
            .ok()
            .and_then(|b| Zone::from_tzif(&b))
    }

    #[test]
    fn go_time_string_in_utc_and_a_real_zone() {
        assert_eq!(
            go_time_string(0, &Zone::utc()),
            "1970-01-01 00:00:00 +0000 UTC"
        );
        assert_eq!(
            go_time_string(1_700_000_000, &Zone::utc()),
            "2023-11-14 22:13:20 +0000 UTC"
        );
        if let Some(z) = paris() {
            assert_eq!(
                go_time_string(1_700_000_000, &z),
                "2023-11-14 23:13:20 +0100 CET"
            );
            assert_eq!(
                go_time_string(1_690_000_000, &z),
                "2023-07-22 06:26:40 +0200 CEST"
            );
            assert_eq!(
                rfc3339_nano(1_690_000_000, 120_000_000, &z),
                "2023-07-22T06:26:40.12+02:00"
            );
        }
        assert_eq!(
            rfc3339_nano(1_690_000_000, 0, &Zone::utc()),
            "2023-07-22T04:26:40Z"
        );
    }

    #[test]
    fn civil_round_trip() {
        for days in [-719468, -1, 0, 1, 19000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(19675), (2023, 11, 14));
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("10m"), Some(600.0));
        assert_eq!(parse_go_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_go_duration("1.5h"), Some(5400.0));
        assert_eq!(parse_go_duration("300ms"), Some(0.3));
        assert_eq!(parse_go_duration("-2s"), Some(-2.0));
        assert_eq!(parse_go_duration("0"), Some(0.0));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("1d"), None);
        assert_eq!(parse_go_duration(""), None);
    }

    #[test]
    fn timestamps_like_moby() {
        let utc = Zone::utc();
        let now = 1_700_000_000.0;
        assert_eq!(get_timestamp("10m", now, &utc).unwrap(), "1699999400");
        assert_eq!(
            get_timestamp("2006-01-02T15:04:05Z", now, &utc).unwrap(),
            "1136214245.000000000"
        );
        assert_eq!(
            get_timestamp("2006-01-02T15:04:05.5+01:00", now, &utc).unwrap(),
            "1136210645.500000000"
        );
        assert_eq!(
            get_timestamp("2006-01-02", now, &utc).unwrap(),
            "1136160000.000000000"
        );
        assert_eq!(
            get_timestamp("2006-01-02T15", now, &utc).unwrap(),
            "1136214000.000000000"
        );
        assert_eq!(
            get_timestamp("1136073600.000000001", now, &utc).unwrap(),
            "1136073600.000000001"
        );
        assert_eq!(get_timestamp("0", now, &utc).unwrap(), "0");
        assert!(get_timestamp("2006-13-02", now, &utc).is_err());
        assert!(get_timestamp("yesterday", now, &utc).is_err());
    }

    #[test]
    fn formats_like_go_rfc3339nano() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 120_000_000);
        assert_eq!(format_rfc3339_nano(t), "2023-11-14T22:13:20.12Z");
        let t = UNIX_EPOCH + Duration::new(951_782_400, 0); // leap day 2000
        assert_eq!(format_rfc3339_nano(t), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn round_trips_and_parses_offsets() {
        let t = UNIX_EPOCH + Duration::new(1_764_325_441, 123_456_789);
        assert_eq!(parse_system_time(&format_rfc3339_nano(t)), Some(t));
        let with_offset = parse_system_time("2023-11-14T23:13:20.12+01:00").unwrap();
        assert_eq!(
            with_offset,
            UNIX_EPOCH + Duration::new(1_700_000_000, 120_000_000)
        );
        assert_eq!(parse_rfc3339("2023-13-14T23:13:20Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn api_timestamps() {
        assert_eq!(rfc3339(0), ZERO_TIME);
        let t = 1_700_000_000_123_456_789i128;
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(parse_rfc3339_or_zero(&rfc3339(t)), Some(t));
        assert_eq!(parse_rfc3339_or_zero(ZERO_TIME), Some(0));
        let now = 1_800_000_000_000_000_000i128;
        assert_eq!(
            parse_timestamp("1700000000", now),
            Some(1_700_000_000_000_000_000)
        );
        assert_eq!(
            parse_timestamp("1700000000.5", now),
            Some(1_700_000_000_500_000_000)
        );
        assert_eq!(
            parse_timestamp("2023-11-14T22:13:20.123456789Z", now),
            Some(t)
        );
        assert_eq!(parse_timestamp("10m", now), Some(now - 600_000_000_000));
        assert_eq!(parse_timestamp("-10m", now), None);
        assert_eq!(parse_timestamp("x", now), None);
    }
}
