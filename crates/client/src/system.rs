//! System endpoints: `/_ping` (version negotiation), `/version`, `/info`, `/events`.

use std::collections::BTreeMap;

use api_types::filters::Filters;
use api_types::{SystemInfo, SystemVersion};
use bytes::Bytes;
use hyper::Method;
use serde::{Deserialize, Serialize};

use crate::body::{self, BodyReader, JsonStream};
use crate::error::{Error, Result};
use crate::request::{self, Query};
use crate::{build, transport, Client};

/// What `/_ping` announced in its headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PingInfo {
    /// `Api-Version`: the newest version the daemon serves (empty if not announced).
    pub api_version: String,
    /// `Ostype`: `linux`.
    pub os_type: String,
    /// `Docker-Experimental: true`.
    pub experimental: bool,
    /// `Builder-Version`.
    pub builder_version: String,
}

/// The object an event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventActor {
    #[serde(rename = "ID", default)]
    pub id: String,
    #[serde(rename = "Attributes", default)]
    pub attributes: BTreeMap<String, String>,
}

/// One message of `GET /events` (moby's `events.Message`). Not in `api-types` yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMessage {
    #[serde(rename = "Type", default)]
    pub r#type: String,
    #[serde(rename = "Action", default)]
    pub action: String,
    #[serde(rename = "Actor", default)]
    pub actor: EventActor,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(default)]
    pub time: i64,
    #[serde(rename = "timeNano", default)]
    pub time_nano: i64,
    /// Deprecated mirror of `Action` kept by the API for old clients.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Deprecated mirror of `Actor.ID`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Deprecated: the image of a container event.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
}

/// Options of `GET /events`. `since`/`until` are unix timestamps (`"1700000000.5"`).
#[derive(Debug, Clone, Default)]
pub struct EventsOptions {
    pub since: Option<String>,
    pub until: Option<String>,
    pub filters: Filters,
}

impl Client {
    /// `HEAD /_ping` (falling back to `GET` as docker does), unversioned.
    pub async fn ping(&self) -> Result<PingInfo> {
        let uri = request::uri(None, "/_ping", &Query::new());
        let head = build(Method::HEAD, &uri, body::empty(), &[])?;
        let resp = match transport::send(self.host(), head).await {
            Ok(r) if r.status() == 200 || r.status() == 500 => r,
            Err(e @ Error::Connect { .. }) => return Err(e),
            _ => {
                let get = build(Method::GET, &uri, body::empty(), &[])?;
                transport::send(self.host(), get).await?
            }
        };
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let info = PingInfo {
            api_version: header("Api-Version"),
            os_type: header("Ostype"),
            experimental: header("Docker-Experimental") == "true",
            builder_version: header("Builder-Version"),
        };
        request::check(resp, &uri).await?;
        Ok(info)
    }

    /// `GET /version`.
    pub async fn version(&self) -> Result<SystemVersion> {
        self.get_json("/version", Query::new(), "version").await
    }

    /// `GET /info`.
    pub async fn info(&self) -> Result<SystemInfo> {
        self.get_json("/info", Query::new(), "info").await
    }

    /// `GET /info`, the body as sent (for templates over fields `api-types` lacks).
    pub async fn info_raw(&self) -> Result<Bytes> {
        let resp = self.get("/info", Query::new()).await?;
        body::collect(resp.into_body()).await
    }

    /// `GET /events`: a stream that lasts until `until` or until dropped.
    pub async fn events(&self, opts: &EventsOptions) -> Result<JsonStream<EventMessage>> {
        let mut q = Query::new()
            .opt("since", opts.since.as_deref())
            .opt("until", opts.until.as_deref());
        if !opts.filters.is_empty() {
            q = q.set("filters", opts.filters.to_json());
        }
        let resp = self.get("/events", q).await?;
        Ok(JsonStream::new(BodyReader::new(resp.into_body())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_message_decodes_dockerd_shape() {
        let m: EventMessage = serde_json::from_str(
            r#"{"status":"start","id":"abc","from":"busybox","Type":"container","Action":"start",
               "Actor":{"ID":"abc","Attributes":{"image":"busybox","name":"web"}},
               "scope":"local","time":1700000000,"timeNano":1700000000123456789}"#,
        )
        .unwrap();
        assert_eq!(m.action, "start");
        assert_eq!(m.actor.attributes["name"], "web");
        assert_eq!(m.time_nano, 1700000000123456789);
    }
}
