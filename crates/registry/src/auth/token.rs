//! The built-in bearer-token service (Docker's token authentication: a 401 challenge names a
//! realm, service and scope; the client fetches a token there and retries with it).
//!
//! Tokens are JWTs signed with HMAC-SHA256: the registry is both issuer and verifier, so a
//! shared secret is all that is needed. The claims follow distribution's token format: `iss`,
//! `sub`, `aud` (the service), `exp`, `nbf`, `iat`, `jti` and `access`, a list of
//! `{type, name, actions}` the token grants.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::HeaderMap;
use ring::hmac;
use serde::{Deserialize, Serialize};

use super::{Access, Action, AuthError, Identity, Need};
use crate::config::TokenConfig;
use crate::name::RepoName;
use crate::store::unix_now;

/// One granted scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// `repository` or `registry`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The repository name (or `catalog`).
    pub name: String,
    /// The granted actions.
    pub actions: Vec<String>,
}

/// The claims of a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user name, empty for anonymous.
    pub sub: String,
    /// Audience: the service.
    pub aud: String,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Not before.
    pub nbf: u64,
    /// Issued at.
    pub iat: u64,
    /// Token id.
    pub jti: String,
    /// What it grants.
    pub access: Vec<Grant>,
}

impl Claims {
    /// Who the token was issued to.
    pub fn identity(&self) -> Identity {
        if self.sub.is_empty() {
            Identity::Anonymous
        } else {
            Identity::User(self.sub.clone())
        }
    }

    fn grants(&self, repo: &str, action: Action) -> bool {
        self.access.iter().any(|g| {
            g.kind == "repository"
                && g.name == repo
                && g.actions.iter().any(|a| a == action.as_str() || a == "*")
        })
    }
}

/// The token endpoint's JSON answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The token.
    pub token: String,
    /// The same, for OAuth2 clients.
    pub access_token: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// RFC 3339 issue time.
    pub issued_at: String,
}

/// Issues and verifies tokens.
pub struct TokenService {
    key: hmac::Key,
    service: String,
    issuer: String,
    expires_in: u64,
    realm: Option<String>,
}

impl TokenService {
    /// A service from the config; the key comes from `secret_file` or is random.
    pub fn from_config(cfg: &TokenConfig) -> Result<TokenService, AuthError> {
        let secret = match &cfg.secret_file {
            Some(p) => {
                let s = std::fs::read(p).map_err(|e| AuthError::Load {
                    path: p.clone(),
                    reason: e.to_string(),
                })?;
                if s.len() < 32 {
                    return Err(AuthError::Load {
                        path: p.clone(),
                        reason: "token secret must be at least 32 bytes".into(),
                    });
                }
                s
            }
            None => rand::random::<[u8; 32]>().to_vec(),
        };
        Ok(TokenService {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            service: cfg.service.clone(),
            issuer: cfg.issuer.clone(),
            expires_in: cfg.expires_in,
            realm: cfg.realm.clone(),
        })
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The configured realm, if any (else the server derives one from the request).
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// Signs claims into a JWT.
    pub fn sign(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let signing_input = format!("{header}.{body}");
        let sig = hmac::sign(&self.key, signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    /// Checks a JWT's signature, audience, issuer and lifetime.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let (signing_input, sig) = token.rsplit_once('.')?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        hmac::verify(&self.key, signing_input.as_bytes(), &sig).ok()?;
        let (header, body) = signing_input.split_once('.')?;
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.get("alg")?.as_str()? != "HS256" {
            return None;
        }
        let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
        let now = unix_now();
        let valid = claims.aud == self.service
            && claims.iss == self.issuer
            && claims.nbf <= now + 60
            && now < claims.exp;
        valid.then_some(claims)
    }

    /// Issues a token to `who` for the requested scopes, granting only what the rules allow.
    pub fn issue(&self, who: &Identity, scopes: &[String], access: &Access) -> TokenResponse {
        let mut grants = Vec::new();
        for scope in scopes.iter().flat_map(|s| s.split(' ')) {
            if let Some(g) = grant_for(scope, who, access) {
                grants.push(g);
            }
        }
        let now = unix_now();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: who.user().unwrap_or("").to_owned(),
            aud: self.service.clone(),
            exp: now + self.expires_in,
            nbf: now.saturating_sub(1),
            iat: now,
            jti: format!("{:032x}", rand::random::<u128>()),
            access: grants,
        };
        let token = self.sign(&claims);
        let issued_at = time::OffsetDateTime::from_unix_timestamp(now as i64)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        TokenResponse {
            access_token: token.clone(),
            token,
            expires_in: self.expires_in,
            issued_at,
        }
    }

    /// The claims of a valid `Authorization: Bearer` token; `Ok(None)` when there is none, an
    /// error when there is one that is invalid or expired.
    pub fn bearer_claims(&self, headers: &HeaderMap) -> Result<Option<Claims>, AuthError> {
        let Some(v) = headers.get(http::header::AUTHORIZATION) else {
            return Ok(None);
        };
        let v = v.to_str().unwrap_or("");
        let Some(token) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        else {
            return Ok(None);
        };
        match self.verify(token.trim()) {
            Some(c) => Ok(Some(c)),
            None => Err(AuthError::Unauthenticated {
                challenge: self.challenge(
                    self.realm.as_deref().unwrap_or(""),
                    None,
                    Some("invalid_token"),
                ),
            }),
        }
    }

    /// A `WWW-Authenticate: Bearer` value.
    pub fn challenge(&self, realm: &str, scope: Option<&str>, error: Option<&str>) -> String {
        let mut c = format!("Bearer realm=\"{realm}\",service=\"{}\"", self.service);
        if let Some(s) = scope {
            c.push_str(&format!(",scope=\"{s}\""));
        }
        if let Some(e) = error {
            c.push_str(&format!(",error=\"{e}\""));
        }
        c
    }

    /// Authorizes a registry request by its bearer token.
    pub fn authorize(
        &self,
        headers: &HeaderMap,
        need: Need<'_>,
        realm: &str,
    ) -> Result<Identity, AuthError> {
        let realm = self.realm.as_deref().unwrap_or(realm);
        let scope = match &need {
            Need::Repo(repo, action) => Some(format!("repository:{repo}:{}", action.as_str())),
            Need::Listing => Some("registry:catalog:*".to_owned()),
            Need::Base => None,
        };
        let claims = match self.bearer_claims(headers) {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Err(AuthError::Unauthenticated {
                    challenge: self.challenge(realm, scope.as_deref(), None),
                })
            }
            Err(_) => {
                return Err(AuthError::Unauthenticated {
                    challenge: self.challenge(realm, scope.as_deref(), Some("invalid_token")),
                })
            }
        };
        match need {
            Need::Base | Need::Listing => Ok(claims.identity()),
            Need::Repo(repo, action) if claims.grants(repo, action) => Ok(claims.identity()),
            Need::Repo(repo, action) => Err(AuthError::InsufficientScope {
                repo: repo.to_owned(),
                action: action.as_str(),
                challenge: self.challenge(realm, scope.as_deref(), Some("insufficient_scope")),
            }),
        }
    }
}

