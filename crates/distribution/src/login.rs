//! `POST /auth` (`docker login`): checks credentials against a registry's `/v2/` (Basic) or
//! its token server (Bearer), and returns an identity token when the server issues one.

use std::sync::Arc;

use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};

use crate::auth::Credentials;
use crate::auth::{AuthConfig, Challenge};
use crate::error::{Error, Result};
use crate::registry::{AuthState, Registries};

/// The registry a login's `serveraddress` names: `https://index.docker.io/v1/` and friends
/// are `docker.io`; a scheme and path are dropped.
pub fn server_domain(server: &str) -> String {
    let s = server.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or("").to_ascii_lowercase();
    match host.as_str() {
        "" | "index.docker.io" | "docker.io" | "registry-1.docker.io" => "docker.io".into(),
        h => h.to_string(),
    }
}

impl Registries {
    /// Checks `creds` against the registry `server`; returns an identity token if the token
    /// server gave one (the docker CLI stores it instead of the password).
    pub async fn login(
        self: &Arc<Self>,
        server: &str,
        creds: AuthConfig,
    ) -> Result<Option<String>> {
        let domain = server_domain(server);
        let ep = self
            .origin(&domain, Arc::new(AuthState::new(Some(creds.clone()))))
            .await?;
        let url = ep.url("/v2/");
        let resp = ep
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| Error::transport("GET", &url, e))?;
        if resp.status().is_success() {
            return Ok(None);
        }
        let challenge = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(Challenge::parse);
        match challenge {
            Some(Challenge::Basic) => {
                let mut rb = ep.client.get(&url);
                if let Some(b) = creds.basic() {
                    rb = rb.header(AUTHORIZATION, b);
                }
                let resp = rb
                    .send()
                    .await
                    .map_err(|e| Error::transport("GET", &url, e))?;
                if resp.status().is_success() {
                    Ok(None)
                } else {
                    Err(ep.status_error(&reqwest::Method::GET, resp).await)
                }
            }
            Some(Challenge::Bearer { realm, service, .. }) => {
                let (_, refresh) = ep
                    .fetch_token(&realm, service.as_deref(), &[], true)
                    .await?;
                Ok(refresh)
            }
            None => Err(ep.status_error(&reqwest::Method::GET, resp).await),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers() {
        assert_eq!(server_domain("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(server_domain(""), "docker.io");
        assert_eq!(server_domain("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(
            server_domain("https://Reg.Example:443/v2/"),
            "reg.example:443"
        );
    }
}
