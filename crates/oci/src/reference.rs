//! Image references with Docker's normalisation and validation (the `reference` package of
//! docker/distribution): `busybox` is `docker.io/library/busybox`, `localhost:5000/x:1` keeps its
//! registry, `name@sha256:…` pins a digest, and `name:tag@digest` carries both.
//!
//! Vocabulary: the *domain* is the registry host (`docker.io`, `localhost:5000`); the *path* is
//! the repository inside it (`library/busybox`); the *repository* is `domain/path`; the *familiar*
//! form is what `docker` prints (`busybox:latest`, `localhost:5000/x:1`).
//!
//! Error messages are Docker's own, word for word, so users see what they would see with Docker.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::{is_lower_hex, Digest, DigestError};
use crate::ErrorKind;

/// The registry of unqualified names.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// Old spelling of [`DEFAULT_DOMAIN`], normalised to it.
pub const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// Namespace of Docker Hub's official images.
pub const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag implied when a reference names neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// Longest repository name (domain included) Docker accepts.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Why a string is not a valid reference. Display strings are Docker's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// Empty input.
    #[error("repository name must have at least one component")]
    NameEmpty,
    /// Input that does not match the reference grammar.
    #[error("invalid reference format")]
    InvalidFormat {
        /// The rejected input.
        input: String,
    },
    /// The repository part has uppercase letters (grammar-level check).
    #[error("repository name must be lowercase")]
    NameContainsUppercase {
        /// The rejected input.
        input: String,
    },
    /// The repository part has uppercase letters (normalisation-level check, what the CLI shows).
    #[error("invalid reference format: repository name ({remote}) must be lowercase")]
    RemoteNameNotLowercase {
        /// The repository path as normalised, e.g. `library/Busybox`.
        remote: String,
    },
    /// Repository name longer than [`NAME_TOTAL_LENGTH_MAX`].
    #[error("repository name must not be more than 255 characters")]
    NameTooLong {
        /// The rejected input.
        input: String,
    },
    /// A 64-hex string used where a repository name is required.
    #[error("invalid repository name ({input}), cannot specify 64-byte hexadecimal strings")]
    HexIdentifier {
        /// The rejected input.
        input: String,
    },
    /// A tag that does not match `[\w][\w.-]{0,127}`.
    #[error("invalid tag format")]
    TagInvalidFormat {
        /// The rejected tag.
        tag: String,
    },
    /// The digest part matched the grammar but is not a valid digest.
    #[error(transparent)]
    Digest(#[from] DigestError),
}

impl ReferenceError {
    /// Always [`ErrorKind::InvalidArgument`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// A normalised, validated named reference: domain, path, optional tag, optional digest.
///
/// `Display` and serde use the full form (`docker.io/library/busybox:latest`); use
/// [`Reference::familiar`] for what Docker prints.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises a reference as Docker's `ParseNormalizedNamed` does. No tag is
    /// added: use [`Reference::with_default_tag`] (or [`Reference::parse_tagged`]) for that.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        if is_full_hex_id(s) {
            return Err(ReferenceError::HexIdentifier {
                input: s.to_string(),
            });
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = match remainder.find(':') {
            Some(i) => &remainder[..i],
            None => &remainder[..],
        };
        if remote.to_lowercase() != remote {
            return Err(ReferenceError::RemoteNameNotLowercase {
                remote: remote.to_string(),
            });
        }
        parse_strict(&format!("{domain}/{remainder}"))
    }

    /// [`Reference::parse`] followed by [`Reference::with_default_tag`]:
    /// `busybox` → `docker.io/library/busybox:latest`.
    pub fn parse_tagged(s: &str) -> Result<Reference, ReferenceError> {
        Ok(Reference::parse(s)?.with_default_tag())
    }

    /// Parses an already-canonical reference (no normalisation), as Docker's `Parse`.
    /// `busybox` parses with an empty domain here; most callers want [`Reference::parse`].
    pub fn parse_canonical(s: &str) -> Result<Reference, ReferenceError> {
        parse_strict(s)
    }

    /// Adds the `latest` tag when the reference has neither tag nor digest (`TagNameOnly`).
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// The same repository with `tag` (validated) and no digest.
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        if !valid_tag(tag) {
            return Err(ReferenceError::TagInvalidFormat {
                tag: tag.to_string(),
            });
        }
        Ok(Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: Some(tag.to_string()),
            digest: None,
        })
    }

    /// The same repository pinned to `digest`, with no tag.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: Some(digest),
        }
    }

    /// The repository alone, without tag or digest (`TrimNamed`).
    pub fn name_only(&self) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: None,
        }
    }

    /// Registry host, e.g. `docker.io` or `localhost:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Repository path inside the registry, e.g. `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `domain/path`, e.g. `docker.io/library/busybox`.
    pub fn repository(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The repository as Docker prints it: `busybox`, `user/app`, `localhost:5000/x`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            if let Some(rest) = self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
                if !rest.contains('/') {
                    return rest.to_string();
                }
            }
            return self.path.clone();
        }
        self.repository()
    }

    /// The whole reference as Docker prints it: `busybox:latest`, `localhost:5000/x:1@sha256:…`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        self.push_suffix(&mut s);
        s
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d.as_str());
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.repository();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({self})")
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

