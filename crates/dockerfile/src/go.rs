//! Small re-implementations of the Go standard library behaviours BuildKit's messages and value
//! parsing depend on: `strconv.Quote`, `unicode.IsSpace`, `time.ParseDuration`,
//! `strconv.ParseInt/ParseUint/ParseBool`, docker/go-units' `RAMInBytes`, and the "did you
//! mean" suggestion (Levenshtein distance below 3) of BuildKit's `util/suggest`.

use std::fmt::Write as _;

/// Go's `unicode.IsSpace`: the Unicode White_Space property, which is exactly Rust's.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// Go's `strings.TrimSpace`.
pub(crate) fn trim_space(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// RE2's `\s` class (`[\t\n\f\r ]`), which BuildKit's regular expressions use.
pub(crate) fn is_re_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// BuildKit's `reWhitespace` (`[\t\v\f\r ]+`) separator class.
pub(crate) fn is_ws_sep(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// Go's `regexp.MustCompile("[\t\v\f\r ]+").Split(s, n)` (`n < 0`: all parts).
pub(crate) fn split_ws(s: &str, n: isize) -> Vec<&str> {
    if s.is_empty() {
        return vec![""];
    }
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        if n > 0 && out.len() as isize == n - 1 {
            out.push(rest);
            return out;
        }
        match rest.find(is_ws_sep) {
            Some(start) => {
                let after = &rest[start..];
                let len = after.len() - after.trim_start_matches(is_ws_sep).len();
                out.push(&rest[..start]);
                rest = &rest[start + len..];
            }
            None => {
                out.push(rest);
                return out;
            }
        }
    }
}

/// Go's `strconv.Quote` (and `%q`): double quotes, Go escapes for non-printable characters.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if is_print(c) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `strconv.IsPrint`: everything but controls, separators other than
/// the ASCII space, and the common format characters.
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    let u = c as u32;
    !(c.is_control()
        || c.is_whitespace()
        || u == 0xad
        || (0x200b..=0x200f).contains(&u)
        || (0x202a..=0x202e).contains(&u)
        || (0x2060..=0x2064).contains(&u)
        || u == 0xfeff
        || (0xe000..=0xf8ff).contains(&u)
        || (0xfff9..=0xfffb).contains(&u))
}

/// The quoting `time.ParseDuration` uses in its errors: non-ASCII and control bytes as `\xNN`.
fn time_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if (c as u32) >= 0x80 || c < ' ' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

const DURATION_LIMIT: u64 = 1 << 63;

/// Go's `time.ParseDuration`, in nanoseconds; the error is Go's message.
pub(crate) fn parse_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", time_quote(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(c @ ('-' | '+')) = s.chars().next() {
        neg = c == '-';
        s = &s[1..];
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        let (v, rest) = duration_component(s, orig)?;
        s = rest;
        d += v;
        if d > DURATION_LIMIT {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    if d > DURATION_LIMIT - 1 {
        return Err(invalid());
    }
    Ok(d as i64)
}

/// One `[0-9]*(\.[0-9]*)?unit` part of a duration, in nanoseconds, and the rest.
fn duration_component<'a>(s: &'a str, orig: &str) -> Result<(u64, &'a str), String> {
    let invalid = || format!("time: invalid duration {}", time_quote(orig));
    if !s.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
        return Err(invalid());
    }
    let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let mut v: u64 = 0;
    for c in s[..digits].bytes() {
        if v > DURATION_LIMIT / 10 {
            return Err(invalid());
        }
        v = v * 10 + u64::from(c - b'0');
        if v > DURATION_LIMIT {
            return Err(invalid());
        }
    }
    let mut s = &s[digits..];
    let (mut f, mut scale, mut post) = (0u64, 1f64, false);
    if let Some(rest) = s.strip_prefix('.') {
        let n = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        for c in rest[..n].bytes() {
            // Go stops accumulating (without failing) once more digits would overflow.
            match f.checked_mul(10).map(|x| x + u64::from(c - b'0')) {
                Some(y) if f <= (DURATION_LIMIT - 1) / 10 && y <= DURATION_LIMIT => {
                    f = y;
                    scale *= 10.0;
                }
                _ => break,
            }
        }
        post = n > 0;
        s = &rest[n..];
    }
    if digits == 0 && !post {
        return Err(invalid());
    }
    let unit_len = s
        .find(|c: char| c == '.' || c.is_ascii_digit())
        .unwrap_or(s.len());
    if unit_len == 0 {
        return Err(format!(
            "time: missing unit in duration {}",
            time_quote(orig)
        ));
    }
    let (name, rest) = s.split_at(unit_len);
    let unit: u64 = match name {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => {
            let (u, o) = (time_quote(name), time_quote(orig));
            return Err(format!("time: unknown unit {u} in duration {o}"));
        }
    };
    if v > DURATION_LIMIT / unit {
        return Err(invalid());
    }
    v *= unit;
    if f > 0 {
        v += (f as f64 * (unit as f64 / scale)) as u64;
        if v > DURATION_LIMIT {
            return Err(invalid());
        }
    }
    Ok((v, rest))
}

/// Go's `strconv.ParseInt(s, 10, 32)`, with Go's error message.
pub(crate) fn parse_int32(s: &str) -> Result<i64, String> {
    let err = |what: &str| format!("strconv.ParseInt: parsing {}: {what}", quote(s));
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("invalid syntax"));
    }
    let mut v: i64 = 0;
    for b in digits.bytes() {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    let v = if neg { -v } else { v };
    if v > i64::from(i32::MAX) || v < i64::from(i32::MIN) {
        return Err(err("value out of range"));
    }
    Ok(v)
}

