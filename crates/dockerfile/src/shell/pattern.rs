//! Shell patterns in `${VAR#p}`, `${VAR%s}` and `${VAR/a/b}`: `*` is any run of characters,
//! `?` one character, `\` makes the next `*`, `?` or `\` literal (and is dropped before `}` and
//! `/`); everything else, brackets included, is literal. As in BuildKit, a pattern becomes a
//! regular expression (`*` lazy for the shortest match, greedy for the longest), so neither
//! wildcard crosses a newline.

use regex::{NoExpand, Regex, RegexBuilder};

use super::LexReason;

/// The regular expression for a shell pattern.
fn to_regex(pattern: &str, greedy: bool, anchored: bool) -> Result<Regex, String> {
    let mut out = String::with_capacity(pattern.len() + 4);
    if anchored {
        out.push('^');
    }
    let star = if greedy { ".*" } else { ".*?" };
    let mut chars = pattern.chars().peekable();
    while let Some(tok) = chars.next() {
        match tok {
            '*' => out.push_str(star),
            '?' => out.push('.'),
            '\\' => {
                if matches!(chars.peek(), Some('}' | '/')) {
                    continue;
                }
                let next = chars.next().unwrap_or('\u{fffd}');
                if !matches!(next, '*' | '?' | '\\') {
                    return Err(format!("invalid escape '\\{next}'"));
                }
                out.push('\\');
                out.push(next);
            }
            '[' | ']' | '{' | '}' | '.' | '+' | '(' | ')' | '|' | '^' | '$' => {
                out.push('\\');
                out.push(tok);
            }
            _ => out.push(tok),
        }
    }
    RegexBuilder::new(&out).build().map_err(|e| e.to_string())
}

fn invalid(pattern: &str, reason: String) -> LexReason {
    LexReason::InvalidPattern {
        pattern: pattern.to_string(),
        reason,
    }
}

/// `${VAR#pattern}` (shortest) and `${VAR##pattern}` (longest, `greedy`).
pub(crate) fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, LexReason> {
    let re = to_regex(pattern, greedy, true).map_err(|e| invalid(pattern, e))?;
    Ok(match re.find(value) {
        Some(m) => value[m.end()..].to_string(),
        None => value.to_string(),
    })
}

/// `${VAR%pattern}` and `${VAR%%pattern}`: a prefix trim of the reversed value with the
/// reversed pattern (regular expressions find leftmost matches only).
pub(crate) fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, LexReason> {
    let reversed: String = value.chars().rev().collect();
    let trimmed = trim_prefix(&reverse_pattern(pattern), &reversed, greedy)?;
    Ok(trimmed.chars().rev().collect())
}

/// Reverses a pattern but keeps each `\x` escape in order (`a\*c` → `c\*a`).
pub(crate) fn reverse_pattern(pattern: &str) -> String {
    let p: Vec<char> = pattern.chars().collect();
    let mut out = p.clone();
    let last = p.len().saturating_sub(1);
    let mut i = 0;
    while i < p.len() {
        let at = last - i;
        if p[i] == '\\' && i != last {
            out[at - 1] = '\\';
            out[at] = p[i + 1];
            i += 2;
        } else {
            out[at] = p[i];
            i += 1;
        }
    }
    out.into_iter().collect()
}

/// `${VAR/pattern/replacement}` (first match, replacement taken literally) and
/// `${VAR//pattern/replacement}` (every match; `$0`-style references are expanded, as Go's
/// `ReplaceAllString` does).
pub(crate) fn replace(
    pattern: &str,
    value: &str,
    replacement: &str,
    all: bool,
) -> Result<String, LexReason> {
    let re = to_regex(pattern, true, false).map_err(|e| invalid(pattern, e))?;
    Ok(if all {
        re.replace_all(value, replacement).into_owned()
    } else {
        re.replace(value, NoExpand(replacement)).into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_translation() {
        assert_eq!(to_regex("*", true, true).unwrap().as_str(), "^.*");
        assert_eq!(to_regex("?", true, true).unwrap().as_str(), "^.");
        assert_eq!(to_regex("\\*", true, true).unwrap().as_str(), "^\\*");
        assert_eq!(
            to_regex("(()[]{\\}^$.\\*\\?|\\\\", true, true)
                .unwrap()
                .as_str(),
            "^\\(\\(\\)\\[\\]\\{\\}\\^\\$\\.\\*\\?\\|\\\\"
        );
        for bad in ["\\", "\\x", "\\\\\\"] {
            assert!(to_regex(bad, true, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn reversing() {
        assert_eq!(reverse_pattern("a\\*c"), "c\\*a");
        assert_eq!(reverse_pattern("\\\\\\ab"), "b\\a\\\\");
        assert_eq!(reverse_pattern("ab\\"), "\\ba");
        assert_eq!(reverse_pattern("👽\\🚀🖖"), "🖖\\🚀👽");
        assert_eq!(reverse_pattern("\\\\b"), "b\\\\");
        assert_eq!(reverse_pattern(""), "");
    }

    #[test]
    fn trims_and_replaces() {
        assert_eq!(trim_prefix("*x", "axbxc", false).unwrap(), "bxc");
        assert_eq!(trim_prefix("*x", "axbxc", true).unwrap(), "c");
        assert_eq!(trim_suffix("x*", "axbxc", false).unwrap(), "axb");
        assert_eq!(trim_suffix("x*", "axbxc", true).unwrap(), "a");
        assert_eq!(replace("x*", "xxa", "-", true).unwrap(), "-");
        // An empty match right after a match is skipped, as in Go.
        assert_eq!(replace("*", "ab", "-", true).unwrap(), "-");
        assert_eq!(replace("?", "ab", "-", true).unwrap(), "--");
        assert_eq!(replace("", "ab", "-", true).unwrap(), "-a-b-");
        assert_eq!(replace("b", "abab", "$0$0", true).unwrap(), "abbabb");
        assert_eq!(replace("b", "abab", "$0", false).unwrap(), "a$0ab");
    }
}
