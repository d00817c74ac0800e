//! `--env-file` and `--label-file`: line-delimited `KEY=value` files, as docker's `kvfile`
//! reads them (comments, a UTF-8 BOM, keys looked up in the environment when they have no
//! `=`; whitespace is allowed before a key but not inside it).

/// Looks up a variable by name (the environment, for env files).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Parses the file at `path`. With `lookup`, a line naming only a key takes that
/// variable's value (and is skipped when unset); without it such lines are skipped.
pub fn parse_file(path: &str, lookup: Option<Lookup<'_>>) -> Result<Vec<String>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("open {path}: {}", io_reason(&e)))?;
    parse(&bytes, lookup).map_err(|e| format!("invalid env file ({path}): {e}"))
}

/// The wording Go uses for common I/O errors (`no such file or directory`).
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            // Drop Rust's " (os error N)" suffix.
            match s.rfind(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    }
}

/// Parses file contents.
pub fn parse(bytes: &[u8], lookup: Option<Lookup<'_>>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (n, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let mut raw = raw;
        if n == 0 {
            raw = raw.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(raw);
        }
        let line = std::str::from_utf8(raw)
            .map_err(|_| format!("invalid utf8 bytes at line {}: {raw:?}", n + 1))?;
        // Go's scanner drops a trailing \r of a CRLF line.
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, has_value) = match line.split_once('=') {
            Some((k, _)) => (k, true),
            None => (line, false),
        };
        if key.is_empty() {
            return Err(format!("no variable name on line '{line}'"));
        }
        if key.contains([' ', '\t']) {
            return Err(format!("variable '{key}' contains whitespaces"));
        }
        if has_value {
            out.push(line.to_string());
        } else if let Some(v) = lookup.and_then(|f| f(line)) {
            out.push(format!("{key}={v}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_docker() {
        let data =
            "\u{feff}# comment\n\n  FOO=bar baz \nEMPTY=\nFROMENV\nUNSET\r\nA=b=c\r\n".as_bytes();
        let lookup = |k: &str| (k == "FROMENV").then(|| "env value".to_string());
        let got = parse(data, Some(&lookup)).unwrap();
        assert_eq!(
            got,
            vec!["FOO=bar baz ", "EMPTY=", "FROMENV=env value", "A=b=c"]
        );
        let labels = parse(b"a=1\nonlykey\n", None).unwrap();
        assert_eq!(labels, vec!["a=1"]);
    }

    #[test]
    fn rejects_bad_lines() {
        assert_eq!(
            parse(b"=x", None).unwrap_err(),
            "no variable name on line '=x'"
        );
        assert_eq!(
            parse(b"A B=x", None).unwrap_err(),
            "variable 'A B' contains whitespaces"
        );
        assert!(parse(b"A=\xff", None)
            .unwrap_err()
            .starts_with("invalid utf8 bytes at line 1"));
        assert_eq!(
            parse_file("/nonexistent/env", None).unwrap_err(),
            "open /nonexistent/env: no such file or directory"
        );
    }
}