/// Go's `strconv.ParseUint(s, base, 32)` for base 8 or 10 (no sign, no prefix, no `_`).
pub(crate) fn parse_uint32(s: &str, base: u32) -> Option<u32> {
    if s.is_empty() || !s.chars().all(|c| c.is_digit(base)) {
        return None;
    }
    u32::from_str_radix(s, base).ok()
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// docker/go-units' `RAMInBytes` ("64m", "1.5GiB", "512"; binary multiples).
pub(crate) fn ram_in_bytes(size: &str) -> Option<i64> {
    let sep = size.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ')?;
    let (num, sfx) = if size.as_bytes()[sep] == b' ' {
        (&size[..sep], &size[sep + 1..])
    } else {
        (&size[..=sep], &size[sep + 1..])
    };
    let n: f64 = num.parse().ok()?;
    if n < 0.0 || n.is_nan() {
        return None;
    }
    if sfx.is_empty() {
        return Some(n as i64);
    }
    let sfx = sfx.to_lowercase();
    if sfx.len() > 3 {
        return None;
    }
    let b = sfx.as_bytes();
    if b[0] == b'b' {
        return (b.len() == 1).then_some(n as i64);
    }
    let shift = match b[0] {
        b'k' => 10,
        b'm' => 20,
        b'g' => 30,
        b't' => 40,
        b'p' => 50,
        _ => return None,
    };
    match b.len() {
        2 if b[1] != b'b' => return None,
        3 if &b[1..] != b"ib" => return None,
        _ => {}
    }
    Some((n * (1u64 << shift) as f64) as i64)
}

/// Levenshtein distance over characters (insert, delete, substitute all cost 1).
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// BuildKit's `suggest.Search`: the closest option at a distance below 3, none on an exact
/// match. Case-insensitive searches answer in the caller's case (all lower or all upper).
pub(crate) fn suggest(val: &str, options: &[&str], case_sensitive: bool) -> Option<String> {
    let fold = |s: &str| {
        if case_sensitive {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let v = fold(val);
    let mut best: Option<String> = None;
    let mut min = 3;
    for opt in options {
        let o = fold(opt);
        if v == o {
            return None;
        }
        let d = levenshtein(&v, &o);
        if d < min {
            min = d;
            best = Some(if case_sensitive {
                o
            } else if val == val.to_lowercase() {
                o.to_lowercase()
            } else if val == val.to_uppercase() {
                o.to_uppercase()
            } else {
                o
            });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_go() {
        assert_eq!(parse_duration("5s"), Ok(5_000_000_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("-2ms"), Ok(-2_000_000));
        assert_eq!(parse_duration(".5s"), Ok(500_000_000));
        assert_eq!(parse_duration("1µs"), Ok(1_000));
        assert_eq!(
            parse_duration("3"),
            Err("time: missing unit in duration \"3\"".into())
        );
        assert_eq!(
            parse_duration("3x"),
            Err("time: unknown unit \"x\" in duration \"3x\"".into())
        );
        assert_eq!(
            parse_duration(""),
            Err("time: invalid duration \"\"".into())
        );
        assert_eq!(
            parse_duration("."),
            Err("time: invalid duration \".\"".into())
        );
        assert!(parse_duration("9999999999999999999h").is_err());
    }

    #[test]
    fn quote_matches_go() {
        assert_eq!(quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(quote("é\u{7f}"), "\"é\\x7f\"");
        assert_eq!(quote("\u{a0}"), "\"\\u00a0\"");
    }

    #[test]
    fn ints_and_sizes() {
        assert_eq!(parse_int32("3"), Ok(3));
        assert_eq!(parse_int32("-1"), Ok(-1));
        assert_eq!(
            parse_int32("x"),
            Err("strconv.ParseInt: parsing \"x\": invalid syntax".into())
        );
        assert_eq!(
            parse_int32("4294967296"),
            Err("strconv.ParseInt: parsing \"4294967296\": value out of range".into())
        );
        assert_eq!(parse_uint32("755", 8), Some(0o755));
        assert_eq!(parse_uint32("8", 8), None);
        assert_eq!(ram_in_bytes("64m"), Some(64 << 20));
        assert_eq!(ram_in_bytes("1.5GiB"), Some(3 << 29));
        assert_eq!(ram_in_bytes("512"), Some(512));
        assert_eq!(ram_in_bytes("10 kb"), Some(10 << 10));
        assert_eq!(ram_in_bytes("10x"), None);
        assert_eq!(ram_in_bytes("m"), None);
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("FORM", &["FROM", "RUN"], false),
            Some("FROM".into())
        );
        assert_eq!(
            suggest("form", &["FROM", "RUN"], false),
            Some("from".into())
        );
        assert_eq!(
            suggest("chwon", &["chown", "chmod"], true),
            Some("chown".into())
        );
        assert_eq!(suggest("NOTANINSTRUCTION", &["FROM"], false), None);
        assert_eq!(suggest("RUN", &["FROM", "RUN"], false), None);
    }

    #[test]
    fn split_like_regexp() {
        assert_eq!(split_ws("a  b\tc", -1), vec!["a", "b", "c"]);
        assert_eq!(split_ws("a  b\tc", 2), vec!["a", "b\tc"]);
        assert_eq!(split_ws("", 2), vec![""]);
        assert_eq!(split_ws("abc", 2), vec!["abc"]);
    }
}
