//! Authentication and authorization.
//!
//! - An **identity** is a user name from the htpasswd file, or anonymous.
//! - **Access rules** (`[[auth.access]]`) grant **actions** (pull, push, delete) on repositories
//!   matching a pattern to users; the rules add up.
//! - In `basic` mode every request carries HTTP Basic credentials (checked with bcrypt, positive
//!   results cached), in `token` mode a bearer token from the built-in token endpoint
//!   ([`token`]) that lists the granted `repository:<name>:<actions>` scopes.
//! - [`Authenticator::authorize`] answers one request: the identity, or the failure with the
//!   `WWW-Authenticate` challenge the client needs.

pub mod htpasswd;
pub mod token;

use std::path::PathBuf;

use http::HeaderMap;
use serde::Deserialize;

use crate::config::{AccessRule, AuthConfig, AuthMode};
use crate::ErrorKind;

pub use htpasswd::Htpasswd;
pub use token::{Claims, TokenService};

/// An action on a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Read manifests and blobs.
    Pull,
    /// Write blobs, manifests and tags.
    Push,
    /// Delete manifests, tags and blobs.
    Delete,
}

impl Action {
    /// The scope spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }

    /// Parses a scope action (`*` is handled by the caller).
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "pull" => Some(Action::Pull),
            "push" => Some(Action::Push),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }

    /// All actions.
    pub const ALL: [Action; 3] = [Action::Pull, Action::Push, Action::Delete];
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// No credentials.
    Anonymous,
    /// An htpasswd user.
    User(String),
}

impl Identity {
    /// The user name, if any.
    pub fn user(&self) -> Option<&str> {
        match self {
            Identity::Anonymous => None,
            Identity::User(u) => Some(u),
        }
    }
}

/// What a request needs.
#[derive(Debug, Clone)]
pub enum Need<'a> {
    /// `GET /v2/`: only that credentials, if any, are valid.
    Base,
    /// An action on a repository.
    Repo(&'a str, Action),
    /// Listing repositories (`/v2/_catalog`, search, the UI): the result is filtered later.
    Listing,
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No or invalid credentials; the client should authenticate (401).
    #[error("authentication required")]
    Unauthenticated {
        /// The `WWW-Authenticate` value.
        challenge: String,
    },
    /// Credentials were given but are wrong (401).
    #[error("invalid credentials for user {user:?}")]
    BadCredentials {
        /// The user named.
        user: String,
        /// The `WWW-Authenticate` value.
        challenge: String,
    },
    /// An `Authorization: Basic` header that does not decode to `user:password` (401).
    #[error("malformed Authorization header: Basic credentials must be base64 of user:password")]
    Malformed {
        /// The `WWW-Authenticate` value.
        challenge: String,
    },
    /// A token was given but does not grant the action (401 with `insufficient_scope`).
    #[error("token does not grant {action} on {repo}")]
    InsufficientScope {
        /// The repository.
        repo: String,
        /// The action.
        action: &'static str,
        /// The `WWW-Authenticate` value.
        challenge: String,
    },
    /// Authenticated but not permitted (403).
    #[error("requested access to the resource is denied: user {user} may not {action} repository {repo} (scope repository:{repo}:{action})")]
    Denied {
        /// The user.
        user: String,
        /// The repository.
        repo: String,
        /// The action.
        action: &'static str,
    },
    /// The htpasswd file or key could not be loaded.
    #[error("cannot load {path}: {reason}")]
    Load {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl AuthError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuthError::Load { .. } => ErrorKind::InvalidArgument,
            _ => ErrorKind::Unauthorized,
        }
    }

    /// The `WWW-Authenticate` header to send, if any.
    pub fn challenge(&self) -> Option<&str> {
        match self {
            AuthError::Unauthenticated { challenge }
            | AuthError::Malformed { challenge }
            | AuthError::BadCredentials { challenge, .. }
            | AuthError::InsufficientScope { challenge, .. } => Some(challenge),
            _ => None,
        }
    }
}

/// `*` matches any run of characters (including `/`); everything else literally.
pub fn pattern_matches(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((head, rest)) => {
            let Some(tail) = s.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| pattern_matches(rest, &tail[i..]))
        }
    }
}

