//! HTTP clients per registry host (TLS trust from certs.d, unverified TLS for insecure hosts),
//! endpoint resolution (HTTPS, or plain HTTP for insecure registries that do not speak TLS;
//! mirrors before the origin) and authenticated requests.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};

use crate::auth::Credentials;
use crate::auth::{error_body, AuthConfig, Challenge, TokenResponse};
use crate::error::{method_word, Error, Result};
use crate::options::RegistryOptions;

/// The registry Docker Hub's API is served from.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// The host serving the v2 API of `domain` (`docker.io` is `registry-1.docker.io`).
pub fn api_host(domain: &str) -> &str {
    match domain {
        "docker.io" | "index.docker.io" => DOCKER_HUB_API,
        d => d,
    }
}

/// Shared state of the daemon's registry client: settings, HTTP clients per host, and what
/// was learnt about each host (does it speak TLS).
pub struct Registries {
    pub(crate) opts: RegistryOptions,
    clients: Mutex<HashMap<String, (Fingerprint, reqwest::Client)>>,
    schemes: Mutex<HashMap<String, &'static str>>,
}

/// What certs.d held for a host when its client was built (names and mtimes).
type Fingerprint = Vec<(String, Option<std::time::SystemTime>)>;

impl Registries {
    /// A client with `opts`.
    pub fn new(opts: RegistryOptions) -> Registries {
        Registries {
            opts,
            clients: Mutex::new(HashMap::new()),
            schemes: Mutex::new(HashMap::new()),
        }
    }

    /// The settings.
    pub fn options(&self) -> &RegistryOptions {
        &self.opts
    }

    /// True when `host` is treated as insecure: listed, or on loopback without a certs.d CA
    /// (installing a CA for a host asks for it to be verified).
    pub(crate) fn insecure(&self, host: &str) -> bool {
        if self.opts.is_listed_insecure(host) {
            return true;
        }
        self.opts.is_insecure(host) && !self.certs_dir(host).join("ca.crt").exists()
    }

    fn certs_dir(&self, host: &str) -> std::path::PathBuf {
        // Docker names IPv6 hosts' dirs without brackets too; keep the name as given.
        self.opts.certs_dir.join(host.replace(['/', '\\'], "_"))
    }

    /// The HTTP client for `host` (built once per certs.d state).
    pub(crate) fn client(&self, host: &str) -> Result<reqwest::Client> {
        let dir = self.certs_dir(host);
        let fp = fingerprint(&dir);
        let insecure = self.insecure(host);
        let key = format!("{host}|{insecure}");
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((f, c)) = clients.get(&key) {
            if *f == fp {
                return Ok(c.clone());
            }
        }
        let c = build_client(&self.opts, &dir, insecure)?;
        clients.insert(key, (fp, c.clone()));
        Ok(c)
    }

