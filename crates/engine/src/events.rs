//! The event bus behind `GET /events`: services publish what happened to containers, images,
//! volumes, networks and the daemon; the bus keeps the last [`HISTORY`] events (dockerd keeps
//! 256) so that `since`/`until` replay the past, and broadcasts new ones to subscribers (a
//! bounded channel: a slow subscriber loses the oldest events rather than slowing the daemon).
//!
//! A subscription takes the replay and the live receiver under the same lock as publishing,
//! so an event is either replayed or received live — never lost between the two, never both.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use api_types::Filters;
use serde::Serialize;
use tokio::sync::broadcast;

/// How many past events are kept for `since` replays.
pub const HISTORY: usize = 16 * 1024;
/// How many events a live subscriber may fall behind before it loses the oldest.
const LIVE_BACKLOG: usize = 4096;

/// One event, in the Engine API's `EventMessage` shape (with the deprecated `status`, `id`
/// and `from` that dockerd still fills for container and image events before API 1.52).
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    #[serde(rename = "status", skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(rename = "id", skip_serializing_if = "Option::is_none")]
    pub legacy_id: Option<String>,
    #[serde(rename = "from", skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(rename = "Type")]
    pub kind: &'static str,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    pub scope: &'static str,
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i128,
}

/// The object an event is about.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

struct Inner {
    history: VecDeque<Arc<Event>>,
    tx: broadcast::Sender<Arc<Event>>,
}

/// Publishes events to every current subscriber and keeps the recent past.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Mutex<Inner>>,
    capacity: usize,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::with_capacity(HISTORY)
    }
}

impl EventBus {
    /// A bus keeping the last `capacity` events.
    pub fn with_capacity(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(LIVE_BACKLOG);
        EventBus {
            inner: Arc::new(Mutex::new(Inner {
                history: VecDeque::with_capacity(capacity.min(1024)),
                tx,
            })),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes one event; nobody listening is fine.
    pub fn publish(
        &self,
        kind: &'static str,
        action: impl Into<String>,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let nanos = crate::clock::now_nanos();
        let action = action.into();
        let legacy = matches!(kind, "container" | "image");
        let ev = Arc::new(Event {
            status: legacy.then(|| action.clone()),
            legacy_id: legacy.then(|| id.to_string()),
            from: (kind == "container")
                .then(|| attributes.get("image").cloned())
                .flatten(),
            kind,
            action,
            actor: Actor {
                id: id.to_string(),
                attributes,
            },
            scope: "local",
            time: nanos.div_euclid(1_000_000_000) as i64,
            time_nano: nanos,
        });
        let mut inner = self.lock();
        if inner.history.len() >= self.capacity {
            inner.history.pop_front();
        }
        inner.history.push_back(ev.clone());
        let _ = inner.tx.send(ev);
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.lock().tx.subscribe()
    }

    /// The kept events at or after `since` and at or before `until` (nanoseconds) that
    /// `filter` accepts, oldest first, and a receiver of what is published after them. With
    /// neither bound nothing is replayed (dockerd's rule).
    pub fn subscribe_since(
        &self,
        since: Option<i128>,
        until: Option<i128>,
        filter: &EventFilter,
    ) -> (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>) {
        let inner = self.lock();
        let rx = inner.tx.subscribe();
        if since.is_none() && until.is_none() {
            return (Vec::new(), rx);
        }
        let since = since.unwrap_or(0);
        // The history is in time order: find the first event at or after `since`.
        let start = inner.history.partition_point(|e| e.time_nano < since);
        let replay = inner
            .history
            .range(start..)
            .filter(|e| until.is_none_or(|u| e.time_nano <= u))
            .filter(|e| filter.matches(e))
            .cloned()
            .collect();
        (replay, rx)
    }

    /// How many clients are following the stream (`NEventsListener` of `/info`).
    pub fn listeners(&self) -> usize {
        self.lock().tx.receiver_count()
    }
}

/// The filters of `GET /events`, as dockerd applies them (moby `daemon/events/filter.go`).
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    f: Filters,
}

/// The filter names `GET /events` accepts.
pub const FILTERS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

impl EventFilter {
    /// Checks the filter names.
    pub fn new(f: Filters) -> crate::Result<EventFilter> {
        f.validate(FILTERS)?;
        for t in f.get("type") {
            if !matches!(
                t,
                "container"
                    | "image"
                    | "volume"
                    | "network"
                    | "daemon"
                    | "plugin"
                    | "node"
                    | "service"
                    | "secret"
                    | "config"
            ) {
                return Err(crate::Error::invalid(format!("unknown event type: {t}")));
            }
        }
        Ok(EventFilter { f })
    }

    fn exact(&self, name: &str, v: &str) -> bool {
        !self.f.contains(name) || self.f.get(name).any(|x| x == v)
    }

    fn fuzzy(&self, name: &str, v: &str) -> bool {
        !self.f.contains(name) || self.f.get(name).any(|x| x == v || v.starts_with(x))
    }

    /// Objects of these filter names match by id or name prefix (whatever the event type).
    fn by_name(&self, name: &str, ev: &Event) -> bool {
        if !self.f.contains(name) {
            return true;
        }
        let attr = ev.actor.attributes.get("name").map(String::as_str);
        self.fuzzy(name, &ev.actor.id) || attr.is_some_and(|n| self.fuzzy(name, n))
    }

