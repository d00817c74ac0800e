//! `.dockerignore` and path patterns, with moby's `patternmatcher` rules: Go `filepath.Match`
//! syntax per path component (`*`, `?`, `[a-z]`, `\` escapes) plus `**` for any number of
//! components; a later `!pattern` re-includes what an earlier one excluded; a pattern that
//! matches a directory excludes everything below it.
//!
//! The same [`Pattern`] matches COPY/ADD sources with wildcards (BuildKit's include patterns).

use regex::Regex;

/// A pattern that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// `!` alone.
    #[error("illegal exclusion pattern: \"!\"")]
    LoneBang,
    /// Go's `filepath.ErrBadPattern`.
    #[error("syntax error in pattern {0:?}")]
    Syntax(String),
}

#[derive(Debug, Clone)]
enum Matcher {
    Exact,
    Prefix(String),
    Suffix(String),
    Regex(Regex),
}

/// One cleaned pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    cleaned: String,
    matcher: Matcher,
    exclusion: bool,
}

/// Go's `path.Clean` on a slash path.
pub fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Checks a pattern the way Go's `filepath.Match(p, ".")` does: unterminated classes and a
/// trailing `\` are errors.
fn check_syntax(p: &str) -> Result<(), PatternError> {
    let bad = || PatternError::Syntax(p.to_string());
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next().ok_or_else(bad)?;
            }
            '[' => {
                if chars.peek() == Some(&'^') {
                    chars.next();
                }
                let mut first = true;
                loop {
                    match chars.next() {
                        None => return Err(bad()),
                        Some(']') if !first => break,
                        Some('\\') => {
                            chars.next().ok_or_else(bad)?;
                        }
                        Some('-') if first => return Err(bad()),
                        Some(_) => {}
                    }
                    first = false;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

impl Pattern {
    /// Compiles `raw` (already trimmed); a leading `!` makes an exclusion.
    pub fn new(raw: &str) -> Result<Pattern, PatternError> {
        let (exclusion, body) = match raw.strip_prefix('!') {
            Some("") => return Err(PatternError::LoneBang),
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let cleaned = clean(body);
        check_syntax(&cleaned)?;
        let matcher = compile(&cleaned)?;
        Ok(Pattern {
            cleaned,
            matcher,
            exclusion,
        })
    }

    /// Whether this is a `!` pattern.
    pub fn is_exclusion(&self) -> bool {
        self.exclusion
    }

    /// Whether `path` (slash-separated, relative, cleaned) matches.
    pub fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            Matcher::Exact => path == self.cleaned,
            Matcher::Prefix(p) => path.starts_with(p.as_str()),
            Matcher::Suffix(s) => {
                path.ends_with(s.as_str()) || (s.starts_with('/') && path == &s[1..])
            }
            Matcher::Regex(r) => r.is_match(path),
        }
    }
}

/// The regexp translation of patternmatcher's `compile`.
fn compile(p: &str) -> Result<Matcher, PatternError> {
    #[derive(PartialEq)]
    enum T {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let mut re = String::from("^");
    let mut ty = T::Exact;
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let first = i == 0;
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i >= chars.len() {
                    if ty == T::Exact {
                        ty = T::Prefix;
                    } else {
                        re.push_str(".*");
                        ty = T::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    ty = T::Regex;
                }
                if first {
                    ty = T::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                ty = T::Regex;
            }
            '?' => {
                re.push_str("[^/]");
                ty = T::Regex;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                re.push('\\');
                re.push(c);
            }
            '\\' => match chars.get(i) {
                Some(n) => {
                    re.push('\\');
                    re.push(*n);
                    i += 1;
                    ty = T::Regex;
                }
                None => re.push_str("\\\\"),
            },
            '[' | ']' => {
                re.push(c);
                ty = T::Regex;
            }
            c => re.push(c),
        }
    }
    Ok(match ty {
        T::Exact => Matcher::Exact,
        T::Prefix => Matcher::Prefix(p[..p.len() - 2].to_string()),
        T::Suffix => Matcher::Suffix(p[2..].to_string()),
        T::Regex => {
            re.push('$');
            Matcher::Regex(Regex::new(&re).map_err(|_| PatternError::Syntax(p.to_string()))?)
        }
    })
}

/// A `.dockerignore`: patterns in order, later ones winning.
#[derive(Debug, Clone, Default)]
pub struct IgnoreSet {
    patterns: Vec<Pattern>,
}

impl IgnoreSet {
    /// Reads a `.dockerignore` (moby's `ignorefile.ReadAll`): a BOM is dropped, `#` lines are
    /// comments, blanks are skipped, a leading `/` is dropped.
    pub fn parse(text: &str) -> Result<IgnoreSet, PatternError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let mut p = line.trim();
            if p.is_empty() {
                continue;
            }
            let invert = p.starts_with('!');
            if invert {
                p = p[1..].trim();
            }
            let mut body = String::new();
            if !p.is_empty() {
                body = clean(p);
                if body.len() > 1 && body.starts_with('/') {
                    body.remove(0);
                }
            }
            let raw = if invert { format!("!{body}") } else { body };
            if raw.is_empty() {
                continue;
            }
            patterns.push(Pattern::new(&raw)?);
        }
        Ok(IgnoreSet { patterns })
    }

    /// True when there are no patterns.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether a `!` pattern may bring back something below an excluded directory.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }

    /// `MatchesOrParentMatches`: whether `path` is excluded, a pattern matching one of its
    /// parent directories counting as matching it.
    pub fn excludes(&self, path: &str) -> bool {
        let path = clean(path);
        if path == "." {
            return false;
        }
        let parents: Vec<&str> = match path.rfind('/') {
            Some(i) => path[..i].split('/').collect(),
            None => Vec::new(),
        };
        let mut matched = false;
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            let mut m = p.matches(&path);
            if !m {
                for i in 0..parents.len() {
                    if p.matches(&parents[..=i].join("/")) {
                        m = true;
                        break;
                    }
                }
            }
            if m {
                matched = !p.exclusion;
            }
        }
        matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> IgnoreSet {
        IgnoreSet::parse(s).unwrap()
    }

    #[test]
    fn moby_rules() {
        let s = set("# comment\n*.log\n!keep.log\nnode_modules\n/build/\ndocs/**/*.md\n");
        assert!(s.excludes("a.log"));
        assert!(!s.excludes("keep.log"));
        assert!(!s.excludes("sub/a.log"), "* does not cross /");
        assert!(s.excludes("node_modules"));
        assert!(
            s.excludes("node_modules/x/y.js"),
            "a matching parent excludes"
        );
        assert!(s.excludes("build/out.bin"));
        assert!(s.excludes("docs/a.md"));
        assert!(s.excludes("docs/x/y/a.md"));
        assert!(!s.excludes("docs/a.txt"));
        assert!(!s.excludes("main.rs"));
    }

    #[test]
    fn double_star_forms() {
        let s = set("**/*.tmp\n");
        assert!(s.excludes("a.tmp"));
        assert!(s.excludes("x/y/a.tmp"));
        let s = set("**\n!src\n");
        assert!(s.excludes("anything"));
        assert!(!s.excludes("src"));
        let s = set("cache/**\n");
        assert!(s.excludes("cache/a/b"));
        let s = set("**/secret\n");
        assert!(s.excludes("secret"));
        assert!(s.excludes("a/secret"));
    }

    #[test]
    fn exception_inside_excluded_dir() {
        let s = set("dir\n!dir/keep\n");
        assert!(s.excludes("dir/other"));
        assert!(!s.excludes("dir/keep"));
    }

    #[test]
    fn bad_patterns() {
        assert_eq!(IgnoreSet::parse("!\n").unwrap_err(), PatternError::LoneBang);
        assert!(IgnoreSet::parse("[a-\n").is_err());
        assert!(Pattern::new("a[").is_err());
    }

    #[test]
    fn go_clean() {
        assert_eq!(clean("./a/../b//c/"), "b/c");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("../a"), "../a");
        assert_eq!(clean(""), ".");
    }

    #[test]
    fn classes_and_escapes() {
        let p = Pattern::new("file[0-9].txt").unwrap();
        assert!(p.matches("file3.txt"));
        assert!(!p.matches("filex.txt"));
        let p = Pattern::new("a\\*b").unwrap();
        assert!(p.matches("a*b"));
        assert!(!p.matches("axb"));
        let p = Pattern::new("a?c").unwrap();
        assert!(p.matches("abc"));
        assert!(!p.matches("a/c"));
    }
}
