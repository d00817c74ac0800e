//! The JSON ("exec") form test: BuildKit calls Go's `json.Unmarshal` into `[]any`, so the rest
//! of the line is the JSON form exactly when it is one valid JSON array and nothing else; the
//! array must then hold only strings. This module reproduces Go's acceptance (nesting up to
//! 10000 levels, numbers that overflow a float64 refused, lone surrogates decoded as U+FFFD)
//! without recursion, so no input can exhaust the stack.

/// What the rest of a line is, seen as JSON.
#[derive(Debug, PartialEq)]
pub(crate) enum JsonArray {
    /// Not a (valid) JSON array: the shell form applies.
    NotJson,
    /// A valid JSON array with a non-string element: an error.
    NotStrings,
    /// A JSON array of strings: the exec form.
    Strings(Vec<String>),
}

const MAX_DEPTH: usize = 10_000;

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Array,
    Object,
}

struct Scanner<'a> {
    b: &'a [u8],
    s: &'a str,
    pos: usize,
    overflow: bool,
}

/// Reads `s` (already left-trimmed, starting with `[`) as Go's `json.Unmarshal` would.
pub(crate) fn parse_array(s: &str) -> JsonArray {
    let mut sc = Scanner {
        b: s.as_bytes(),
        s,
        pos: 0,
        overflow: false,
    };
    match sc.run() {
        Some(_) if sc.overflow => JsonArray::NotJson,
        Some((elems, all_strings)) if all_strings => JsonArray::Strings(elems),
        Some(_) => JsonArray::NotStrings,
        None => JsonArray::NotJson,
    }
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.skip_ws();
        (self.peek() == Some(c)).then(|| self.pos += 1)
    }

    /// Validates the whole input; returns the top-level elements that are strings and whether
    /// every top-level element was one.
    fn run(&mut self) -> Option<(Vec<String>, bool)> {
        if self.peek() != Some(b'[') {
            return None;
        }
        let mut stack: Vec<Ctx> = Vec::new();
        let mut elems = Vec::new();
        let mut all_strings = true;
        'value: loop {
            self.skip_ws();
            let top_level = stack.len() == 1;
            match self.peek()? {
                b'[' | b'{' => {
                    let ctx = if self.peek() == Some(b'[') {
                        Ctx::Array
                    } else {
                        Ctx::Object
                    };
                    if top_level {
                        all_strings = false;
                    }
                    self.pos += 1;
                    stack.push(ctx);
                    if stack.len() > MAX_DEPTH {
                        return None;
                    }
                    self.skip_ws();
                    let close = if ctx == Ctx::Array { b']' } else { b'}' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        stack.pop();
                    } else {
                        if ctx == Ctx::Object {
                            self.key()?;
                        }
                        continue 'value;
                    }
                }
                b'"' => {
                    let v = self.string()?;
                    if top_level {
                        elems.push(v);
                    }
                }
                _ => {
                    if top_level {
                        all_strings = false;
                    }
                    self.scalar()?;
                }
            }
            // After a value: close containers or move to the next element.
            loop {
                let Some(&ctx) = stack.last() else {
                    self.skip_ws();
                    return (self.pos == self.b.len()).then_some((elems, all_strings));
                };
                self.skip_ws();
                match (ctx, self.peek()?) {
                    (_, b',') => {
                        self.pos += 1;
                        if ctx == Ctx::Object {
                            self.key()?;
                        }
                        continue 'value;
                    }
                    (Ctx::Array, b']') | (Ctx::Object, b'}') => {
                        self.pos += 1;
                        stack.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    /// `"key" :` inside an object.
    fn key(&mut self) -> Option<()> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return None;
        }
        self.string()?;
        self.eat(b':')
    }

    fn scalar(&mut self) -> Option<()> {
        for lit in ["true", "false", "null"] {
            if self.b[self.pos..].starts_with(lit.as_bytes()) {
                self.pos += lit.len();
                return Some(());
            }
        }
        self.number()
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Option<()> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        // Go decodes numbers into float64 and fails (after validation) on overflow.
        let v: f64 = self.s[start..self.pos].parse().ok()?;
        if v.is_infinite() {
            self.overflow = true;
        }
        Some(())
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let h = self.s.get(at..at + 4)?;
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(h, 16).ok()
    }

    /// A string starting at the opening quote, decoded as Go decodes it.
    fn string(&mut self) -> Option<String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.s[self.pos..];
            let stop = rest.find(|c: char| c == '"' || c == '\\' || c < ' ')?;
            out.push_str(&rest[..stop]);
            self.pos += stop;
            match self.b[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Some(out);
                }
                b'\\' => self.escape(&mut out)?,
                _ => return None,
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Option<()> {
        let c = *self.b.get(self.pos + 1)?;
        self.pos += 2;
        let simple = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\x08',
            b'f' => '\x0c',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let r = self.hex4(self.pos)?;
                self.pos += 4;
                if (0xd800..0xe000).contains(&r) {
                    // A valid pair is consumed whole; anything else is U+FFFD and the
                    // following escape is read on its own.
                    let next = self
                        .b
                        .get(self.pos..self.pos + 2)
                        .filter(|p| p == b"\\u")
                        .and_then(|_| self.hex4(self.pos + 2));
                    match next {
                        Some(lo) if r < 0xdc00 && (0xdc00..0xe000).contains(&lo) => {
                            self.pos += 6;
                            let c = 0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00);
                            out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                        }
                        _ => out.push('\u{fffd}'),
                    }
                } else {
                    out.push(char::from_u32(r).unwrap_or('\u{fffd}'));
                }
                return Some(());
            }
            _ => return None,
        };
        out.push(simple);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> JsonArray {
        JsonArray::Strings(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn accepts_what_go_accepts() {
        assert_eq!(parse_array(r#"["a", "b c"]"#), strings(&["a", "b c"]));
        assert_eq!(parse_array("[]"), strings(&[]));
        assert_eq!(parse_array("[ \"x\" ] \t\r\n"), strings(&["x"]));
        assert_eq!(parse_array(r#"["\u00e9\n\/"]"#), strings(&["é\n/"]));
        assert_eq!(parse_array(r#"["\ud83d\ude00"]"#), strings(&["😀"]));
        assert_eq!(parse_array(r#"["\ud800x"]"#), strings(&["\u{fffd}x"]));
        assert_eq!(parse_array(r#"["\ud800\u0041"]"#), strings(&["\u{fffd}A"]));
    }

    #[test]
    fn not_json_falls_back() {
        for s in [
            "[",
            "[\"a\"",
            "['a']",
            "[\"a\"] x",
            "[\"a\",]",
            "[1e400]",
            "[\"a\", [1e999]]",
            "[\"\\x\"]",
            "[\"a\tb\"]",
            "[01]",
            "[{\"a\" 1}]",
        ] {
            assert_eq!(parse_array(s), JsonArray::NotJson, "{s}");
        }
    }

    #[test]
    fn non_strings_are_an_error() {
        for s in [
            "[1]",
            "[\"a\", null]",
            "[[\"a\"]]",
            "[{\"a\": [1, {}]}]",
            "[true]",
            "[-0.5e3]",
        ] {
            assert_eq!(parse_array(s), JsonArray::NotStrings, "{s}");
        }
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(parse_array(&deep), JsonArray::NotStrings);
        let deeper = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(parse_array(&deeper), JsonArray::NotJson);
    }
}
