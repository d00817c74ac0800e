//! Credentials and the registry auth dance: a request answered `401` with
//! `WWW-Authenticate: Basic` is retried with the user's password; one answered with
//! `Bearer realm=…,service=…,scope=…` makes us fetch a token from the realm (with the
//! password, an identity token, or anonymously) and retry with it.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;

use crate::error::{Error, Result};

/// Credentials for one registry: the Engine API's type, which the docker CLI sends as
/// `X-Registry-Auth` (base64url JSON) and `POST /auth` receives.
pub use api_types::AuthConfig;

/// What the registry client does with [`AuthConfig`]s.
pub trait Credentials: Sized {
    /// Decodes an `X-Registry-Auth` header value. An empty value or `{}` means anonymous.
    fn from_header(value: &str) -> Result<Option<Self>>;
    /// Fills `username`/`password` from `auth` when only that is set.
    fn normalized(self) -> Result<Self>;
    /// True when nothing usable is set.
    fn is_anonymous(&self) -> bool;
    /// The `Authorization: Basic …` value, when a user name is set.
    fn basic(&self) -> Option<String>;
}

impl Credentials for AuthConfig {
    fn from_header(value: &str) -> Result<Option<AuthConfig>> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        let engines = [
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
        ];
        let bytes = engines
            .iter()
            .find_map(|e| e.decode(value).ok())
            .ok_or_else(|| Error::BadCredentials {
                reason: "X-Registry-Auth is not base64".into(),
            })?;
        let cfg: AuthConfig =
            serde_json::from_slice(&bytes).map_err(|e| Error::BadCredentials {
                reason: format!("X-Registry-Auth is not an auth config: {e}"),
            })?;
        Ok(Some(cfg.normalized()?).filter(|c| !c.is_anonymous()))
    }

    fn normalized(mut self) -> Result<AuthConfig> {
        if self.username.is_empty() && !self.auth.is_empty() {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(self.auth.trim())
                .map_err(|_| Error::BadCredentials {
                    reason: "\"auth\" is not base64".into(),
                })?;
            let s = String::from_utf8(raw).map_err(|_| Error::BadCredentials {
                reason: "\"auth\" is not UTF-8".into(),
            })?;
            let (u, p) = s.split_once(':').ok_or_else(|| Error::BadCredentials {
                reason: "\"auth\" is not user:password".into(),
            })?;
            self.username = u.to_string();
            self.password = p.to_string();
        }
        Ok(self)
    }

    fn is_anonymous(&self) -> bool {
        self.username.is_empty() && self.identitytoken.is_empty() && self.registrytoken.is_empty()
    }

    fn basic(&self) -> Option<String> {
        (!self.username.is_empty()).then(|| {
            let raw = format!("{}:{}", self.username, self.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        })
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// Send the password.
    Basic,
    /// Fetch a token.
    Bearer {
        /// The token server.
        realm: String,
        /// The service to ask a token for.
        service: Option<String>,
        /// The scope the registry said it needs (used when the caller has none).
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parses a header value such as `Bearer realm="https://a/token",service="reg"`.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => Some(Challenge::Basic),
            "bearer" => {
                let params = parse_params(rest);
                Some(Challenge::Bearer {
                    realm: params.get("realm")?.clone(),
                    service: params.get("service").cloned(),
                    scope: params.get("scope").cloned(),
                })
            }
            _ => None,
        }
    }
}

/// `key="value", key2=value2` (quoted values may hold commas and `\"`).
fn parse_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                value.push(n);
                            }
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    out
}

/// A token server's answer (Docker's `token` or OAuth2's `access_token`).
#[derive(Debug, Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: String,
}

impl TokenResponse {
    pub(crate) fn bearer(&self) -> Option<&str> {
        [self.token.as_str(), self.access_token.as_str()]
            .into_iter()
            .find(|t| !t.is_empty())
    }
}

/// The error body registries send (`{"errors":[{"code":…,"message":…}]}`) or a token server's
/// (`{"details":…}` / `{"error":…}`): first code and message.
pub(crate) fn error_body(body: &[u8]) -> (Option<String>, String) {
    #[derive(Deserialize)]
    struct E {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    #[derive(Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<E>,
        #[serde(default)]
        details: String,
        #[serde(default)]
        error: String,
    }
    if let Ok(e) = serde_json::from_slice::<Errors>(body) {
        if let Some(first) = e.errors.first() {
            let code = (!first.code.is_empty()).then(|| first.code.clone());
            return (code, first.message.clone());
        }
        if !e.details.is_empty() {
            return (None, e.details);
        }
        if !e.error.is_empty() {
            return (None, e.error);
        }
    }
    let text = String::from_utf8_lossy(body).trim().to_string();
    (None, text.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull,push".into()),
            })
        );
        assert_eq!(Challenge::parse("Bearer service=x"), None);
        assert_eq!(Challenge::parse("Negotiate"), None);
    }

    #[test]
    fn header_decoding() {
        use base64::engine::general_purpose::URL_SAFE;
        let h = URL_SAFE.encode(r#"{"username":"al","password":"p+/?","serveraddress":"r"}"#);
        let a = AuthConfig::from_header(&h).unwrap().unwrap();
        assert_eq!((a.username.as_str(), a.password.as_str()), ("al", "p+/?"));
        assert_eq!(AuthConfig::from_header("e30=").unwrap(), None);
        assert_eq!(AuthConfig::from_header("").unwrap(), None);
        assert!(AuthConfig::from_header("!!!").is_err());
        let h = URL_SAFE.encode(r#"{"auth":"YWw6cHc="}"#);
        let a = AuthConfig::from_header(&h).unwrap().unwrap();
        assert_eq!((a.username.as_str(), a.password.as_str()), ("al", "pw"));
        assert_eq!(a.basic().unwrap(), "Basic YWw6cHc=");
        assert!(!format!("{a:?}").contains("pw"));
    }

    #[test]
    fn error_bodies() {
        let (c, m) = error_body(
            br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        );
        assert_eq!(
            (c.as_deref(), m.as_str()),
            (Some("UNAUTHORIZED"), "authentication required")
        );
        assert_eq!(error_body(br#"{"details":"bad creds"}"#).1, "bad creds");
        assert_eq!(error_body(b"plain text").1, "plain text");
    }
}