    /// The origin endpoint of `domain`, with its scheme found (HTTPS, or HTTP for an insecure
    /// registry that does not answer TLS).
    pub(crate) async fn origin(&self, domain: &str, auth: Arc<AuthState>) -> Result<Endpoint> {
        let host = api_host(domain).to_string();
        let client = self.client(&host)?;
        let known = self
            .schemes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&host)
            .copied();
        let scheme = match known {
            Some(s) => s,
            None => {
                let s = self.probe(&client, &host).await?;
                self.schemes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(host.clone(), s);
                s
            }
        };
        Ok(Endpoint {
            base: format!("{scheme}://{host}"),
            host,
            mirror_ns: None,
            client,
            auth,
        })
    }

    /// `https`, unless the host is insecure and HTTPS fails at the transport level while
    /// plain HTTP answers.
    async fn probe(&self, client: &reqwest::Client, host: &str) -> Result<&'static str> {
        let https = format!("https://{host}/v2/");
        match client.get(&https).send().await {
            Ok(_) => Ok("https"),
            Err(e) if self.insecure(host) => {
                tracing::debug!(host, error = %e, "HTTPS failed; trying plain HTTP (insecure registry)");
                let http = format!("http://{host}/v2/");
                match client.get(&http).send().await {
                    Ok(_) => Ok("http"),
                    Err(e2) => Err(Error::transport("GET", &http, e2)),
                }
            }
            Err(e) => Err(Error::transport("GET", &https, e)),
        }
    }

    /// Endpoints for pulling from `domain`: every mirror, then the origin (resolved lazily by
    /// the caller when the mirrors fail).
    pub(crate) fn mirrors(&self, domain: &str) -> Result<Vec<Endpoint>> {
        let mut out = Vec::new();
        for m in &self.opts.mirrors {
            let url = reqwest::Url::parse(m).map_err(|e| Error::Config {
                reason: format!("registry mirror {m:?}: {e}"),
            })?;
            let Some(h) = url.host_str() else { continue };
            let host = match url.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            };
            if host == api_host(domain) {
                continue;
            }
            out.push(Endpoint {
                base: m.trim_end_matches('/').to_string(),
                client: self.client(&host)?,
                host,
                mirror_ns: Some(domain.to_string()),
                // Mirrors never see the user's credentials (they are for the origin).
                auth: Arc::new(AuthState::new(None)),
            });
        }
        Ok(out)
    }
}

fn fingerprint(dir: &Path) -> Fingerprint {
    let mut out: Fingerprint = std::fs::read_dir(dir)
        .map(|it| {
            it.flatten()
                .map(|e| {
                    let m = e.metadata().ok().and_then(|m| m.modified().ok());
                    (e.file_name().to_string_lossy().into_owned(), m)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Config {
        reason: format!("reading {}: {e}", path.display()),
    })
}

fn build_client(opts: &RegistryOptions, dir: &Path, insecure: bool) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(opts.user_agent.clone())
        .connect_timeout(Duration::from_secs(30))
        // A stalled transfer fails (and is resumed) instead of hanging the pull.
        .read_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .redirect(reqwest::redirect::Policy::limited(10))
        .danger_accept_invalid_certs(insecure);
    let mut cert_file = None;
    let mut key_file = None;
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut names: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for p in names {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".crt") {
                let pem = read(&p)?;
                for c in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::Config {
                    reason: format!("{}: not a PEM certificate: {e}", p.display()),
                })? {
                    b = b.add_root_certificate(c);
                }
            } else if name.ends_with(".cert") {
                cert_file = Some(p);
            } else if name.ends_with(".key") {
                key_file = Some(p);
            }
        }
    }
    match (cert_file, key_file) {
        (Some(c), Some(k)) => {
            let mut pem = read(&c)?;
            pem.push(b'\n');
            pem.extend(read(&k)?);
            let id = reqwest::Identity::from_pem(&pem).map_err(|e| Error::Config {
                reason: format!("{} + {}: {e}", c.display(), k.display()),
            })?;
            b = b.identity(id);
        }
        (Some(p), None) | (None, Some(p)) => {
            return Err(Error::Config {
                reason: format!(
                    "{}: a client certificate needs both a .cert and a .key file",
                    p.display()
                ),
            })
        }
        (None, None) => {}
    }
    b.build().map_err(|e| Error::Config {
        reason: format!("building the HTTP client: {}", crate::error::root_cause(&e)),
    })
}

/// The credentials of one operation and what the registry asked for so far.
pub(crate) struct AuthState {
    pub(crate) creds: Option<AuthConfig>,
    challenge: Mutex<Option<Challenge>>,
    tokens: Mutex<HashMap<String, String>>,
}

impl AuthState {
    pub(crate) fn new(creds: Option<AuthConfig>) -> AuthState {
        AuthState {
            creds,
            challenge: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
        }
    }
}

