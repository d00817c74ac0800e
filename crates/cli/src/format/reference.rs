//! Image references as the docker CLI shows them: normalised (`busybox` is
//! `docker.io/library/busybox`) and familiar (`docker.io/library/busybox:latest` shows as
//! `busybox:latest`). Only what the CLI needs for display, pull and tag; the daemon-side
//! grammar lives in the `oci` crate.

/// A parsed, normalised reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub domain: String,
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

const DEFAULT_DOMAIN: &str = "docker.io";

/// Whether `s` is a bare image ID or digest (`ParseAnyReference`'s non-name forms).
pub fn is_id_or_digest(s: &str) -> bool {
    let hex64 = |h: &str| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    hex64(s) || s.strip_prefix("sha256:").is_some_and(hex64)
}

fn valid_component(c: &str) -> bool {
    // [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
    if c.is_empty() {
        return false;
    }
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
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
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-')) {
            return false;
        }
    }
    true
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|x| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'.' | b'-'))
}

impl Reference {
    /// `reference.ParseNormalizedNamed`.
    pub fn parse_normalized(s: &str) -> Result<Reference, String> {
        if s.is_empty() {
            return Err("invalid reference format".into());
        }
        if is_id_or_digest(s) {
            return Err(format!(
                "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
            ));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                let (algo, hex) = d.split_once(':').ok_or("invalid reference format")?;
                if algo.is_empty() || hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err("invalid reference format".into());
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(rest[i + 1..].to_string())),
            _ => (rest, None),
        };
        if let Some(t) = &tag {
            if !valid_tag(t) {
                return Err("invalid reference format".into());
            }
        }
        let (domain, path) = match name.split_once('/') {
            Some((d, p)) if d.contains(['.', ':']) || d == "localhost" || d.to_lowercase() != d => {
                (d.to_string(), p.to_string())
            }
            _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
        };
        let domain = if domain == "index.docker.io" {
            DEFAULT_DOMAIN.to_string()
        } else {
            domain
        };
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if path.to_lowercase() != path {
            return Err(format!(
                "invalid reference format: repository name ({path}) must be lowercase"
            ));
        }
        if !path.split('/').all(valid_component) {
            return Err("invalid reference format".into());
        }
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// Adds `latest` when neither a tag nor a digest is given (`TagNameOnly`).
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some("latest".into());
        }
        self
    }

    /// The full name without tag: `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The short name: `busybox`, `me/app`, `localhost:5000/app`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix("library/") {
                Some(rest) if !rest.contains('/') => rest.to_string(),
                _ => self.path.clone(),
            }
        } else {
            self.name()
        }
    }

    /// The short name with tag and digest: `busybox:latest`.
    pub fn familiar_string(&self) -> String {
        let mut s = self.familiar_name();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

/// `stringid.TruncateID`: drops an algorithm prefix and keeps 12 characters.
pub fn truncate_id(id: &str) -> &str {
    let id = id.split_once(':').map(|(_, h)| h).unwrap_or(id);
    let end = id
        .char_indices()
        .nth(12)
        .map(|(i, _)| i)
        .unwrap_or(id.len());
    &id[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_familiarises() {
        let r = Reference::parse_normalized("busybox").unwrap();
        assert_eq!(r.name(), "docker.io/library/busybox");
        assert_eq!(
            r.clone().with_default_tag().familiar_string(),
            "busybox:latest"
        );
        let r = Reference::parse_normalized("docker.io/library/busybox:1.36").unwrap();
        assert_eq!(r.familiar_string(), "busybox:1.36");
        let r = Reference::parse_normalized("me/app").unwrap();
        assert_eq!(r.name(), "docker.io/me/app");
        assert_eq!(r.familiar_name(), "me/app");
        let r = Reference::parse_normalized("localhost:5000/app:v1").unwrap();
        assert_eq!(
            (r.domain.as_str(), r.path.as_str(), r.tag.as_deref()),
            ("localhost:5000", "app", Some("v1"))
        );
        assert_eq!(r.familiar_string(), "localhost:5000/app:v1");
        let d = format!("busybox@sha256:{}", "a".repeat(64));
        assert_eq!(
            Reference::parse_normalized(&d)
                .unwrap()
                .clone()
                .with_default_tag()
                .tag,
            None
        );
        assert!(Reference::parse_normalized("Busybox").is_err());
        assert!(Reference::parse_normalized("bad:tag:x").is_err());
        assert!(Reference::parse_normalized("a//b").is_err());
        assert!(is_id_or_digest(&"0".repeat(64)));
    }

    #[test]
    fn truncates_ids() {
        assert_eq!(truncate_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(truncate_id("abc"), "abc");
    }
}