    /// Whether `ev` passes every filter.
    pub fn matches(&self, ev: &Event) -> bool {
        // `health_status`, `exec_create` and `exec_start` match their `: …` suffixes.
        let fuzzy_event = self
            .f
            .get("event")
            .any(|v| matches!(v, "health_status" | "exec_create" | "exec_start"));
        let event_ok = if fuzzy_event {
            self.fuzzy("event", &ev.action)
        } else {
            self.exact("event", &ev.action)
        };
        event_ok
            && self.exact("type", ev.kind)
            && self.exact("scope", ev.scope)
            && [
                "daemon",
                "container",
                "plugin",
                "volume",
                "network",
                "node",
                "service",
                "secret",
                "config",
            ]
            .iter()
            .all(|n| self.by_name(n, ev))
            && self.image(ev)
            && self.f.match_labels(&ev.actor.attributes)
    }

    /// The image filter matches an image event's id or name, or a container event's image,
    /// with or without its tag.
    fn image(&self, ev: &Event) -> bool {
        if !self.f.contains("image") {
            return true;
        }
        let attr = if ev.kind == "image" { "name" } else { "image" };
        let name = ev
            .actor
            .attributes
            .get(attr)
            .map(String::as_str)
            .unwrap_or("");
        [ev.actor.id.as_str(), name]
            .into_iter()
            .flat_map(|s| [s.to_string(), strip_tag(s)])
            .any(|s| !s.is_empty() && self.f.get("image").any(|x| x == s))
    }
}

/// `busybox:latest` → `busybox`, `docker.io/library/busybox` → `busybox` (the familiar name
/// without tag or digest); anything that is not a reference is returned as is.
fn strip_tag(s: &str) -> String {
    match oci::reference::Reference::parse(s) {
        Ok(r) => r.familiar_name(),
        Err(_) => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn filter(json: &str) -> EventFilter {
        EventFilter::new(Filters::parse(json).unwrap()).unwrap()
    }

    #[test]
    fn history_is_bounded_and_replayed_in_order() {
        let bus = EventBus::with_capacity(3);
        for i in 0..5 {
            bus.publish("container", "start", &format!("c{i}"), attrs(&[]));
        }
        let (replay, _) = bus.subscribe_since(Some(0), None, &EventFilter::default());
        let ids: Vec<&str> = replay.iter().map(|e| e.actor.id.as_str()).collect();
        assert_eq!(ids, ["c2", "c3", "c4"], "the oldest events were dropped");
        let (none, _) = bus.subscribe_since(None, None, &EventFilter::default());
        assert!(none.is_empty(), "no bound, no replay");
        let until = replay[1].time_nano;
        let (upto, _) = bus.subscribe_since(None, Some(until), &EventFilter::default());
        assert_eq!(upto.len(), 2);
        let (from, _) = bus.subscribe_since(Some(until), None, &EventFilter::default());
        assert_eq!(from.first().unwrap().actor.id, "c3");
    }

    #[test]
    fn replay_then_live_loses_nothing() {
        let bus = EventBus::default();
        bus.publish("image", "pull", "busybox:latest", attrs(&[]));
        let (replay, mut rx) = bus.subscribe_since(Some(0), None, &EventFilter::default());
        bus.publish("image", "tag", "sha256:1", attrs(&[("name", "b:1")]));
        assert_eq!(replay.len(), 1);
        assert_eq!(rx.try_recv().unwrap().action, "tag");
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn legacy_fields_for_containers_and_images_only() {
        let bus = EventBus::default();
        bus.publish("container", "die", "abc", attrs(&[("image", "busybox")]));
        bus.publish("network", "create", "n1", attrs(&[]));
        let (r, _) = bus.subscribe_since(Some(0), None, &EventFilter::default());
        let c = serde_json::to_value(&*r[0]).unwrap();
        assert_eq!(
            (&c["status"], &c["id"], &c["from"]),
            (
                &serde_json::json!("die"),
                &serde_json::json!("abc"),
                &serde_json::json!("busybox")
            )
        );
        let n = serde_json::to_value(&*r[1]).unwrap();
        assert!(n.get("status").is_none() && n.get("id").is_none());
    }

    #[test]
    fn filters_like_dockerd() {
        let bus = EventBus::default();
        bus.publish(
            "container",
            "health_status: healthy",
            "abc123",
            attrs(&[("name", "web"), ("image", "busybox:latest"), ("tier", "db")]),
        );
        bus.publish("container", "exec_die", "abc123", attrs(&[("name", "web")]));
        bus.publish("image", "tag", "sha256:ff", attrs(&[("name", "busybox:1")]));
        let (all, _) = bus.subscribe_since(Some(0), None, &EventFilter::default());
        let ids = |f: &str| -> Vec<String> {
            let f = filter(f);
            all.iter()
                .filter(|e| f.matches(e))
                .map(|e| e.action.clone())
                .collect()
        };
        assert_eq!(
            ids(r#"{"event":["health_status"]}"#),
            ["health_status: healthy"]
        );
        assert_eq!(ids(r#"{"event":["exec_die"]}"#), ["exec_die"]);
        assert_eq!(ids(r#"{"container":["web"]}"#).len(), 2);
        assert_eq!(ids(r#"{"container":["abc"]}"#).len(), 2, "id prefix");
        assert_eq!(ids(r#"{"image":["busybox"]}"#).len(), 2, "tag stripped");
        assert_eq!(ids(r#"{"type":["image"]}"#), ["tag"]);
        assert_eq!(ids(r#"{"label":["tier=db"]}"#).len(), 1);
        assert!(EventFilter::new(Filters::parse(r#"{"bogus":["x"]}"#).unwrap()).is_err());
        assert!(EventFilter::new(Filters::parse(r#"{"type":["x"]}"#).unwrap()).is_err());
    }
}
