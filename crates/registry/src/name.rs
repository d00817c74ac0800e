//! Repository names, tags and manifest references, validated by the grammar of the distribution
//! spec ("Pulling manifests": `<name>` and `<reference>`) — the same grammar Docker's
//! references use, so it is `oci::reference`'s; this module adds the server's types.

use std::fmt;

use crate::digest::{Digest, DigestError};
use crate::ErrorKind;

/// Longest repository name accepted (distribution's limit; path components plus slashes).
pub const MAX_NAME_LEN: usize = 255;

/// Why a name or reference was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    /// The repository name breaks the spec's grammar.
    #[error("invalid repository name {0:?}: components of lowercase letters and digits separated by '.', '_', '__' or '-', joined by '/', at most 255 characters")]
    InvalidName(String),
    /// The tag breaks `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
    #[error("invalid tag {0:?}: want [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}")]
    InvalidTag(String),
    /// The reference looks like a digest but is not a valid one.
    #[error(transparent)]
    Digest(#[from] DigestError),
}

impl NameError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// A validated repository name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

impl RepoName {
    /// Validates `s` as a repository name.
    pub fn parse(s: &str) -> Result<RepoName, NameError> {
        if s.is_empty() || s.len() > MAX_NAME_LEN || !oci::reference::valid_path(s) {
            return Err(NameError::InvalidName(s.to_owned()));
        }
        Ok(RepoName(s.to_owned()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

pub use oci::reference::valid_tag;

/// What a manifest URL names: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A tag.
    Tag(String),
    /// A digest.
    Digest(Digest),
}

impl Reference {
    /// Parses a `<reference>`: anything with a colon is a digest, anything else a tag.
    pub fn parse(s: &str) -> Result<Reference, NameError> {
        if s.contains(':') {
            return Ok(Reference::Digest(s.parse()?));
        }
        if valid_tag(s) {
            Ok(Reference::Tag(s.to_owned()))
        } else {
            Err(NameError::InvalidTag(s.to_owned()))
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => f.write_str(t),
            Reference::Digest(d) => write!(f, "{d}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spec_names() {
        for ok in [
            "a",
            "library/busybox",
            "a.b_c__d---e/f0",
            "my-org/sub/repo",
            "0",
        ] {
            assert!(RepoName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_traversal_uppercase_and_odd_separators() {
        for bad in [
            "",
            "..",
            "a/../b",
            "../a",
            "a/..",
            "A",
            "library/Busybox",
            "a//b",
            "/a",
            "a/",
            "a..b",
            "a___b",
            "-a",
            "a-",
            "a_.b",
            "a b",
            "a%2fb",
            "_a",
        ] {
            assert!(RepoName::parse(bad).is_err(), "{bad}");
        }
        assert!(RepoName::parse(&"a".repeat(256)).is_err());
        assert!(RepoName::parse(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn parses_references() {
        assert_eq!(
            Reference::parse("latest").unwrap(),
            Reference::Tag("latest".into())
        );
        assert!(Reference::parse("_v1.0-rc").is_ok());
        assert!(Reference::parse(".bad").is_err());
        assert!(Reference::parse(&"t".repeat(129)).is_err());
        assert!(Reference::parse(&"t".repeat(128)).is_ok());
        assert!(matches!(
            Reference::parse("sha256:00"),
            Err(NameError::Digest(_))
        ));
    }
}
