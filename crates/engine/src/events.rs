//! The event bus behind `GET /events`: services publish what happened to containers and
//! images; subscribers get every event from the moment they subscribe (a bounded broadcast;
//! a slow subscriber loses the oldest events rather than slowing the daemon).

use serde::Serialize;
use tokio::sync::broadcast;

/// One event, in the Engine API's `EventMessage` shape.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
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
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// Publishes events to every current subscriber.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(1024);
        EventBus { tx }
    }
}

impl EventBus {
    /// Publishes one event; nobody listening is fine.
    pub fn publish(
        &self,
        kind: &'static str,
        action: impl Into<String>,
        id: &str,
        attributes: std::collections::BTreeMap<String, String>,
    ) {
        let nanos = crate::clock::now_nanos();
        let _ = self.tx.send(Event {
            kind,
            action: action.into(),
            actor: Actor {
                id: id.to_string(),
                attributes,
            },
            scope: "local",
            time: (nanos / 1_000_000_000) as i64,
            time_nano: nanos,
        });
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
