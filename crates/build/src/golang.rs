//! Go formatting the classic builder's history strings use: `%q` and `%v` of string slices,
//! `time.Duration`'s `String`.

use std::fmt::Write;

/// Go's `strconv.Quote` (the Dockerfile parser's, shared).
pub use dockerfile::go::quote;

/// `fmt.Sprintf("%q", []string)`: `["a" "b"]`.
pub fn quote_list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| quote(s)).collect();
    format!("[{}]", items.join(" "))
}

/// `fmt.Sprintf("%v", []string)`: `[a b]`.
pub fn list(v: &[String]) -> String {
    format!("[{}]", v.join(" "))
}

/// Go's `time.Duration.String()` for nanoseconds.
pub fn duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut s = if u < 1_000_000_000 {
        // Sub-second: the largest unit that keeps an integer part.
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        format!("{}{unit}", frac(u, div))
    } else {
        let h = u / 3_600_000_000_000;
        let m = (u / 60_000_000_000) % 60;
        let sec = u % 60_000_000_000;
        let mut s = String::new();
        if h > 0 {
            let _ = write!(s, "{h}h");
        }
        if h > 0 || m > 0 {
            let _ = write!(s, "{m}m");
        }
        let _ = write!(s, "{}s", frac(sec, 1_000_000_000));
        s
    };
    if neg {
        s.insert(0, '-');
    }
    s
}

/// `n / div` with the fraction's trailing zeros dropped.
fn frac(n: u64, div: u64) -> String {
    let int = n / div;
    let rem = n % div;
    if rem == 0 {
        return int.to_string();
    }
    let width = (div as f64).log10() as usize;
    let f = format!("{rem:0width$}");
    format!("{int}.{}", f.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(
            quote_list(&["sh".into(), "-c".into(), "echo \"x\"".into()]),
            r#"["sh" "-c" "echo \"x\""]"#
        );
        assert_eq!(list(&["/app/data".into()]), "[/app/data]");
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(30_000_000_000), "30s");
        assert_eq!(duration(300_000_000_000), "5m0s");
        assert_eq!(duration(1_500_000_000), "1.5s");
        assert_eq!(duration(3_723_000_000_000), "1h2m3s");
        assert_eq!(duration(2_000_000), "2ms");
    }
}
