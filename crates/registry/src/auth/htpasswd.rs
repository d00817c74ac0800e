//! htpasswd files with bcrypt entries (`htpasswd -B`), and HTTP Basic credentials.
//!
//! bcrypt is slow on purpose (tens of milliseconds per check), far too slow to repeat on every
//! blob request of a push, so a successful check is remembered as a sha256 of the password: a
//! cache hit costs one hash, and the cache holds nothing an attacker could replay.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use http::HeaderMap;
use sha2::{Digest as _, Sha256};

use super::AuthError;

/// Cap on remembered successful checks; cleared when full.
const CACHE_MAX: usize = 4096;

/// Users and their bcrypt hashes.
#[derive(Clone)]
pub struct Htpasswd {
    users: Arc<HashMap<String, String>>,
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
}

impl std::fmt::Debug for Htpasswd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Htpasswd")
            .field("users", &self.users.len())
            .finish()
    }
}

impl Htpasswd {
    /// Reads a file.
    pub fn load(path: &Path) -> Result<Htpasswd, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|e| AuthError::Load {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Htpasswd::parse(&text).map_err(|reason| AuthError::Load {
            path: path.to_owned(),
            reason,
        })
    }

    /// Parses `user:hash` lines; blank lines and `#` comments are skipped. Only bcrypt hashes
    /// are accepted: the others htpasswd can write (MD5-crypt, SHA1, crypt) are weak.
    pub fn parse(text: &str) -> Result<Htpasswd, String> {
        let mut users = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, hash) = line
                .split_once(':')
                .ok_or_else(|| format!("line {}: want user:hash", n + 1))?;
            if !["$2y$", "$2b$", "$2a$"].iter().any(|p| hash.starts_with(p)) {
                return Err(format!(
                    "line {}: user {user:?} has a non-bcrypt hash (create it with htpasswd -B)",
                    n + 1
                ));
            }
            users.insert(user.to_owned(), hash.to_owned());
        }
        Ok(Htpasswd {
            users: Arc::new(users),
            verified: Arc::default(),
        })
    }

    fn cache_key(user: &str, pass: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(user.as_bytes());
        h.update([0]);
        h.update(pass.as_bytes());
        h.finalize().into()
    }

    /// Whether `pass` is `user`'s password.
    pub async fn verify(&self, user: &str, pass: &str) -> bool {
        let key = Htpasswd::cache_key(user, pass);
        if self.verified.lock().expect("cache lock").contains(&key) {
            return true;
        }
        // An unknown user still costs one bcrypt check, so timing does not reveal who exists.
        const DUMMY: &str = "$2y$10$KllWLbYFnoWjU43yNvO1dujnCGJB/XfPScHejKprjV5eyUe6OcNBm";
        let hash = self.users.get(user).cloned();
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY.to_owned());
        let pass = pass.to_owned();
        let ok = tokio::task::spawn_blocking(move || bcrypt::verify(pass, &hash).unwrap_or(false))
            .await
            .unwrap_or(false)
            && known;
        if ok {
            let mut cache = self.verified.lock().expect("cache lock");
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
            cache.insert(key);
        }
        ok
    }
}

/// What an `Authorization` header says in the Basic scheme.
#[derive(Debug, PartialEq, Eq)]
pub enum Basic {
    /// No `Authorization` header, or one of another scheme (`Bearer …`).
    Absent,
    /// A Basic header that does not decode to `user:password`.
    Malformed,
    /// The user and the password.
    Credentials(String, String),
}

/// The user and password of an `Authorization: Basic` header.
pub fn basic_credentials(headers: &HeaderMap) -> Basic {
    let Some(v) = headers.get(http::header::AUTHORIZATION) else {
        return Basic::Absent;
    };
    let Ok(v) = v.to_str() else {
        return Basic::Malformed;
    };
    let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Basic::Absent;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok());
    match decoded.as_deref().and_then(|s| s.split_once(':')) {
        Some((u, p)) => Basic::Credentials(u.to_owned(), p.to_owned()),
        None => Basic::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_bcrypt_and_refuses_weak_hashes() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let h = Htpasswd::parse(&format!("# users\n\nalice:{hash}\n")).unwrap();
        assert!(h.verify("alice", "s3cret").await);
        assert!(h.verify("alice", "s3cret").await, "cached");
        assert!(!h.verify("alice", "wrong").await);
        assert!(!h.verify("mallory", "s3cret").await);
        let err = Htpasswd::parse("bob:{SHA}fCIvspJ9goryL1khNOiTJIBjfA0=\n").unwrap_err();
        assert!(err.contains("bob") && err.contains("line 1"), "{err}");
        assert!(Htpasswd::parse("nocolon\n").is_err());
    }

    #[test]
    fn parses_basic_headers() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Basic YWxpY2U6cDpx".parse().unwrap());
        assert_eq!(
            basic_credentials(&h),
            Basic::Credentials("alice".into(), "p:q".into())
        );
        h.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(basic_credentials(&h), Basic::Absent);
        h.insert("authorization", "Basic !!!".parse().unwrap());
        assert_eq!(basic_credentials(&h), Basic::Malformed);
        // base64 of "nocolon"
        h.insert("authorization", "Basic bm9jb2xvbg==".parse().unwrap());
        assert_eq!(basic_credentials(&h), Basic::Malformed);
        assert_eq!(basic_credentials(&HeaderMap::new()), Basic::Absent);
    }
}
