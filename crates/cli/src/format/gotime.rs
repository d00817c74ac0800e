//! Time the way the docker CLI prints and parses it: Go's `time.Time.String()` in the local
//! zone (`2026-01-02 15:04:05 +0100 CET`, read from the system's TZif files), Go duration
//! strings (`1h30m`), and moby's `GetTimestamp` for `--since`/`--until`.

use std::sync::OnceLock;

/// The local time zone: transitions and the offset/abbreviation in force after each.
#[derive(Debug, Clone)]
pub struct Zone {
    transitions: Vec<(i64, usize)>,
    types: Vec<(i32, String)>,
}

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        Zone {
            transitions: vec![],
            types: vec![(0, "UTC".into())],
        }
    }

    /// UTC, for callers that need a `'static` zone (tests, `--utc` style output).
    pub fn utc_static() -> &'static Zone {
        static UTC: OnceLock<Zone> = OnceLock::new();
        UTC.get_or_init(Zone::utc)
    }

    /// The zone named by `TZ`, else `/etc/localtime`, else UTC (as Go's `time.Local`).
    pub fn local() -> &'static Zone {
        static LOCAL: OnceLock<Zone> = OnceLock::new();
        LOCAL.get_or_init(|| {
            let path = match std::env::var("TZ") {
                Ok(tz) if tz.is_empty() => return Zone::utc(),
                Ok(tz) => {
                    let tz = tz.trim_start_matches(':').to_string();
                    if tz.starts_with('/') {
                        tz
                    } else {
                        format!("/usr/share/zoneinfo/{tz}")
                    }
                }
                Err(_) => "/etc/localtime".into(),
            };
            std::fs::read(path)
                .ok()
                .and_then(|b| Zone::from_tzif(&b))
                .unwrap_or_else(Zone::utc)
        })
    }

    /// Parses a TZif file (RFC 8536), preferring the 64-bit data of version 2+.
    pub fn from_tzif(b: &[u8]) -> Option<Zone> {
        if b.len() < 44 || &b[..4] != b"TZif" {
            return None;
        }
        let counts = |h: &[u8]| -> Option<[usize; 6]> {
            let mut c = [0usize; 6];
            for (i, slot) in c.iter_mut().enumerate() {
                let o = 20 + i * 4;
                *slot = u32::from_be_bytes(h.get(o..o + 4)?.try_into().ok()?) as usize;
            }
            Some(c)
        };
        let [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(b)?;
        let v1_len = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
        if b[4] >= b'2' && b.len() >= 44 + v1_len + 44 {
            let h2 = &b[44 + v1_len..];
            let c2 = counts(h2)?;
            return Zone::data(&h2[44..], c2, 8);
        }
        Zone::data(&b[44..], [isut, isstd, leap, timecnt, typecnt, charcnt], 4)
    }

    fn data(d: &[u8], c: [usize; 6], tsize: usize) -> Option<Zone> {
        let [_, _, _, timecnt, typecnt, charcnt] = c;
        let times = d.get(..timecnt * tsize)?;
        let idx = d.get(timecnt * tsize..timecnt * (tsize + 1))?;
        let tt_off = timecnt * (tsize + 1);
        let ttinfo = d.get(tt_off..tt_off + typecnt * 6)?;
        let chars = d.get(tt_off + typecnt * 6..tt_off + typecnt * 6 + charcnt)?;
        let mut types = Vec::with_capacity(typecnt);
        for t in ttinfo.chunks(6) {
            let off = i32::from_be_bytes(t[..4].try_into().ok()?);
            let ai = t[5] as usize;
            let end = chars
                .get(ai..)?
                .iter()
                .position(|&c| c == 0)
                .map(|p| ai + p)
                .unwrap_or(chars.len());
            types.push((off, String::from_utf8_lossy(&chars[ai..end]).into_owned()));
        }
        let mut transitions = Vec::with_capacity(timecnt);
        for (i, t) in times.chunks(tsize).enumerate() {
            let at = if tsize == 8 {
                i64::from_be_bytes(t.try_into().ok()?)
            } else {
                i32::from_be_bytes(t.try_into().ok()?) as i64
            };
            let ty = idx[i] as usize;
            if ty >= types.len() {
                return None;
            }
            transitions.push((at, ty));
        }
        if types.is_empty() {
            return None;
        }
        Some(Zone { transitions, types })
    }

    /// The UTC offset in seconds and the abbreviation in force at `unix`.
    pub fn lookup(&self, unix: i64) -> (i32, &str) {
        let i = self.transitions.partition_point(|(at, _)| *at <= unix);
        let ty = if i == 0 { 0 } else { self.transitions[i - 1].1 };
        let (off, abbr) = &self.types[ty];
        (*off, abbr)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
