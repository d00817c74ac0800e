//! One logical line → a [`Node`]: the keyword, the leading `--flags`, and the arguments read
//! the way each instruction reads them (BuildKit's "line parsers"):
//!
//! | instructions | arguments |
//! | --- | --- |
//! | RUN CMD ENTRYPOINT SHELL | the JSON form, or the rest of the line as one string |
//! | ADD COPY VOLUME | the JSON form, or whitespace-separated words |
//! | FROM EXPOSE | whitespace-separated words |
//! | ENV LABEL | `key value` (legacy) or `k=v ...`, as key, value, separator triples |
//! | ARG | words (quotes kept: the builder expands them later) |
//! | HEALTHCHECK | a type word, then like CMD |
//! | USER WORKDIR STOPSIGNAL MAINTAINER | the rest of the line as one string |
//! | ONBUILD | another instruction |
//!
//! Quotes and escapes inside arguments are kept for the builder's expansion; only flags lose
//! their quotes here.

use super::Node;
use crate::error::{Lines, Reason};
use crate::go::{is_space, split_ws, trim_space};
use crate::json::{parse_array, JsonArray};

/// Splits `line` into keyword, flags and the rest.
fn split_command(line: &str, escape: char) -> (String, Vec<String>, String) {
    let parts = split_ws(trim_space(line), 2);
    let cmd = parts[0].to_string();
    match parts.get(1) {
        Some(rest) => {
            let (args, flags) = extract_builder_flags(rest, escape);
            (cmd, flags, trim_space(args).to_string())
        }
        None => (cmd, Vec::new(), String::new()),
    }
}

/// Leading words that start with `--` are flags (quotes removed, escapes applied); a lone `--`
/// ends them. Returns the rest of the line and the flags. Read by character, where BuildKit
/// reads bytes (see the crate docs).
fn extract_builder_flags(line: &str, escape: char) -> (&str, Vec<String>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote(char),
    }
    let mut chars = line.char_indices().peekable();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut buf = String::new();
    let mut blank_ok = false;
    while let Some((at, mut ch)) = chars.next() {
        if phase == Phase::Spaces {
            if is_space(ch) {
                continue;
            }
            if ch != '-' || chars.peek().map(|&(_, c)| c) != Some('-') {
                return (&line[at..], words);
            }
            phase = Phase::Word;
        }
        match phase {
            Phase::Word if is_space(ch) => {
                phase = Phase::Spaces;
                if buf == "--" {
                    return (&line[at..], words);
                }
                if blank_ok || !buf.is_empty() {
                    words.push(std::mem::take(&mut buf));
                }
                blank_ok = false;
            }
            Phase::Word if ch == '\'' || ch == '"' => {
                phase = Phase::Quote(ch);
                blank_ok = true;
            }
            Phase::Quote(q) if ch == q => phase = Phase::Word,
            _ => {
                if ch == escape {
                    // An escape at the very end is dropped (and closes a quote).
                    let Some((_, next)) = chars.next() else {
                        phase = Phase::Word;
                        continue;
                    };
                    ch = next;
                }
                buf.push(ch);
            }
        }
    }
    if phase != Phase::Spaces && buf != "--" && (blank_ok || !buf.is_empty()) {
        words.push(buf);
    }
    ("", words)
}

/// Words separated by whitespace, quotes and escapes kept but respected (`a "b c"` is two).
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let mut chars = rest.chars();
    let mut words = Vec::new();
    let mut buf = String::new();
    let (mut in_word, mut quote, mut blank_ok) = (false, None::<char>, false);
    while let Some(mut ch) = chars.next() {
        if !in_word && quote.is_none() {
            if is_space(ch) {
                continue;
            }
            in_word = true;
        }
        if let Some(q) = quote {
            if ch == q {
                quote = None;
            }
            if ch == escape && q != '\'' {
                let Some(next) = chars.next() else {
                    quote = None;
                    continue;
                };
                buf.push(ch);
                ch = next;
            }
            buf.push(ch);
            continue;
        }
        if is_space(ch) {
            in_word = false;
            if blank_ok || !buf.is_empty() {
                words.push(std::mem::take(&mut buf));
            }
            blank_ok = false;
            continue;
        }
        if ch == '\'' || ch == '"' {
            quote = Some(ch);
            blank_ok = true;
        }
        if ch == escape {
            let Some(next) = chars.next() else { continue };
            buf.push(ch);
            ch = next;
        }
        buf.push(ch);
    }
    if (in_word || quote.is_some()) && (blank_ok || !buf.is_empty()) {
        words.push(buf);
    }
    words
}

/// The JSON form, if the whole rest is one JSON array of strings.
fn parse_json(rest: &str) -> Result<Option<Vec<String>>, Reason> {
    let rest = rest.trim_start_matches(is_space);
    if !rest.starts_with('[') {
        return Ok(None);
    }
    match parse_array(rest) {
        JsonArray::Strings(v) => Ok(Some(v)),
        JsonArray::NotStrings => Err(Reason::JsonNotStrings),
        JsonArray::NotJson => Ok(None),
    }
}

/// Arguments and whether they were in the JSON form.
type Args = (Vec<String>, bool);

fn maybe_json(rest: &str) -> Result<Args, Reason> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    Ok(match parse_json(rest)? {
        Some(v) => (v, true),
        None => (vec![rest.to_string()], false),
    })
}

