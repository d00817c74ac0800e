//! Go's `json.Indent` and `json.Compact`: re-layout JSON text without re-encoding it, so
//! `docker inspect` prints the daemon's values (numbers, escapes, key order) untouched.

/// Indents `src` with `indent` per level, as `json.Indent(dst, src, "", indent)`.
pub fn indent(src: &[u8], indent: &str) -> String {
    let mut out = Vec::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut need_indent = false;
    let mut i = 0;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(indent.as_bytes());
        }
    };
    while i < src.len() {
        let c = src[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if need_indent && c != b']' && c != b'}' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            b'"' => {
                let end = string_end(src, i);
                out.extend_from_slice(&src[i..end]);
                i = end;
                continue;
            }
            b'{' | b'[' => {
                out.push(c);
                need_indent = true;
            }
            b',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            b':' => {
                out.push(c);
                out.push(b' ');
            }
            b'}' | b']' => {
                if need_indent {
                    // An empty object or array stays `{}` / `[]`.
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes insignificant whitespace, as `json.Compact`.
pub fn compact(src: &[u8]) -> String {
    let mut out = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        if c == b'"' {
            let end = string_end(src, i);
            out.extend_from_slice(&src[i..end]);
            i = end;
            continue;
        }
        if !c.is_ascii_whitespace() {
            out.push(c);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The offset just past the string literal starting at `start`.
fn string_end(src: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < src.len() {
        match src[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    src.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_like_go() {
        let src = br#"[{"Id":"a b","Args":[],"Config":{},"N":[1,2],"S":"x\"y, {z}"}]"#;
        let want = "[\n    {\n        \"Id\": \"a b\",\n        \"Args\": [],\n        \"Config\": {},\n        \"N\": [\n            1,\n            2\n        ],\n        \"S\": \"x\\\"y, {z}\"\n    }\n]";
        assert_eq!(indent(src, "    "), want);
        assert_eq!(indent(b"[]", "    "), "[]");
    }

    #[test]
    fn compacts_like_go() {
        assert_eq!(
            compact(b"[ {\"a\" : \"b c\" ,\n \"d\": [ 1 ] } ]"),
            "[{\"a\":\"b c\",\"d\":[1]}]"
        );
    }
}
