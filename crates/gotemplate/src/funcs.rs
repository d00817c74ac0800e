//! Template functions: Go's builtins (`len`, `index`, `slice`, `print*`, comparisons …)
//! and docker's (`json`, `split`, `join`, `title`, `lower`, `upper`, `pad`, `truncate`),
//! plus the identity versions docker uses when rendering table headers.

use std::collections::HashMap;

use super::printf::sprintf;
use super::value::{ObjKind, Value};

/// A template function: arguments in, value or error message out.
pub type Func = fn(&[Value]) -> Result<Value, String>;

/// The functions a template may call.
#[derive(Clone)]
pub struct Funcs {
    map: HashMap<&'static str, Func>,
}

impl Funcs {
    /// Go's builtins (`and`/`or` are evaluated lazily by the executor).
    pub fn builtins() -> Funcs {
        let mut map: HashMap<&'static str, Func> = HashMap::new();
        map.insert("and", |_| Ok(Value::Nil));
        map.insert("or", |_| Ok(Value::Nil));
        map.insert("not", |a| Ok(Value::Bool(!one(a, "not")?.truthy())));
        map.insert("len", len);
        map.insert("index", index);
        map.insert("slice", slice);
        map.insert("print", |a| Ok(Value::Str(sprint(a))));
        map.insert("println", |a| Ok(Value::Str(sprintln(a))));
        map.insert("printf", |a| {
            let (fmt, rest) = a
                .split_first()
                .ok_or("wrong number of args for printf: want at least 1 got 0")?;
            Ok(Value::Str(sprintf(&str_arg(fmt)?, rest)))
        });
        map.insert("eq", eq_fn);
        map.insert("ne", |a| {
            if a.len() != 2 {
                return Err(format!(
                    "wrong number of args for ne: want 2 got {}",
                    a.len()
                ));
            }
            Ok(Value::Bool(!equal(&a[0], &a[1])?))
        });
        map.insert("lt", |a| cmp_fn(a, "lt", |o| o.is_lt()));
        map.insert("le", |a| cmp_fn(a, "le", |o| o.is_le()));
        map.insert("gt", |a| cmp_fn(a, "gt", |o| o.is_gt()));
        map.insert("ge", |a| cmp_fn(a, "ge", |o| o.is_ge()));
        map.insert("html", |a| Ok(Value::Str(html_escape(&sprint(a)))));
        map.insert("js", |a| Ok(Value::Str(js_escape(&sprint(a)))));
        map.insert("urlquery", |a| Ok(Value::Str(query_escape(&sprint(a)))));
        Funcs { map }
    }

    /// Docker's template functions (`templates.Parse`).
    pub fn docker() -> Funcs {
        Funcs::builtins()
            .with("json", |a| Ok(Value::Str(one(a, "json")?.to_json())))
            .with("split", |a| {
                let (s, sep) = two_str(a, "split")?;
                let parts: Vec<Value> = if sep.is_empty() {
                    s.chars().map(|c| Value::Str(c.to_string())).collect()
                } else {
                    s.split(sep.as_str()).map(Value::from).collect()
                };
                Ok(Value::List(parts))
            })
            .with("join", join)
            .with("title", |a| {
                Ok(Value::Str(title(&str_arg(one(a, "title")?)?)))
            })
            .with("lower", |a| {
                Ok(Value::Str(str_arg(one(a, "lower")?)?.to_lowercase()))
            })
            .with("upper", |a| {
                Ok(Value::Str(str_arg(one(a, "upper")?)?.to_uppercase()))
            })
            .with("pad", pad)
            .with("truncate", truncate)
    }

    /// Docker's `HeaderFunctions`: the same names, returning the header text unchanged.
    pub fn docker_header() -> Funcs {
        fn first(a: &[Value]) -> Result<Value, String> {
            Ok(Value::Str(str_arg(a.first().ok_or("missing argument")?)?))
        }
        Funcs::docker()
            .with("json", first)
            .with("split", first)
            .with("join", first)
            .with("title", first)
            .with("lower", first)
            .with("upper", first)
            .with("truncate", first)
    }

    /// Adds or replaces a function.
    pub fn with(mut self, name: &'static str, f: Func) -> Funcs {
        self.map.insert(name, f);
        self
    }

    /// The function called `name`.
    pub fn get(&self, name: &str) -> Option<Func> {
        self.map.get(name).copied()
    }
}

fn one<'a>(a: &'a [Value], name: &str) -> Result<&'a Value, String> {
    match a {
        [v] => Ok(v),
        _ => Err(format!(
            "wrong number of args for {name}: want 1 got {}",
            a.len()
        )),
    }
}

/// A string argument, as Go's reflection-based call requires.
pub fn str_arg(v: &Value) -> Result<String, String> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
    }
}

/// An int argument.
pub fn int_arg(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Float(f) if f.fract() == 0.0 => Ok(*f as i64),
        other => Err(format!(
            "wrong type for value; expected int; got {}",
            other.type_name()
        )),
    }
}