/// One base URL requests go to, with its client and auth state.
#[derive(Clone)]
pub(crate) struct Endpoint {
    /// `scheme://host[:port][/prefix]`, no trailing slash.
    pub(crate) base: String,
    /// `host[:port]`.
    pub(crate) host: String,
    /// For a mirror: the origin registry, sent as `?ns=` (containerd's convention) so one
    /// mirror can serve several registries.
    pub(crate) mirror_ns: Option<String>,
    pub(crate) client: reqwest::Client,
    pub(crate) auth: Arc<AuthState>,
}

/// A request to send: method, path under the endpoint (`/v2/…`), headers, optional body.
pub(crate) struct Req<'a> {
    pub method: Method,
    pub path: &'a str,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
    /// Token scopes (`repository:x:pull`).
    pub scopes: &'a [String],
}

impl<'a> Req<'a> {
    pub(crate) fn new(method: Method, path: &'a str, scopes: &'a [String]) -> Req<'a> {
        Req {
            method,
            path,
            headers: HeaderMap::new(),
            body: None,
            scopes,
        }
    }

    pub(crate) fn header(mut self, k: reqwest::header::HeaderName, v: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(v) {
            self.headers.insert(k, v);
        }
        self
    }
}

impl Endpoint {
    /// The full URL of `path` (a path under the host, or an absolute URL from `Location`).
    pub(crate) fn url(&self, path: &str) -> String {
        let mut u = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        };
        if let Some(ns) = &self.mirror_ns {
            u.push(if u.contains('?') { '&' } else { '?' });
            u.push_str("ns=");
            u.push_str(ns);
        }
        u
    }

    /// Sends `req`, answering one auth challenge if the registry asks (and the body can be
    /// sent again). Any status comes back; the caller checks it.
    pub(crate) async fn send(&self, req: Req<'_>) -> Result<reqwest::Response> {
        let url = self.url(req.path);
        let mut tried_auth = false;
        loop {
            let auth = self.auth_header(req.scopes).await?;
            let mut rb = self
                .client
                .request(req.method.clone(), &url)
                .headers(req.headers.clone());
            if let Some(a) = &auth {
                rb = rb.header(AUTHORIZATION, a);
            }
            if let Some(b) = &req.body {
                rb = rb.body(b.clone());
            }
            let resp = rb
                .send()
                .await
                .map_err(|e| Error::transport(req.method.as_str(), &url, e))?;
            if resp.status() != StatusCode::UNAUTHORIZED || tried_auth {
                return Ok(resp);
            }
            let Some(ch) = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(Challenge::parse)
            else {
                return Ok(resp);
            };
            let basic = ch == Challenge::Basic;
            *self
                .auth
                .challenge
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(ch);
            if basic && self.auth.creds.as_ref().and_then(|c| c.basic()).is_none() {
                return Ok(resp);
            }
            self.auth
                .tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
            tried_auth = true;
        }
    }

    /// Sends a request that may carry a streamed (not repeatable) body: the auth header is
    /// the one an earlier request of this session established.
    pub(crate) async fn send_stream(
        &self,
        method: Method,
        path: &str,
        headers: HeaderMap,
        body: reqwest::Body,
        scopes: &[String],
    ) -> Result<reqwest::Response> {
        let url = self.url(path);
        let mut rb = self.client.request(method.clone(), &url).headers(headers);
        if let Some(a) = self.auth_header(scopes).await? {
            rb = rb.header(AUTHORIZATION, a);
        }
        rb.body(body)
            .send()
            .await
            .map_err(|e| Error::transport(method.as_str(), &url, e))
    }

    /// The `Authorization` value for the current challenge, fetching a token if needed.
    async fn auth_header(&self, scopes: &[String]) -> Result<Option<String>> {
        let ch = self
            .auth
            .challenge
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match ch {
            None => Ok(None),
            Some(Challenge::Basic) => Ok(self.auth.creds.as_ref().and_then(|c| c.basic())),
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => {
                let mut scopes: Vec<String> = scopes.to_vec();
                if scopes.is_empty() {
                    scopes.extend(scope);
                }
                let key = scopes.join(" ");
                if let Some(t) = self
                    .auth
                    .tokens
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&key)
                {
                    return Ok(Some(format!("Bearer {t}")));
                }
                let t = self
                    .fetch_token(&realm, service.as_deref(), &scopes, false)
                    .await?
                    .0;
                self.auth
                    .tokens
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, t.clone());
                Ok(Some(format!("Bearer {t}")))
            }
        }
    }

    /// Asks the token server for a token: with the identity token (OAuth2 refresh grant), the
    /// password (Basic), or anonymously. Returns the token and any refresh token.
    pub(crate) async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        offline: bool,
    ) -> Result<(String, Option<String>)> {
        let creds = self.auth.creds.as_ref();
        if let Some(t) = creds.map(|c| &c.registrytoken).filter(|t| !t.is_empty()) {
            return Ok((t.clone(), None));
        }
        let resp = match creds.map(|c| &c.identitytoken).filter(|t| !t.is_empty()) {
            Some(refresh) => {
                let mut form = vec![
                    ("grant_type", "refresh_token".to_string()),
                    ("refresh_token", refresh.clone()),
                    ("client_id", "berth".to_string()),
                ];
                if let Some(s) = service {
                    form.push(("service", s.to_string()));
                }
                if !scopes.is_empty() {
                    form.push(("scope", scopes.join(" ")));
                }
                self.client
                    .post(realm)
                    .form(&form)
                    .send()
                    .await
                    .map_err(|e| Error::transport("POST", realm, e))?
            }
            None => {
                let mut q: Vec<(&str, String)> = Vec::new();
                if let Some(s) = service {
                    q.push(("service", s.to_string()));
                }
                for s in scopes {
                    q.push(("scope", s.clone()));
                }
                if offline {
                    q.push(("offline_token", "true".into()));
                    q.push(("client_id", "berth".into()));
                }
                let mut rb = self.client.get(realm).query(&q);
                if let Some(b) = creds.and_then(|c| c.basic()) {
                    rb = rb.header(AUTHORIZATION, b);
                }
                rb.send()
                    .await
                    .map_err(|e| Error::transport("GET", realm, e))?
            }
        };
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| Error::transport("GET", realm, e))?;
        if !status.is_success() {
            let (_, msg) = error_body(&body);
            return Err(self.unauthorized(&msg, status.as_u16()));
        }
        let tr: TokenResponse = serde_json::from_slice(&body).map_err(|e| Error::Invalid {
            what: format!("token from {realm}"),
            reason: e.to_string(),
        })?;
        let token = tr.bearer().ok_or_else(|| Error::Invalid {
            what: format!("token from {realm}"),
            reason: "no token in the answer".into(),
        })?;
        let refresh = (!tr.refresh_token.is_empty()).then(|| tr.refresh_token.clone());
        Ok((token.to_string(), refresh))
    }

    /// The error for refused credentials, worded for who was refused.
    pub(crate) fn unauthorized(&self, msg: &str, status: u16) -> Error {
        let msg = if msg.is_empty() {
            format!("HTTP {status}")
        } else {
            msg.to_string()
        };
        let message = match self.auth.creds.as_ref().filter(|c| !c.username.is_empty()) {
            Some(c) => format!(
                "unauthorized: registry {} refused the credentials of user {:?} (incorrect username or password?): {msg}",
                self.host, c.username
            ),
            None => format!(
                "unauthorized: registry {} requires authentication: {msg}; log in with `docker login {}` (or `berth login`)",
                self.host, self.host
            ),
        };
        Error::Unauthorized { message }
    }

    /// Turns a non-success response into an error (reading the registry's error body).
    pub(crate) async fn status_error(&self, method: &Method, resp: reqwest::Response) -> Error {
        let status = resp.status().as_u16();
        let url = resp.url().to_string();
        let body = resp.bytes().await.unwrap_or_default();
        let (code, message) = error_body(&body);
        if status == 401 {
            return self.unauthorized(&message, status);
        }
        Error::Status {
            method: method_word(method.as_str()),
            url,
            status,
            code,
            message,
        }
    }
}
