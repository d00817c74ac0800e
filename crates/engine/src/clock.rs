//! Time as the Engine API shows it: RFC 3339 with nanoseconds in UTC for inspect, Unix seconds
//! for lists, and go-units' `HumanDuration` for `ps` status strings.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Go's zero time, which inspect shows for "never".
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Now, as nanoseconds since the epoch.
pub fn now_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// RFC 3339 with nanoseconds (`2024-01-02T03:04:05.123456789Z`); `0` is Go's zero time.
pub fn rfc3339(nanos: i128) -> String {
    if nanos == 0 {
        return ZERO_TIME.to_string();
    }
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ZERO_TIME.to_string())
}

/// Parses RFC 3339 (what the API and image configs carry) into nanoseconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i128> {
    if s.is_empty() || s == ZERO_TIME {
        return Some(0);
    }
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp_nanos())
}

/// go-units `HumanDuration`, as used in `Up 5 seconds` / `Exited (0) 3 minutes ago`.
pub fn human_duration(d: Duration) -> String {
    api_types::units::human_duration(d.as_secs_f64())
}

/// The duration from `nanos` to now (zero if in the future).
pub fn since(nanos: i128) -> Duration {
    let d = now_nanos() - nanos;
    Duration::from_nanos(d.max(0) as u64)
}

/// Parses the `since`/`until` forms the API takes: Unix seconds with optional fraction
/// (`1700000000.123`), RFC 3339, or a Go duration relative to now (`10m`, `1h30m`, `5s`).
pub fn parse_timestamp(s: &str) -> Option<i128> {
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
    if let Some(t) = parse_rfc3339(s) {
        return Some(t);
    }
    parse_go_duration(s).map(|d| now_nanos() - d.as_nanos() as i128)
}

/// Parses a Go duration string (`300ms`, `1.5h`, `2h45m`).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_end..];
    }
    Some(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_like_go_units() {
        let s = Duration::from_secs;
        assert_eq!(
            human_duration(Duration::from_millis(300)),
            "Less than a second"
        );
        assert_eq!(human_duration(s(1)), "1 second");
        assert_eq!(human_duration(s(47)), "47 seconds");
        assert_eq!(human_duration(s(60)), "About a minute");
        assert_eq!(human_duration(s(60 * 5)), "5 minutes");
        assert_eq!(human_duration(s(60 * 60)), "About an hour");
        assert_eq!(human_duration(s(3600 * 3)), "3 hours");
        assert_eq!(human_duration(s(3600 * 24 * 3)), "3 days");
        assert_eq!(human_duration(s(3600 * 24 * 20)), "2 weeks");
        assert_eq!(human_duration(s(3600 * 24 * 100)), "3 months");
        assert_eq!(human_duration(s(3600 * 24 * 365 * 3)), "3 years");
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), ZERO_TIME);
        let t = 1_700_000_000_123_456_789i128;
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        assert_eq!(
            parse_timestamp("1700000000"),
            Some(1_700_000_000_000_000_000)
        );
        assert_eq!(
            parse_timestamp("1700000000.5"),
            Some(1_700_000_000_500_000_000)
        );
        assert_eq!(parse_timestamp("2023-11-14T22:13:20.123456789Z"), Some(t));
        let ago = parse_timestamp("10m").unwrap();
        assert!((now_nanos() - ago - 600_000_000_000).abs() < 5_000_000_000);
        assert_eq!(parse_go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("x"), None);
    }
}