/// The access rules.
#[derive(Debug, Clone)]
pub struct Access {
    open: bool,
    rules: Vec<AccessRule>,
}

impl Access {
    /// Rules from the config; `open` (mode none) allows everything to everyone.
    pub fn new(open: bool, rules: Vec<AccessRule>) -> Access {
        Access { open, rules }
    }

    /// Whether `who` may do `action` on `repo`.
    pub fn allows(&self, who: &Identity, repo: &str, action: Action) -> bool {
        self.open
            || self.rules.iter().any(|r| {
                let applies = match who {
                    Identity::Anonymous => r.anonymous,
                    // A user may always do what anonymous requests may.
                    Identity::User(u) => r.anonymous || r.users.iter().any(|x| x == "*" || x == u),
                };
                applies && r.actions.contains(&action) && pattern_matches(&r.repository, repo)
            })
    }

    /// Whether any rule lets anonymous requests do anything.
    pub fn anonymous_anything(&self) -> bool {
        self.open
            || self
                .rules
                .iter()
                .any(|r| r.anonymous && !r.actions.is_empty())
    }
}

/// Decides who a request is and whether it may proceed.
pub struct Authenticator {
    mode: AuthMode,
    access: Access,
    htpasswd: Option<Htpasswd>,
    tokens: Option<TokenService>,
}

impl Authenticator {
    /// Loads the htpasswd file and the token key the config names.
    pub fn from_config(cfg: &AuthConfig) -> Result<Authenticator, AuthError> {
        let htpasswd = match &cfg.htpasswd {
            Some(p) if cfg.mode != AuthMode::None => Some(Htpasswd::load(p)?),
            _ => None,
        };
        let tokens = match cfg.mode {
            AuthMode::Token => Some(TokenService::from_config(&cfg.token)?),
            _ => None,
        };
        Ok(Authenticator {
            mode: cfg.mode,
            access: Access::new(cfg.mode == AuthMode::None, cfg.access.clone()),
            htpasswd,
            tokens,
        })
    }

    /// The mode.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// The access rules.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The token service (token mode only).
    pub fn tokens(&self) -> Option<&TokenService> {
        self.tokens.as_ref()
    }

    /// Whether `pass` is `user`'s htpasswd password.
    pub async fn check_password(&self, user: &str, pass: &str) -> bool {
        match &self.htpasswd {
            Some(h) => h.verify(user, pass).await,
            None => false,
        }
    }

    /// Checks `Authorization: Basic` credentials; `Ok(None)` when there are none.
    pub async fn basic_identity(&self, headers: &HeaderMap) -> Result<Option<String>, AuthError> {
        let (user, pass) = match htpasswd::basic_credentials(headers) {
            htpasswd::Basic::Absent => return Ok(None),
            htpasswd::Basic::Malformed => {
                return Err(AuthError::Malformed {
                    challenge: self.basic_challenge(),
                })
            }
            htpasswd::Basic::Credentials(user, pass) => (user, pass),
        };
        let ok = match &self.htpasswd {
            Some(h) => h.verify(&user, &pass).await,
            None => false,
        };
        if ok {
            Ok(Some(user))
        } else {
            Err(AuthError::BadCredentials {
                user,
                challenge: self.basic_challenge(),
            })
        }
    }

    fn basic_challenge(&self) -> String {
        "Basic realm=\"berth-registry\"".to_owned()
    }

