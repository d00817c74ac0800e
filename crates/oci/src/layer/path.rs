//! Cleaning of the names found in a layer tar into a list of components below the root.

/// Linux `NAME_MAX`: the longest single path component.
pub(crate) const NAME_MAX: usize = 255;
/// Linux `PATH_MAX` less the terminating NUL.
pub(crate) const PATH_MAX: usize = 4095;

/// Why an entry name cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathProblem {
    /// `..` climbs above the root.
    Escapes,
    /// A component longer than `NAME_MAX`, or the whole longer than `PATH_MAX`.
    TooLong,
    /// A NUL byte inside the name.
    Nul,
}

/// A cleaned path: components below the root, none empty, `.` or `..`. Empty means the root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CleanPath {
    comps: Vec<Vec<u8>>,
}

impl CleanPath {
    /// Cleans `raw` lexically like `filepath.Clean` with the root as `/`: a leading `/` and `.`
    /// components are dropped, `..` removes the previous component. A `..` with nothing left to
    /// remove is an escape attempt, which Docker also refuses ("breakout").
    pub(crate) fn parse(raw: &[u8]) -> Result<CleanPath, PathProblem> {
        if raw.contains(&0) {
            return Err(PathProblem::Nul);
        }
        if raw.len() > PATH_MAX {
            return Err(PathProblem::TooLong);
        }
        let mut comps: Vec<Vec<u8>> = Vec::new();
        for c in raw.split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => {
                    if comps.pop().is_none() {
                        return Err(PathProblem::Escapes);
                    }
                }
                _ if c.len() > NAME_MAX => return Err(PathProblem::TooLong),
                _ => comps.push(c.to_vec()),
            }
        }
        Ok(CleanPath { comps })
    }

    pub(crate) fn is_root(&self) -> bool {
        self.comps.is_empty()
    }

    /// The last component (`None` for the root).
    pub(crate) fn name(&self) -> Option<&[u8]> {
        self.comps.last().map(Vec::as_slice)
    }

    /// The parent's components (empty for a top-level entry).
    pub(crate) fn parent(&self) -> &[Vec<u8>] {
        match self.comps.len() {
            0 => &[],
            n => &self.comps[..n - 1],
        }
    }

    /// `a/b/c` (`.` for the root).
    #[cfg(test)]
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        join(&self.comps)
    }
}

/// Joins components with `/`; `.` for none.
pub(crate) fn join(comps: &[Vec<u8>]) -> Vec<u8> {
    if comps.is_empty() {
        return b".".to_vec();
    }
    let mut out = Vec::with_capacity(comps.iter().map(|c| c.len() + 1).sum());
    for (i, c) in comps.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> Result<String, PathProblem> {
        CleanPath::parse(s.as_bytes()).map(|p| String::from_utf8(p.to_bytes()).unwrap())
    }

    #[test]
    fn cleans_like_filepath_clean_below_root() {
        assert_eq!(clean("./a/b/").unwrap(), "a/b");
        assert_eq!(clean("/etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(clean("a/../b").unwrap(), "b");
        assert_eq!(clean("a//./b").unwrap(), "a/b");
        assert_eq!(clean("./").unwrap(), ".");
        assert_eq!(clean("").unwrap(), ".");
    }

    #[test]
    fn refuses_escapes_long_names_and_nul() {
        assert_eq!(clean("../x"), Err(PathProblem::Escapes));
        assert_eq!(clean("a/../../x"), Err(PathProblem::Escapes));
        assert_eq!(clean("/../x"), Err(PathProblem::Escapes));
        assert_eq!(clean(&"a".repeat(256)), Err(PathProblem::TooLong));
        assert!(clean(&"a".repeat(255)).is_ok());
        assert_eq!(clean(&"a/".repeat(2100)), Err(PathProblem::TooLong));
        assert_eq!(clean("a\0b"), Err(PathProblem::Nul));
    }

    #[test]
    fn parent_and_name() {
        let p = CleanPath::parse(b"a/b/c").unwrap();
        assert_eq!(p.name(), Some(&b"c"[..]));
        assert_eq!(p.parent(), &[b"a".to_vec(), b"b".to_vec()]);
        assert!(CleanPath::parse(b"/").unwrap().is_root());
    }
}