fn maybe_json_to_list(rest: &str) -> Result<Args, Reason> {
    Ok(match parse_json(rest)? {
        Some(v) => (v, true),
        None => (whitespace_delimited(rest), false),
    })
}

fn whitespace_delimited(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return Vec::new();
    }
    split_ws(rest, -1).into_iter().map(str::to_string).collect()
}

fn one_string(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        Vec::new()
    } else {
        vec![rest.to_string()]
    }
}

/// ENV and LABEL: `key value` (separator "") or `k=v k2=v2` (separator "=").
fn name_val(rest: &str, key: &'static str, escape: char) -> Result<Vec<String>, Reason> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Vec::new());
    };
    if !first.contains('=') {
        let parts = split_ws(rest, 2);
        if parts.len() < 2 {
            return Err(Reason::MissingValue(key));
        }
        return Ok(vec![
            parts[0].to_string(),
            parts[1].to_string(),
            String::new(),
        ]);
    }
    let mut out = Vec::with_capacity(words.len() * 3);
    for word in words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(Reason::MissingEquals(word));
        };
        out.extend([k.to_string(), v.to_string(), "=".to_string()]);
    }
    Ok(out)
}

/// HEALTHCHECK: the type word, then the command like CMD.
fn health_config(rest: &str) -> Result<Args, Reason> {
    let sep = rest.find(is_space).unwrap_or(rest.len());
    if sep == 0 {
        return Ok((Vec::new(), false));
    }
    let cmd = rest[sep..].trim_start_matches(is_space);
    let (args, json) = maybe_json(cmd)?;
    let mut out = vec![rest[..sep].to_string()];
    out.extend(args);
    Ok((out, json))
}

/// Parses one logical line into a node (lines and heredocs are filled in by the caller).
pub(crate) fn node_from_line(
    line: &str,
    escape: char,
    comments: Vec<String>,
) -> Result<Node, Reason> {
    let (keyword, flags, rest) = split_command(line, escape);
    let mut sub = None;
    let (args, json) = match keyword.to_lowercase().as_str() {
        "add" | "copy" | "volume" => maybe_json_to_list(&rest)?,
        "cmd" | "entrypoint" | "run" | "shell" => maybe_json(&rest)?,
        "arg" => (parse_words(&rest, escape), false),
        "env" => (name_val(&rest, "ENV", escape)?, false),
        "label" => (name_val(&rest, "LABEL", escape)?, false),
        "expose" | "from" => (whitespace_delimited(&rest), false),
        "healthcheck" => health_config(&rest)?,
        "maintainer" | "stopsignal" | "user" | "workdir" => (one_string(&rest), false),
        "onbuild" if !rest.is_empty() => {
            let child = node_from_line(&rest, escape, Vec::new())?;
            let mut args = vec![child.keyword.clone()];
            args.extend(child.args.iter().cloned());
            sub = Some(Box::new(child));
            (args, false)
        }
        _ => (Vec::new(), false),
    };
    Ok(Node {
        keyword,
        flags,
        args,
        json,
        heredocs: Vec::new(),
        sub,
        original: line.to_string(),
        lines: Lines::new(0, 0),
        comments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_quotes() {
        let w = |s: &str| parse_words(s, '\\');
        assert_eq!(w("foo"), ["foo"]);
        assert_eq!(w("foo bar"), ["foo", "bar"]);
        assert_eq!(w("foo\\ bar"), ["foo\\ bar"]);
        assert_eq!(w("foo bar 'abc xyz'"), ["foo", "bar", "'abc xyz'"]);
        assert_eq!(w("föo bàr \"âbc xÿz\""), ["föo", "bàr", "\"âbc xÿz\""]);
        assert_eq!(w("a=\"\" b"), ["a=\"\"", "b"]);
        assert_eq!(w("a\\"), ["a"]);
        assert_eq!(w("'a\\'b'"), ["'a\\'b'"]);
        assert_eq!(w("\"a\\\"b\""), ["\"a\\\"b\""]);
        assert!(w("   ").is_empty());
    }

    #[test]
    fn flags_lose_quotes() {
        let f = |s: &str| {
            let (rest, flags) = extract_builder_flags(s, '\\');
            (rest.to_string(), flags)
        };
        assert_eq!(
            f("--a=1 --b x"),
            ("x".into(), vec!["--a=1".into(), "--b".into()])
        );
        assert_eq!(f("--a=\"x y\" z"), ("z".into(), vec!["--a=x y".into()]));
        assert_eq!(f("--a -- --b"), (" --b".into(), vec!["--a".into()]));
        assert_eq!(f("--a --"), ("".into(), vec!["--a".into()]));
        assert_eq!(f("-a --b"), ("-a --b".into(), vec![]));
        assert_eq!(f("--a=x\\ y z"), ("z".into(), vec!["--a=x y".into()]));
        assert_eq!(f("--m=é x"), ("x".into(), vec!["--m=é".into()]));
    }

    #[test]
    fn name_values() {
        assert_eq!(
            name_val("foo bar baz", "ENV", '\\').unwrap(),
            ["foo", "bar baz", ""]
        );
        assert_eq!(
            name_val("foo=bar thing=\"a b\"", "ENV", '\\').unwrap(),
            ["foo", "bar", "=", "thing", "\"a b\"", "="]
        );
        assert_eq!(
            name_val("foo", "ENV", '\\'),
            Err(Reason::MissingValue("ENV"))
        );
        assert_eq!(
            name_val("a=b c", "LABEL", '\\'),
            Err(Reason::MissingEquals("c".into()))
        );
    }
}