impl Serialize for Reference {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Reference::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What a user typed where Docker accepts "an image": an ID or a name (`ParseAnyReference`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyReference {
    /// A full image ID: 64 hex characters, or a `sha256:`/`sha512:` digest.
    Id(Digest),
    /// A repository name with optional tag and digest, normalised.
    Named(Reference),
}

impl AnyReference {
    /// Docker's `ParseAnyReference`: 64 hex → `sha256:` ID; a valid digest → ID; else a name.
    /// A short ID prefix (`3f57d9401f8d`) parses as a name; see [`id_prefix`] to test for one.
    pub fn parse(s: &str) -> Result<AnyReference, ReferenceError> {
        if is_full_hex_id(s) {
            return Ok(AnyReference::Id(Digest::parse(&format!("sha256:{s}"))?));
        }
        if let Ok(d) = Digest::parse(s) {
            return Ok(AnyReference::Id(d));
        }
        Reference::parse(s).map(AnyReference::Named)
    }
}

/// True for exactly 64 lowercase hex characters (a full image ID without `sha256:`).
pub fn is_full_hex_id(s: &str) -> bool {
    s.len() == 64 && is_lower_hex(s)
}

/// When `s` could be an image-ID prefix — `sha256:` followed by 1–64 lowercase hex, or 1–64
/// bare lowercase hex — returns the hex part. Docker tries this after a name lookup fails, so
/// `docker run 3f57d9` finds an image whose ID starts with `3f57d9`.
pub fn id_prefix(s: &str) -> Option<&str> {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    (hex.len() <= 64 && is_lower_hex(hex)).then_some(hex)
}

/// Docker's `splitDockerDomain`: the first component is a registry when it has a `.` or `:`,
/// is `localhost`, or has uppercase; otherwise the name lives on Docker Hub.
fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.find('/') {
        Some(i) => {
            let first = &name[..i];
            if !first.contains(['.', ':']) && first != "localhost" && first.to_lowercase() == first
            {
                (DEFAULT_DOMAIN.to_string(), name.to_string())
            } else {
                (first.to_string(), name[i + 1..].to_string())
            }
        }
        None => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_string();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_REPO_PREFIX}{remainder}");
    }
    (domain, remainder)
}

/// Docker's `Parse`: `name[:tag][@digest]` against the grammar, no normalisation.
fn parse_strict(s: &str) -> Result<Reference, ReferenceError> {
    if s.is_empty() {
        return Err(ReferenceError::NameEmpty);
    }
    let (domain, path, tag, digest) = match split_grammar(s) {
        Some(parts) => parts,
        None => {
            return Err(if split_grammar(&s.to_lowercase()).is_some() {
                ReferenceError::NameContainsUppercase {
                    input: s.to_string(),
                }
            } else {
                ReferenceError::InvalidFormat {
                    input: s.to_string(),
                }
            })
        }
    };
    let name_len = if domain.is_empty() {
        path.len()
    } else {
        domain.len() + 1 + path.len()
    };
    if name_len > NAME_TOTAL_LENGTH_MAX {
        return Err(ReferenceError::NameTooLong {
            input: s.to_string(),
        });
    }
    let digest = digest.map(Digest::parse).transpose()?;
    Ok(Reference {
        domain: domain.to_string(),
        path: path.to_string(),
        tag: tag.map(str::to_string),
        digest,
    })
}

type Parts<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>);

/// Splits and checks `[domain/]path[:tag][@digest]`; `None` when it does not match.
fn split_grammar(s: &str) -> Option<Parts<'_>> {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        if !digest_grammar(d) {
            return None;
        }
    }
    // A tag is a `:` after the last `/`; a `:` before it can only be a registry port.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].find(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        if !valid_tag(t) {
            return None;
        }
    }
    let (domain, path) = split_name(name)?;
    Some((domain, path, tag, digest))
}

/// Splits a name into domain and path, preferring a domain when the first component is one
/// (the grammar's optional domain is greedy).
fn split_name(name: &str) -> Option<(&str, &str)> {
    if let Some((first, rest)) = name.split_once('/') {
        if valid_domain(first) && valid_path(rest) {
            return Some((first, rest));
        }
    }
    valid_path(name).then_some(("", name))
}

/// A repository path (`library/busybox`): `/`-joined components of
/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`. The distribution spec's `<name>` grammar.
pub fn valid_path(path: &str) -> bool {
    path.split('/').all(valid_path_component)
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `host[:port]` where host is a dotted domain name or `[ipv6]`.
fn valid_domain(d: &str) -> bool {
    let (host, port) = if d.starts_with('[') {
        match d.find(']') {
            Some(end) => {
                let inner = &d[1..end];
                if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
                    return false;
                }
                (&d[..=end], &d[end + 1..])
            }
            None => return false,
        }
    } else {
        match d.find(':') {
            Some(i) => (&d[..i], &d[i..]),
            None => (d, ""),
        }
    };
    if !port.is_empty() {
        let digits = match port.strip_prefix(':') {
            Some(p) => p,
            None => return false,
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    host.starts_with('[') || host.split('.').all(valid_domain_component)
}

/// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`
fn valid_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
}

/// A tag: `[\w][\w.-]{0,127}`.
pub fn valid_tag(t: &str) -> bool {
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

/// `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
fn digest_grammar(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|c| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests;
