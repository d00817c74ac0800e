//! Building versioned request URIs and turning error responses into [`Error`]s the way
//! moby's client does (`Error response from daemon: <message>`).

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::Response;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::body;
use crate::error::{Error, Result};

/// Characters escaped in a path: image names keep their `/`, `:` and `@` as docker's client
/// sends them (`/images/docker.io/library/busybox:latest/json`).
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'%');

/// A query string under construction. Values are form-encoded (`+` for space) as Go's
/// `url.Values.Encode` does; keys keep the order they were set in.
#[derive(Debug, Default, Clone)]
pub struct Query(Vec<(&'static str, String)>);

impl Query {
    /// An empty query.
    pub fn new() -> Query {
        Query::default()
    }

    /// Adds `key=value`.
    pub fn set(mut self, key: &'static str, value: impl Into<String>) -> Query {
        self.0.push((key, value.into()));
        self
    }

    /// Adds `key=1` when `on`, as the docker client sends booleans.
    pub fn flag(self, key: &'static str, on: bool) -> Query {
        if on {
            self.set(key, "1")
        } else {
            self
        }
    }

    /// Adds `key=value` when a value is given and not empty.
    pub fn opt<V: ToString>(self, key: &'static str, value: Option<V>) -> Query {
        match value.map(|v| v.to_string()) {
            Some(v) if !v.is_empty() => self.set(key, v),
            _ => self,
        }
    }

    /// The encoded query, without the leading `?`.
    pub fn encode(&self) -> String {
        serde_urlencoded::to_string(&self.0).unwrap_or_default()
    }
}

/// `/v<version><path>?<query>`, with the path escaped.
pub fn uri(version: Option<&str>, path: &str, query: &Query) -> String {
    let mut s = String::with_capacity(path.len() + 32);
    if let Some(v) = version {
        s.push_str("/v");
        s.push_str(v);
    }
    s.extend(utf8_percent_encode(path, PATH));
    let q = query.encode();
    if !q.is_empty() {
        s.push('?');
        s.push_str(&q);
    }
    s
}

/// Passes successful responses through; turns status >= 400 into the daemon's error.
pub async fn check(resp: Response<Incoming>, uri: &str) -> Result<Response<Incoming>> {
    let status = resp.status();
    if status.as_u16() < 400 {
        return Ok(resp);
    }
    let is_json = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let bytes = body::collect(resp.into_body()).await.unwrap_or_default();
    Err(error_from_body(status.as_u16(), is_json, &bytes, uri))
}

/// The error a failed response carries, following moby's `checkResponseErr`.
pub fn error_from_body(status: u16, is_json: bool, bytes: &Bytes, uri: &str) -> Error {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    if bytes.is_empty() {
        return Error::Status {
            status,
            message: format!(
                "request returned {status} {reason} for API route and version {uri}, check if the server supports the requested API version"
            ),
        };
    }
    let message = if is_json {
        // Decoded loosely: a body without `message` is still valid JSON to moby.
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(v) if v["message"].as_str().is_some_and(|m| !m.trim().is_empty()) => {
                v["message"].as_str().unwrap_or_default().trim().to_string()
            }
            Ok(_) => format!("API returned a {status} ({reason}) but provided no error-message"),
            Err(e) => format!("Error reading JSON: {e}"),
        }
    } else {
        String::from_utf8_lossy(bytes).trim().to_string()
    };
    Error::Daemon { status, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_versioned_escaped_uris() {
        let q = Query::new()
            .flag("all", true)
            .flag("size", false)
            .opt("limit", Some(3))
            .opt::<String>("filters", None)
            .set("message", "a b&c");
        assert_eq!(
            uri(Some("1.47"), "/containers/json", &q),
            "/v1.47/containers/json?all=1&limit=3&message=a+b%26c"
        );
        assert_eq!(
            uri(
                None,
                "/images/docker.io/library/busybox:latest/json",
                &Query::new()
            ),
            "/images/docker.io/library/busybox:latest/json"
        );
        assert_eq!(
            uri(None, "/containers/a b?", &Query::new()),
            "/containers/a%20b%3F"
        );
    }

    #[test]
    fn error_bodies_like_moby() {
        let e = error_from_body(
            409,
            true,
            &Bytes::from_static(b"{\"message\":\"name taken \"}"),
            "/x",
        );
        assert_eq!(e.to_string(), "Error response from daemon: name taken");
        let e = error_from_body(500, false, &Bytes::from_static(b"plain\n"), "/x");
        assert_eq!(e.to_string(), "Error response from daemon: plain");
        let e = error_from_body(404, false, &Bytes::new(), "/v1.47/nope");
        assert!(e
            .to_string()
            .contains("request returned 404 Not Found for API route and version /v1.47/nope"));
        assert!(e.is_not_found());
        let e = error_from_body(400, true, &Bytes::from_static(b"{}"), "/x");
        assert!(e
            .to_string()
            .contains("API returned a 400 (Bad Request) but provided no error-message"));
    }
}
