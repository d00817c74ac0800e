//! Go's `fmt.Sprintf` for template values: verbs `v s q d x X o b c t f F e E g G %`,
//! flags `- + 0 space #`, width and precision, and Go's `%!verb(type=value)` markers for
//! mismatches and missing arguments.

use super::value::{go_float, Value};

struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    space: bool,
    sharp: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Formats `args` according to `fmt`.
pub fn sprintf(fmt: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = 0usize;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec {
            minus: false,
            plus: false,
            zero: false,
            space: false,
            sharp: false,
            width: None,
            prec: None,
        };
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                '#' => spec.sharp = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = read_num(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.prec = Some(read_num(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next += 1;
        let body = format_one(verb, arg, &spec);
        out.push_str(&pad(body, &spec));
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|a| format!("{}={}", a.type_name(), a.to_go_string()))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn read_num(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = Some(n.unwrap_or(0) * 10 + d as usize);
        chars.next();
    }
    n
}

fn bad(verb: char, arg: &Value) -> String {
    format!("%!{verb}({}={})", arg.type_name(), arg.to_go_string())
}

fn format_one(verb: char, arg: &Value, spec: &Spec) -> String {
    match (verb, arg) {
        ('v', _) => arg.to_go_string(),
        ('T', _) => arg.type_name().to_string(),
        ('s', Value::Str(s)) => match spec.prec {
            Some(p) => s.chars().take(p).collect(),
            None => s.clone(),
        },
        ('s', Value::Int(_) | Value::Float(_) | Value::Bool(_)) => bad(verb, arg),
        ('s', _) => arg.to_go_string(),
        ('q', Value::Str(s)) => format!("{s:?}"),
        ('d', Value::Int(i)) => signed(i.to_string(), *i >= 0, spec),
        ('x', Value::Int(i)) => signed(format!("{:x}", i.unsigned_abs()), *i >= 0, spec),
        ('X', Value::Int(i)) => signed(format!("{:X}", i.unsigned_abs()), *i >= 0, spec),
        ('o', Value::Int(i)) => signed(format!("{:o}", i.unsigned_abs()), *i >= 0, spec),
        ('b', Value::Int(i)) => signed(format!("{:b}", i.unsigned_abs()), *i >= 0, spec),
        ('x', Value::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        ('X', Value::Str(s)) => s.bytes().map(|b| format!("{b:02X}")).collect(),
        ('c', Value::Int(i)) => char::from_u32(*i as u32)
            .map(String::from)
            .unwrap_or_else(|| "\u{FFFD}".into()),
        ('t', Value::Bool(b)) => b.to_string(),
        ('f' | 'F', Value::Float(f)) => signed(
            format!("{:.*}", spec.prec.unwrap_or(6), f.abs()),
            *f >= 0.0,
            spec,
        ),
        ('e' | 'E', Value::Float(f)) => {
            let s = exp_form(f.abs(), spec.prec.unwrap_or(6));
            signed(
                if verb == 'E' { s.to_uppercase() } else { s },
                *f >= 0.0,
                spec,
            )
        }
        ('g' | 'G', Value::Float(f)) => signed(go_float(f.abs()), *f >= 0.0, spec),
        ('f' | 'F' | 'e' | 'E' | 'g' | 'G', Value::Int(_)) => bad(verb, arg),
        ('x' | 'X', Value::Float(f)) => format!("{f}"),
        _ => bad(verb, arg),
    }
}

/// `1.500000e+00` with Go's two-digit exponent.
fn exp_form(f: f64, prec: usize) -> String {
    let s = format!("{f:.prec$e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let (sign, d) = match e.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', e),
    };
    format!("{m}e{sign}{d:0>2}")
}

fn signed(digits: String, non_negative: bool, spec: &Spec) -> String {
    let sign = if !non_negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    if spec.zero && !spec.minus {
        if let Some(w) = spec.width {
            let len = sign.len() + digits.chars().count();
            if len < w {
                return format!("{sign}{}{digits}", "0".repeat(w - len));
            }
        }
    }
    format!("{sign}{digits}")
}

fn pad(body: String, spec: &Spec) -> String {
    let Some(w) = spec.width else { return body };
    let len = body.chars().count();
    if len >= w {
        return body;
    }
    let fill = " ".repeat(w - len);
    if spec.minus {
        body + &fill
    } else {
        fill + &body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        let s = |f: &str, a: &[Value]| sprintf(f, a);
        assert_eq!(s("%s=%d", &["a".into(), Value::Int(5)]), "a=5");
        assert_eq!(s("%-6s|%5s|", &["ab".into(), "cd".into()]), "ab    |   cd|");
        assert_eq!(
            s(
                "%05d %x %q",
                &[Value::Int(42), Value::Int(255), "hi".into()]
            ),
            "00042 ff \"hi\""
        );
        assert_eq!(
            s("%.2f %v", &[Value::Float(1.005), Value::Bool(true)]),
            "1.00 true"
        );
        assert_eq!(s("%d", &["x".into()]), "%!d(string=x)");
        assert_eq!(s("%s %s", &["x".into()]), "x %!s(MISSING)");
        assert_eq!(s("%s", &["x".into(), Value::Int(1)]), "x%!(EXTRA int=1)");
        assert_eq!(s("100%%", &[]), "100%");
        assert_eq!(s("%.3s", &["abcdef".into()]), "abc");
        assert_eq!(s("%e", &[Value::Float(1500.0)]), "1.500000e+03");
        assert_eq!(s("%T %T", &[Value::Int(1), "x".into()]), "int string");
    }
}
