//! The daemon's clock: now, and how long ago. The time formats themselves (RFC 3339 with
//! nanoseconds, Go durations, `since`/`until`) are `api_types::time`'s; the ones the
//! services use are re-exported here with "now" filled in.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use api_types::time::{parse_rfc3339_or_zero as parse_rfc3339, rfc3339, ZERO_TIME};

/// Now, as nanoseconds since the epoch.
pub fn now_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// The duration from `nanos` to now (zero if in the future).
pub fn since(nanos: i128) -> Duration {
    let d = now_nanos() - nanos;
    Duration::from_nanos(d.max(0) as u64)
}

/// go-units `HumanDuration`, as used in `Up 5 seconds` / `Exited (0) 3 minutes ago`.
pub fn human_duration(d: Duration) -> String {
    api_types::units::human_duration(d.as_secs_f64())
}

/// A `since`/`until` value (Unix seconds, RFC 3339, or a Go duration before now) as
/// nanoseconds since the epoch.
pub fn parse_timestamp(s: &str) -> Option<i128> {
    api_types::time::parse_timestamp(s, now_nanos())
}

/// A non-negative Go duration (`300ms`, `1h30m`).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    api_types::time::parse_go_duration(s)
        .filter(|secs| *secs >= 0.0)
        .map(Duration::from_secs_f64)
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
