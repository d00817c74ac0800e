//! The `berth-registry serve --config FILE` format (TOML). Every section but `[storage]` is
//! optional:
//!
//! ```toml
//! [server]
//! addr = "127.0.0.1:5000"                 # listen address
//! # public_url = "https://reg.example"    # used in the token realm and the UI's pull lines
//!
//! [storage.filesystem]
//! root = "/var/lib/berth-registry"
//!
//! [tls]                                   # serve HTTPS (rustls) instead of HTTP
//! cert = "/etc/berth-registry/cert.pem"   # PEM chain, leaf first
//! key = "/etc/berth-registry/key.pem"     # PEM private key (PKCS#8, PKCS#1 or SEC1)
//!
//! [limits]
//! max_manifest_bytes = 4194304            # larger manifests get 413
//! max_blob_bytes = 10737418240            # larger blobs get 413 (default: no limit)
//! upload_expiry_secs = 604800             # gc removes upload sessions idle this long
//!
//! [auth]
//! mode = "token"                          # "none" (default: anyone may do anything),
//!                                         # "basic" (htpasswd) or "token" (bearer tokens)
//! htpasswd = "/etc/berth-registry/htpasswd"   # bcrypt entries (htpasswd -B)
//!
//! [auth.token]                            # only for mode = "token"
//! service = "berth-registry"
//! issuer = "berth-registry"
//! expires_in = 300
//! # realm = "https://reg.example/token"   # default: <this server>/token
//! # secret_file = "/etc/berth-registry/token.key"  # HMAC key (>= 32 bytes); default: random
//!
//! [[auth.access]]                         # rules add up; no rule, no access
//! repository = "*"                        # '*' matches any run of characters, '/' included
//! anonymous = true                        # applies to requests without credentials
//! actions = ["pull"]
//!
//! [[auth.access]]
//! repository = "team/*"
//! users = ["alice", "bob"]                # "*" = any authenticated user
//! actions = ["pull", "push", "delete"]
//!
//! [ui]
//! enabled = true
//! title = "berth registry"
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::auth::Action;
use crate::ErrorKind;

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML of this format.
    #[error("invalid config file {path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: toml::de::Error,
    },
    /// A value is out of range or inconsistent.
    #[error("invalid config: {0}")]
    Invalid(&'static str),
}

impl ConfigError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ConfigError::Read { .. } => ErrorKind::NotFound,
            _ => ErrorKind::InvalidArgument,
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listener settings.
    #[serde(default)]
    pub server: ServerConfig,
    /// Where content lives.
    pub storage: StorageConfig,
    /// HTTPS.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Authentication and access rules.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Size limits and expiry.
    #[serde(default)]
    pub limits: Limits,
    /// The web UI.
    #[serde(default)]
    pub ui: UiConfig,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address.
    #[serde(default = "default_addr")]
    pub addr: SocketAddr,
    /// The URL clients reach this server at, when not the request's `Host`.
    #[serde(default)]
    pub public_url: Option<String>,
}

fn default_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5000))
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: default_addr(),
            public_url: None,
        }
    }
}

/// `[storage]`: exactly one driver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// The filesystem driver.
    pub filesystem: FsConfig,
}

/// `[storage.filesystem]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FsConfig {
    /// The root directory.
    pub root: PathBuf,
}

/// `[tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// How clients authenticate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No authentication; everyone may do everything.
    #[default]
    None,
    /// HTTP Basic against the htpasswd file.
    Basic,
    /// Bearer tokens from the built-in token endpoint.
    Token,
}

/// `[auth]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The mode.
    #[serde(default)]
    pub mode: AuthMode,
    /// The htpasswd file (bcrypt entries).
    #[serde(default)]
    pub htpasswd: Option<PathBuf>,
    /// `[auth.token]`.
    #[serde(default)]
    pub token: TokenConfig,
    /// Access rules.
    #[serde(default)]
    pub access: Vec<AccessRule>,
}

/// `[auth.token]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The `service` clients name and tokens are issued for.
    #[serde(default = "default_service")]
    pub service: String,
    /// The tokens' issuer.
    #[serde(default = "default_service")]
    pub issuer: String,
    /// Token lifetime in seconds.
    #[serde(default = "default_expiry")]
    pub expires_in: u64,
    /// The token endpoint URL announced in challenges.
    #[serde(default)]
    pub realm: Option<String>,
    /// A file holding the HMAC signing key.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