/// What one requested scope (`repository:<name>:<a,b>`) yields for `who`.
fn grant_for(scope: &str, who: &Identity, access: &Access) -> Option<Grant> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    // `repository(plugin)` is a class-qualified type; the class does not matter here.
    let kind = kind.split('(').next().unwrap_or(kind);
    match kind {
        "repository" => {
            RepoName::parse(name).ok()?;
            let requested: Vec<Action> = if actions.split(',').any(|a| a == "*") {
                Action::ALL.to_vec()
            } else {
                actions.split(',').filter_map(Action::parse).collect()
            };
            let granted: Vec<String> = requested
                .into_iter()
                .filter(|a| access.allows(who, name, *a))
                .map(|a| a.as_str().to_owned())
                .collect();
            Some(Grant {
                kind: "repository".into(),
                name: name.into(),
                actions: granted,
            })
        }
        // Listing is filtered per repository later, so anyone may ask.
        "registry" if name == "catalog" => Some(Grant {
            kind: "registry".into(),
            name: "catalog".into(),
            actions: vec!["*".into()],
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AccessRule;

    fn service() -> TokenService {
        TokenService::from_config(&TokenConfig::default()).unwrap()
    }

    fn bearer(t: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", format!("Bearer {t}").parse().unwrap());
        h
    }

    #[test]
    fn tokens_grant_only_what_rules_allow() {
        let s = service();
        let access = Access::new(
            false,
            vec![AccessRule {
                repository: "alice/*".into(),
                users: vec!["alice".into()],
                anonymous: false,
                actions: vec![Action::Pull, Action::Push],
            }],
        );
        let alice = Identity::User("alice".into());
        let scopes =
            vec!["repository:alice/app:pull,push,delete repository:bob/app:pull".to_owned()];
        let t = s.issue(&alice, &scopes, &access).token;
        let h = bearer(&t);
        assert_eq!(
            s.authorize(&h, Need::Repo("alice/app", Action::Push), "r")
                .unwrap(),
            alice
        );
        let e = s
            .authorize(&h, Need::Repo("alice/app", Action::Delete), "r")
            .unwrap_err();
        assert!(matches!(e, AuthError::InsufficientScope { .. }));
        let e = s
            .authorize(&h, Need::Repo("bob/app", Action::Pull), "http://x/token")
            .unwrap_err();
        assert!(e
            .challenge()
            .unwrap()
            .contains("error=\"insufficient_scope\""));
        assert!(e
            .challenge()
            .unwrap()
            .contains("scope=\"repository:bob/app:pull\""));
    }

    #[test]
    fn refuses_forged_expired_and_foreign_tokens() {
        let s = service();
        let other = service();
        let access = Access::new(true, vec![]);
        let t = s
            .issue(&Identity::Anonymous, &["repository:a:pull".into()], &access)
            .token;
        assert!(s.verify(&t).is_some());
        assert!(other.verify(&t).is_none(), "different key");
        let mut claims = s.verify(&t).unwrap();
        claims.exp = unix_now() - 1;
        assert!(s.verify(&s.sign(&claims)).is_none(), "expired");
        claims.exp = unix_now() + 100;
        claims.aud = "elsewhere".into();
        assert!(s.verify(&s.sign(&claims)).is_none(), "audience");
        let tampered = t.replacen('.', ".x", 1);
        assert!(s.verify(&tampered).is_none());
        assert!(matches!(
            s.authorize(&bearer("garbage"), Need::Base, "r"),
            Err(AuthError::Unauthenticated { .. })
        ));
    }
}
