//! Instruction flags (BuildKit's `BFlags`): each instruction declares the flags it takes; any
//! other flag is refused with `unknown flag: --name` and a suggestion when one is close.
//!
//! A boolean flag is `--link`, `--link=true` or `--link=false` (any case); a string flag needs
//! `=value` and may appear once; a list flag (`--mount`, `--exclude`) may repeat.

use crate::error::Reason;
use crate::go::suggest;

/// The kind of a declared flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagKind {
    Bool,
    String,
    Strings,
}

/// The value of a flag that was given.
#[derive(Debug, Clone)]
enum Value {
    Bool(bool),
    Str(String),
    Strs(Vec<String>),
}

/// The flags given to one instruction, checked against its declared flags.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    given: Vec<(&'static str, Value)>,
}

impl Flags {
    fn get(&self, name: &str) -> Option<&Value> {
        self.given.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// A boolean flag; false when not given.
    pub(crate) fn bool(&self, name: &str) -> bool {
        self.opt_bool(name).unwrap_or(false)
    }

    /// A boolean flag, `None` when not given.
    pub(crate) fn opt_bool(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// A string flag; `None` when not given or given empty (BuildKit cannot tell them apart).
    pub(crate) fn string(&self, name: &str) -> Option<String> {
        match self.get(name) {
            Some(Value::Str(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }

    /// A string flag as given, empty value included.
    pub(crate) fn raw_string(&self, name: &str) -> Option<String> {
        match self.get(name) {
            Some(Value::Str(s)) => Some(s.clone()),
            _ => None,
        }
    }

    /// A list flag's values, in order.
    pub(crate) fn strings(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Value::Strs(v)) => v.clone(),
            _ => Vec::new(),
        }
    }

    /// The flags given, in order of first use.
    pub(crate) fn used(&self) -> Vec<String> {
        self.given.iter().map(|(n, _)| n.to_string()).collect()
    }
}

/// Checks `args` (the `--flag[=value]` words) against `declared`.
pub(crate) fn parse(
    args: &[String],
    declared: &[(&'static str, FlagKind)],
) -> Result<Flags, Reason> {
    let mut flags = Flags::default();
    for a in args {
        if a == "--" {
            break;
        }
        let Some(body) = a.strip_prefix("--") else {
            return Err(Reason::NotAFlag(a.clone()));
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let flag = format!("--{name}");
        let Some(&(decl, kind)) = declared.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = declared.iter().map(|(n, _)| *n).collect();
            return Err(Reason::UnknownFlag {
                flag,
                suggestion: suggest(name, &names, true),
            });
        };
        let previous = flags.given.iter().position(|(n, _)| *n == decl);
        if previous.is_some() && kind != FlagKind::Strings {
            return Err(Reason::DuplicateFlag(flag));
        }
        let parsed = match (kind, value) {
            (FlagKind::Bool, Some("")) => return Err(Reason::FlagMissingValue(flag)),
            (FlagKind::Bool, v) => match v.map(str::to_lowercase).as_deref() {
                None | Some("true") => Value::Bool(true),
                Some("false") => Value::Bool(false),
                Some(_) => {
                    let value = v.unwrap_or_default().to_string();
                    return Err(Reason::FlagNotBool { flag, value });
                }
            },
            (_, None) => return Err(Reason::FlagMissingValue(flag)),
            (FlagKind::String, Some(v)) => Value::Str(v.to_string()),
            (FlagKind::Strings, Some(v)) => match previous {
                Some(i) => {
                    if let Value::Strs(list) = &mut flags.given[i].1 {
                        list.push(v.to_string());
                    }
                    continue;
                }
                None => Value::Strs(vec![v.to_string()]),
            },
        };
        flags.given.push((decl, parsed));
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use FlagKind::*;

    const DECL: &[(&str, FlagKind)] = &[("str1", String), ("bool1", Bool), ("list", Strings)];

    fn p(args: &[&str]) -> Result<Flags, Reason> {
        let args: Vec<std::string::String> = args.iter().map(|s| s.to_string()).collect();
        parse(&args, DECL)
    }

    #[test]
    fn values() {
        let f = p(&["--str1=BYE", "--bool1", "--list=a", "--list=b"]).unwrap();
        assert_eq!(f.string("str1").as_deref(), Some("BYE"));
        assert!(f.bool("bool1"));
        assert_eq!(f.strings("list"), ["a", "b"]);
        assert_eq!(f.used(), ["str1", "bool1", "list"]);
        assert_eq!(p(&["--str1="]).unwrap().string("str1"), None);
        assert_eq!(
            p(&["--bool1=FALSE"]).unwrap().opt_bool("bool1"),
            Some(false)
        );
        assert_eq!(p(&["--bool1=True"]).unwrap().opt_bool("bool1"), Some(true));
        assert!(p(&["--", "--nope"]).is_ok());
        assert_eq!(p(&[]).unwrap().opt_bool("bool1"), None);
    }

    #[test]
    fn refusals() {
        let msg = |a: &[&str]| p(a).unwrap_err().to_string();
        assert_eq!(msg(&["--str1"]), "missing a value on flag: --str1");
        assert_eq!(msg(&["--bool1="]), "missing a value on flag: --bool1");
        assert_eq!(
            msg(&["--bool1=yes"]),
            "expecting boolean value for flag --bool1, not: yes"
        );
        assert_eq!(
            msg(&["--str1=a", "--str1=b"]),
            "duplicate flag specified: --str1"
        );
        assert_eq!(
            msg(&["--bool1", "--bool1"]),
            "duplicate flag specified: --bool1"
        );
        assert_eq!(msg(&["--boo"]), "unknown flag: --boo (did you mean bool1?)");
        assert_eq!(msg(&["--nothing"]), "unknown flag: --nothing");
        assert_eq!(msg(&["-x"]), "arg should start with -- : -x");
    }
}
