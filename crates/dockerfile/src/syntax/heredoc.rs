//! Heredoc words (`<<EOF`, `<<-EOF`, `3<<'EOF'`, `<<"EOF"`) and their bodies.
//!
//! A word is a heredoc when it is optional digits (a file descriptor), `<<`, an optional `-`
//! (strip leading tabs, "chomp"), optional blanks and a delimiter without `<`. The delimiter
//! goes through the shell lexer; if any part of it was quoted, the body is not expanded.

use serde::Serialize;

use crate::go::is_re_space;
use crate::shell::{Lex, LexError, NoEnv};

/// A heredoc attached to an instruction: the body is the lines after the instruction up to
/// the delimiter line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heredoc {
    /// The delimiter, with quotes removed (`EOF` for `<<'EOF'`); also the file name COPY/ADD
    /// give an inline source.
    pub name: String,
    /// The body, exactly as written (with each line's newline, before any chomping).
    pub content: String,
    /// Whether the builder expands variables in the body (false when the delimiter was quoted).
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from each body line (see [`chomp`]).
    pub chomp: bool,
    /// The file descriptor written before `<<` (`3<<EOF`), 0 when none.
    pub fd: u64,
}

/// Reads `src` as one heredoc word; `Ok(None)` when it is not one.
pub fn parse_heredoc(src: &str) -> Result<Option<Heredoc>, LexError> {
    let digits = src.len() - src.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let Some(after) = src[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, after) = match after.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, after),
    };
    let rest = after.trim_start_matches(is_re_space);
    if rest.contains('<') || rest.is_empty() {
        return Ok(None);
    }
    // Go's ParseUint: 0 for no digits, the largest value on overflow.
    let fd = if digits == 0 {
        0
    } else {
        src[..digits].parse().unwrap_or(u64::MAX)
    };

    let mut lex = Lex::new('\\');
    lex.skip_unset_env = true;
    let words = lex.process_words(rest, &NoEnv)?;
    if words.len() != 1 {
        return Ok(None);
    }
    lex.raw_quotes = true;
    let raw = lex.process_words(rest, &NoEnv)?;
    if raw.len() != 1 {
        return Ok(None);
    }
    let quotes = |s: &str| s.chars().filter(|c| *c == '\'' || *c == '"').count();
    let expand = quotes(&words[0]) == quotes(&raw[0]);
    let name = words.into_iter().next().unwrap_or_default();
    Ok(Some(Heredoc {
        name,
        content: String::new(),
        expand,
        chomp,
        fd,
    }))
}

/// [`parse_heredoc`] with lexing errors read as "not a heredoc" (BuildKit's `MustParseHeredoc`).
pub(crate) fn must_parse_heredoc(src: &str) -> Option<Heredoc> {
    parse_heredoc(src).ok().flatten()
}

/// The heredocs a logical line opens, in order.
pub(crate) fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, LexError> {
    let mut lex = Lex::new('\\');
    lex.raw_quotes = true;
    lex.raw_escapes = true;
    lex.skip_unset_env = true;
    let words = lex.process_words(line, &NoEnv).unwrap_or_default();
    let mut docs = Vec::new();
    for word in words {
        if let Some(doc) = parse_heredoc(&word)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

/// Strips the leading tabs of every line (what `<<-` asks for).
pub fn chomp(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heredoc_words() {
        for w in [
            "<<EOF",
            "<<'EOF'",
            "<<\"EOF\"",
            "<<-EOF",
            "<<-'EOF'",
            "<<-\"EOF\"",
            "<<EO\"F\"",
            "<< EOF",
            "<<- EOF",
        ] {
            assert_eq!(parse_heredoc(w).unwrap().unwrap().name, "EOF", "{w}");
        }
        for w in ["<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""] {
            assert!(parse_heredoc(w).is_err(), "{w}");
        }
        for w in ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh", "<<''"] {
            assert_eq!(parse_heredoc(w).unwrap(), None, "{w}");
        }
        let h = parse_heredoc("3<<-'E'O\\'F").unwrap().unwrap();
        assert_eq!(
            (h.name.as_str(), h.fd, h.chomp, h.expand),
            ("EO'F", 3, true, false)
        );
        assert!(parse_heredoc("<<eo\\'f").unwrap().unwrap().expand);
        assert_eq!(parse_heredoc("<<$EOF").unwrap().unwrap().name, "$EOF");
        assert_eq!(parse_heredoc("<< -EOF").unwrap().unwrap().name, "-EOF");
        assert_eq!(
            parse_heredoc("99999999999999999999<<E")
                .unwrap()
                .unwrap()
                .fd,
            u64::MAX
        );
    }

    #[test]
    fn heredocs_in_a_line() {
        let names = |l: &str| -> Vec<String> {
            heredocs_from_line(l)
                .unwrap()
                .into_iter()
                .map(|h| h.name)
                .collect()
        };
        assert_eq!(names("RUN <<EOF <<EOF2"), ["EOF", "EOF2"]);
        // `<<-` then a blank is two words for the line lexer: not a heredoc (as in BuildKit).
        assert!(names("RUN <<- EOF").is_empty());
        assert_eq!(names("RUN << EOF"), ["EOF"]);
        assert_eq!(names("RUN 4<<EOF"), ["EOF"]);
        assert_eq!(names("RUN <<  EOF  > foo"), ["EOF"]);
        assert!(names("RUN '<<EOF'").is_empty());
        assert!(names("RUN \"<<EOF\"").is_empty());
        assert!(names("RUN cat<<EOF").is_empty());
        assert!(names("RUN <<EOF 'unterminated").is_empty());
    }

    #[test]
    fn chomping() {
        assert_eq!(chomp("\thello\n\t\tworld\n x\t\n"), "hello\nworld\n x\t\n");
    }
}