    /// Authorizes one registry request. `realm` is the token endpoint URL for challenges.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        need: Need<'_>,
        realm: &str,
    ) -> Result<Identity, AuthError> {
        match self.mode {
            AuthMode::None => Ok(Identity::Anonymous),
            AuthMode::Basic => self.authorize_basic(headers, need).await,
            AuthMode::Token => {
                let tokens = self
                    .tokens
                    .as_ref()
                    .expect("token mode has a token service");
                match tokens.authorize(headers, need, realm) {
                    // A signed-in user whose rules do not allow the action: no token would
                    // grant it, so asking them to authenticate again (401) would only suggest
                    // a wrong password. Anonymous tokens, and users whose token merely lacks
                    // a scope they may have, still get the challenge.
                    Err(AuthError::InsufficientScope { repo, action, .. })
                        if self.denied_user(headers, tokens, &repo, action) =>
                    {
                        Err(AuthError::Denied {
                            user: tokens
                                .bearer_claims(headers)
                                .ok()
                                .flatten()
                                .map(|c| c.sub)
                                .unwrap_or_default(),
                            repo,
                            action,
                        })
                    }
                    other => other,
                }
            }
        }
    }

    /// Whether the bearer token of `headers` names a user whom the access rules refuse
    /// `action` on `repo`.
    fn denied_user(
        &self,
        headers: &HeaderMap,
        tokens: &TokenService,
        repo: &str,
        action: &str,
    ) -> bool {
        let Some(action) = Action::parse(action) else {
            return false;
        };
        match tokens.bearer_claims(headers) {
            Ok(Some(claims)) => match claims.identity() {
                who @ Identity::User(_) => !self.access.allows(&who, repo, action),
                Identity::Anonymous => false,
            },
            _ => false,
        }
    }

    async fn authorize_basic(
        &self,
        headers: &HeaderMap,
        need: Need<'_>,
    ) -> Result<Identity, AuthError> {
        let who = match self.basic_identity(headers).await? {
            Some(u) => Identity::User(u),
            None => Identity::Anonymous,
        };
        let unauthenticated = || AuthError::Unauthenticated {
            challenge: self.basic_challenge(),
        };
        match need {
            Need::Base | Need::Listing => {
                if who == Identity::Anonymous && !self.access.anonymous_anything() {
                    return Err(unauthenticated());
                }
                Ok(who)
            }
            Need::Repo(repo, action) => {
                if self.access.allows(&who, repo, action) {
                    return Ok(who);
                }
                match who {
                    Identity::Anonymous => Err(unauthenticated()),
                    Identity::User(user) => Err(AuthError::Denied {
                        user,
                        repo: repo.to_owned(),
                        action: action.as_str(),
                    }),
                }
            }
        }
    }

    /// The identity to filter listings (search, UI) by: Basic credentials, a bearer token's
    /// subject, or anonymous.
    pub async fn listing_identity(&self, headers: &HeaderMap) -> Result<Identity, AuthError> {
        if self.mode == AuthMode::None {
            return Ok(Identity::Anonymous);
        }
        if let Some(u) = self.basic_identity(headers).await? {
            return Ok(Identity::User(u));
        }
        if let Some(t) = &self.tokens {
            if let Some(claims) = t.bearer_claims(headers)? {
                return Ok(claims.identity());
            }
        }
        Ok(Identity::Anonymous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(pattern_matches("*", "a/b"));
        assert!(pattern_matches("team/*", "team/x/y"));
        assert!(!pattern_matches("team/*", "teams/x"));
        assert!(pattern_matches("a*c*e", "abcde"));
        assert!(!pattern_matches("a*c", "abd"));
        assert!(pattern_matches("exact", "exact"));
    }

    #[test]
    fn rules_add_up_per_identity() {
        let rule = |repo: &str, users: &[&str], anonymous, actions: &[Action]| AccessRule {
            repository: repo.into(),
            users: users.iter().map(|s| s.to_string()).collect(),
            anonymous,
            actions: actions.to_vec(),
        };
        let a = Access::new(
            false,
            vec![
                rule("*", &[], true, &[Action::Pull]),
                rule("alice/*", &["alice"], false, &[Action::Push]),
                rule("shared", &["*"], false, &[Action::Push, Action::Delete]),
            ],
        );
        let alice = Identity::User("alice".into());
        let bob = Identity::User("bob".into());
        assert!(a.allows(&Identity::Anonymous, "x", Action::Pull));
        assert!(!a.allows(&Identity::Anonymous, "x", Action::Push));
        assert!(a.allows(&alice, "alice/app", Action::Push));
        assert!(!a.allows(&bob, "alice/app", Action::Push));
        assert!(a.allows(&bob, "shared", Action::Delete));
        // Users may do what anonymous requests may.
        assert!(a.allows(&bob, "x", Action::Pull));
        assert!(!a.allows(&bob, "x", Action::Delete));
        assert!(Access::new(true, vec![]).allows(&Identity::Anonymous, "x", Action::Delete));
    }
}