fn default_service() -> String {
    "berth-registry".to_owned()
}

fn default_expiry() -> u64 {
    300
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            service: default_service(),
            issuer: default_service(),
            expires_in: default_expiry(),
            realm: None,
            secret_file: None,
        }
    }
}

/// One `[[auth.access]]` rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    /// Repository pattern (`*` matches anything).
    pub repository: String,
    /// Users it applies to (`*` = any authenticated user).
    #[serde(default)]
    pub users: Vec<String>,
    /// Whether it also applies to unauthenticated requests.
    #[serde(default)]
    pub anonymous: bool,
    /// What it allows.
    pub actions: Vec<Action>,
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest manifest accepted.
    #[serde(default = "default_manifest_limit")]
    pub max_manifest_bytes: u64,
    /// Largest blob accepted.
    #[serde(default)]
    pub max_blob_bytes: Option<u64>,
    /// Idle upload sessions older than this are removed by `gc`.
    #[serde(default = "default_upload_expiry")]
    pub upload_expiry_secs: u64,
}

fn default_manifest_limit() -> u64 {
    4 * 1024 * 1024
}

fn default_upload_expiry() -> u64 {
    7 * 24 * 3600
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_manifest_bytes: default_manifest_limit(),
            max_blob_bytes: None,
            upload_expiry_secs: default_upload_expiry(),
        }
    }
}

/// `[ui]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// Serve the web pages.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The site title.
    #[serde(default = "default_title")]
    pub title: String,
}

fn yes() -> bool {
    true
}

fn default_title() -> String {
    "berth registry".to_owned()
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            enabled: true,
            title: default_title(),
        }
    }
}

impl Config {
    /// An anonymous registry (no auth, no TLS) on `addr` storing under `root`.
    pub fn anonymous(addr: SocketAddr, root: impl Into<PathBuf>) -> Config {
        Config {
            server: ServerConfig {
                addr,
                public_url: None,
            },
            storage: StorageConfig {
                filesystem: FsConfig { root: root.into() },
            },
            tls: None,
            auth: AuthConfig::default(),
            limits: Limits::default(),
            ui: UiConfig::default(),
        }
    }

    /// Parses TOML text.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let c: Config = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })?;
        c.validate()?;
        Ok(c)
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.auth.mode != AuthMode::None && self.auth.htpasswd.is_none() {
            return Err(ConfigError::Invalid(
                "auth.mode basic/token needs auth.htpasswd",
            ));
        }
        if self.auth.token.expires_in == 0 {
            return Err(ConfigError::Invalid(
                "auth.token.expires_in must be positive",
            ));
        }
        if self.limits.max_manifest_bytes == 0 {
            return Err(ConfigError::Invalid(
                "limits.max_manifest_bytes must be positive",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let doc = include_str!("config.rs");
        let example: String = doc
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!").trim_start_matches(' '))
            .collect::<Vec<_>>()
            .join("\n");
        let c = Config::parse(&example, Path::new("example.toml")).unwrap();
        assert_eq!(c.auth.mode, AuthMode::Token);
        assert_eq!(c.auth.access.len(), 2);
        assert_eq!(
            c.auth.access[1].actions,
            vec![Action::Pull, Action::Push, Action::Delete]
        );
        assert_eq!(c.limits.max_blob_bytes, Some(10737418240));
        assert!(c.tls.is_some());
    }

    #[test]
    fn refuses_unknown_keys_and_inconsistent_auth() {
        let bad = "[storage.filesystem]\nroot='/x'\n[server]\nadress='1.2.3.4:5'\n";
        assert!(matches!(
            Config::parse(bad, Path::new("c")),
            Err(ConfigError::Parse { .. })
        ));
        let noht = "[storage.filesystem]\nroot='/x'\n[auth]\nmode='basic'\n";
        assert!(matches!(
            Config::parse(noht, Path::new("c")),
            Err(ConfigError::Invalid(_))
        ));
        let min = "[storage.filesystem]\nroot='/x'\n";
        let c = Config::parse(min, Path::new("c")).unwrap();
        assert_eq!(c.auth.mode, AuthMode::None);
        assert_eq!(c.server.addr.port(), 5000);
    }
}