fn two_str(a: &[Value], name: &str) -> Result<(String, String), String> {
    match a {
        [x, y] => Ok((str_arg(x)?, str_arg(y)?)),
        _ => Err(format!(
            "wrong number of args for {name}: want 2 got {}",
            a.len()
        )),
    }
}

fn len(a: &[Value]) -> Result<Value, String> {
    let n = match one(a, "len")? {
        Value::Str(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Obj(_, m) => m.len(),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(Value::Int(n as i64))
}

fn index(a: &[Value]) -> Result<Value, String> {
    let (item, keys) = a
        .split_first()
        .ok_or("wrong number of args for index: want at least 1 got 0")?;
    let mut cur = item.clone();
    for k in keys {
        cur = match (&cur, k) {
            (Value::Obj(kind, entries), Value::Str(key)) => {
                match entries.iter().find(|(n, _)| n == key) {
                    Some((_, v)) => v.clone(),
                    // A missing key gives the element type's zero value: "" for the string maps
                    // docker templates index (labels), nil otherwise.
                    None if *kind == ObjKind::Map
                        && entries.iter().all(|(_, v)| matches!(v, Value::Str(_))) =>
                    {
                        Value::Str(String::new())
                    }
                    None => Value::Nil,
                }
            }
            (Value::List(items), idx) => {
                let i = int_arg(idx).map_err(|_| {
                    format!("cannot index slice/array with type {}", idx.type_name())
                })?;
                usize::try_from(i)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .ok_or_else(|| format!("index out of range: {i}"))?
            }
            (Value::Str(s), idx) => {
                let i = int_arg(idx)?;
                let b = usize::try_from(i)
                    .ok()
                    .and_then(|i| s.as_bytes().get(i))
                    .ok_or_else(|| format!("index out of range: {i}"))?;
                Value::Int(*b as i64)
            }
            (Value::Nil | Value::Missing, _) => return Err("index of untyped nil".into()),
            (other, _) => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(cur)
}

fn slice(a: &[Value]) -> Result<Value, String> {
    let (item, idx) = a
        .split_first()
        .ok_or("wrong number of args for slice: want at least 1 got 0")?;
    let idx: Vec<usize> = idx
        .iter()
        .map(|v| int_arg(v).map(|i| i.max(0) as usize))
        .collect::<Result<_, _>>()?;
    let len = match item {
        Value::Str(s) => s.len(),
        Value::List(l) => l.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let from = idx.first().copied().unwrap_or(0);
    let to = idx.get(1).copied().unwrap_or(len);
    if from > to || to > len {
        return Err(format!("index out of range: {to}"));
    }
    Ok(match item {
        Value::Str(s) => Value::Str(String::from_utf8_lossy(&s.as_bytes()[from..to]).into_owned()),
        Value::List(l) => Value::List(l[from..to].to_vec()),
        _ => unreachable!("checked above"),
    })
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub fn sprint(a: &[Value]) -> String {
    let mut out = String::new();
    for (i, v) in a.iter().enumerate() {
        if i > 0 && !matches!(v, Value::Str(_)) && !matches!(a[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        out.push_str(&arg_string(v));
    }
    out
}

/// `fmt.Sprintln`: spaces always, newline at the end.
pub fn sprintln(a: &[Value]) -> String {
    let mut s = a.iter().map(arg_string).collect::<Vec<_>>().join(" ");
    s.push('\n');
    s
}

/// A value passed to a function prints a missing entry as `<nil>`, as Go's zero interface.
fn arg_string(v: &Value) -> String {
    match v {
        Value::Missing => "<nil>".into(),
        v => v.to_go_string(),
    }
}

fn eq_fn(a: &[Value]) -> Result<Value, String> {
    let (first, rest) = a.split_first().ok_or("missing argument for comparison")?;
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    for other in rest {
        if equal(first, other)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

/// Go's `eq` for two values.
fn equal(a: &Value, b: &Value) -> Result<bool, String> {
    let is_nil = |v: &Value| matches!(v, Value::Nil | Value::Missing);
    if is_nil(a) || is_nil(b) {
        return Ok(is_nil(a) && is_nil(b));
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => Ok(x == y),
        (Value::Int(x), Value::Int(y)) => Ok(x == y),
        (Value::Float(x), Value::Float(y)) => Ok(x == y),
        (Value::Str(x), Value::Str(y)) => Ok(x == y),
        (Value::List(_), _) | (Value::Obj(..), _) | (Value::Object(_), _) => Err(format!(
            "non-comparable type {}: {}",
            a.to_go_string(),
            a.type_name()
        )),
        _ => Err("incompatible types for comparison".into()),
    }
}

fn cmp_fn(a: &[Value], name: &str, want: fn(std::cmp::Ordering) -> bool) -> Result<Value, String> {
    let [x, y] = a else {
        return Err(format!(
            "wrong number of args for {name}: want 2 got {}",
            a.len()
        ));
    };
    let ord = match (x, y) {
        (Value::Int(p), Value::Int(q)) => p.cmp(q),
        (Value::Float(p), Value::Float(q)) => p.partial_cmp(q).ok_or("NaN is not comparable")?,
        (Value::Str(p), Value::Str(q)) => p.cmp(q),
        (
            Value::Int(_) | Value::Float(_) | Value::Str(_),
            Value::Int(_) | Value::Float(_) | Value::Str(_),
        ) => return Err("incompatible types for comparison".to_string()),
        _ => return Err("invalid type for comparison".to_string()),
    };
    Ok(Value::Bool(want(ord)))
}

fn join(a: &[Value]) -> Result<Value, String> {
    let [list, sep] = a else {
        return Err(format!(
            "wrong number of args for join: want 2 got {}",
            a.len()
        ));
    };
    let sep = str_arg(sep)?;
    match list {
        Value::List(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(str_arg)
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    "wrong type for value; expected []string; got []interface {}".to_string()
                })?;
            Ok(Value::Str(parts.join(&sep)))
        }
        other => Err(format!(
            "wrong type for value; expected []string; got {}",
            other.type_name()
        )),
    }
}

/// Go's deprecated `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_');
    }
    out
}

fn pad(a: &[Value]) -> Result<Value, String> {
    let [s, pre, post] = a else {
        return Err(format!(
            "wrong number of args for pad: want 3 got {}",
            a.len()
        ));
    };
    let s = str_arg(s)?;
    if s.is_empty() {
        return Ok(Value::Str(s));
    }
    let (pre, post) = (
        int_arg(pre)?.max(0) as usize,
        int_arg(post)?.max(0) as usize,
    );
    Ok(Value::Str(format!(
        "{}{s}{}",
        " ".repeat(pre),
        " ".repeat(post)
    )))
}

fn truncate(a: &[Value]) -> Result<Value, String> {
    let [s, n] = a else {
        return Err(format!(
            "wrong number of args for truncate: want 2 got {}",
            a.len()
        ));
    };
    let s = str_arg(s)?;
    let n = int_arg(n)?.max(0) as usize;
    if s.len() < n {
        return Ok(Value::Str(s));
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Ok(Value::Str(s[..end].to_string()))
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, a: &[Value]) -> Result<Value, String> {
        Funcs::docker().get(name).unwrap()(a)
    }

    #[test]
    fn docker_functions() {
        assert_eq!(
            call("pad", &["x".into(), Value::Int(1), Value::Int(2)]).unwrap(),
            Value::from(" x  ")
        );
        assert_eq!(
            call("pad", &["".into(), Value::Int(1), Value::Int(2)]).unwrap(),
            Value::from("")
        );
        assert_eq!(
            call("truncate", &["abcdef".into(), Value::Int(3)]).unwrap(),
            Value::from("abc")
        );
        assert_eq!(
            call("truncate", &["ab".into(), Value::Int(3)]).unwrap(),
            Value::from("ab")
        );
        assert_eq!(
            call("title", &["up 2 hours ago".into()]).unwrap(),
            Value::from("Up 2 Hours Ago")
        );
        assert_eq!(
            call("split", &["a:b".into(), ":".into()])
                .unwrap()
                .to_go_string(),
            "[a b]"
        );
        assert_eq!(
            call(
                "join",
                &[Value::List(vec!["a".into(), "b".into()]), ",".into()]
            )
            .unwrap(),
            Value::from("a,b")
        );
        assert!(call("join", &["a".into(), ",".into()])
            .unwrap_err()
            .contains("expected []string; got string"));
        assert!(call("upper", &[Value::Int(1)]).is_err());
    }

    #[test]
    fn go_builtins() {
        assert_eq!(
            sprint(&[Value::Int(1), Value::Int(2), "a".into(), Value::Int(3)]),
            "1 2a3"
        );
        assert_eq!(sprintln(&["a".into(), Value::Int(1)]), "a 1\n");
        assert_eq!(
            call("eq", &[Value::Int(1), Value::Int(2), Value::Int(1)]).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            call("ne", &[Value::Nil, Value::Nil]).unwrap(),
            Value::Bool(false)
        );
        assert_eq!(
            call("ne", &["x".into(), Value::Nil]).unwrap(),
            Value::Bool(true)
        );
        assert!(call("eq", &[Value::Int(1), "1".into()]).is_err());
        assert_eq!(
            call("lt", &[Value::Int(1), Value::Int(2)]).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(call("len", &["héllo".into()]).unwrap(), Value::Int(6));
        let m = Value::Obj(ObjKind::Map, vec![("a".into(), "1".into())]);
        assert_eq!(
            call("index", &[m.clone(), "a".into()]).unwrap(),
            Value::from("1")
        );
        assert_eq!(call("index", &[m, "zz".into()]).unwrap(), Value::from(""));
        let l = Value::List(vec!["x".into()]);
        assert!(call("index", &[l, Value::Int(4)])
            .unwrap_err()
            .contains("index out of range: 4"));
        assert_eq!(
            call("slice", &["abcd".into(), Value::Int(1), Value::Int(3)]).unwrap(),
            Value::from("bc")
        );
        assert_eq!(
            call("urlquery", &["a b&c".into()]).unwrap(),
            Value::from("a+b%26c")
        );
    }
}
