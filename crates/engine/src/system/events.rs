//! `GET /events`: the kept events between `since` and `until` first (oldest first), then the
//! live ones until `until` passes — or only the past when `until` is already over, as dockerd.

use std::pin::Pin;
use std::sync::Arc;

use api_types::Filters;
use futures_util::Stream;

use super::SystemService;
use crate::clock;
use crate::error::{Error, Result};
use crate::events::{Event, EventFilter};

/// A stream of events.
pub type EventStream = Pin<Box<dyn Stream<Item = Arc<Event>> + Send>>;

fn bound(name: &str, v: Option<&str>) -> Result<Option<i128>> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => clock::parse_timestamp(s)
            .map(Some)
            .ok_or_else(|| Error::invalid(format!("invalid {name} timestamp: {s}"))),
    }
}

impl SystemService {
    /// `GET /events?since=&until=&filters=`.
    pub fn events(
        &self,
        since: Option<&str>,
        until: Option<&str>,
        filters: Filters,
    ) -> Result<EventStream> {
        let filter = EventFilter::new(filters)?;
        let (since_raw, until_raw) = (since.unwrap_or(""), until.unwrap_or(""));
        let (since, until) = (bound("since", since)?, bound("until", until)?);
        if let (Some(s), Some(u)) = (since, until) {
            if u < s {
                return Err(Error::invalid(format!(
                    "`since` time ({since_raw}) cannot be after `until` time ({until_raw})"
                )));
            }
        }
        let (replay, rx) = self.events.subscribe_since(since, until, &filter);
        let only_past = until.is_some_and(|u| u <= clock::now_nanos());
        let replay = futures_util::stream::iter(replay);
        if only_past {
            return Ok(Box::pin(replay));
        }
        let live = futures_util::stream::unfold(
            (rx, until, filter),
            |(mut rx, until, filter)| async move {
                loop {
                    let next = match until {
                        Some(u) => {
                            let left = u - clock::now_nanos();
                            if left <= 0 {
                                return None;
                            }
                            let d = std::time::Duration::from_nanos(left as u64);
                            tokio::time::timeout(d, rx.recv()).await.ok()?
                        }
                        None => rx.recv().await,
                    };
                    match next {
                        Ok(ev) if filter.matches(&ev) => return Some((ev, (rx, until, filter))),
                        Ok(_) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(lost = n, "an events client fell behind");
                            continue;
                        }
                        Err(_) => return None,
                    }
                }
            },
        );
        Ok(Box::pin(futures_util::StreamExt::chain(replay, live)))
    }
}
