//! The build cache: one record per step a build committed (its cache key → the image it
//! made, kept in the `build_cache` table), and the cache-mount directories. `system df`
//! lists both; `builder prune` removes records and the intermediate images only they held,
//! and cache mounts.
//!
//! A record is **shared** when its image is still needed otherwise — it is, or is an
//! ancestor of, a tagged image, or a container uses it — so pruning it frees nothing but the
//! record; plain `builder prune` leaves shared records alone, `--all` removes them too.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use api_types::{BuildCachePruneResponse, Filters};
use serde::{Deserialize, Serialize};
use store::ImageRecord;

use super::BuildService;
use crate::clock;
use crate::error::{Error, Result};

/// The table of cache records.
pub(crate) const TABLE: &str = "build_cache";

/// What a step's cache key points at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CacheRecord {
    /// The image the step made.
    pub image: String,
    /// What the step did.
    pub description: String,
    /// When, nanoseconds.
    pub created: u64,
    /// Last cache hit, nanoseconds (0: never).
    #[serde(default)]
    pub last_used: u64,
    /// Cache hits.
    #[serde(default)]
    pub usage_count: u64,
    /// Bytes of the layer the step added.
    #[serde(default)]
    pub size: u64,
}

/// `POST /build/prune` options.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    /// `all`: shared records too.
    pub all: bool,
    /// `filters` (`until` only).
    pub filters: Filters,
}

/// The id `system df` shows for a record: the key's first 25 hex digits.
fn short(key: &str) -> String {
    key.trim_start_matches("sha256:").chars().take(25).collect()
}

/// Images that are tagged, ancestors of tagged ones, or used by containers.
fn needed(images: &[ImageRecord], used: &BTreeSet<String>) -> BTreeSet<String> {
    let by_id: HashMap<String, &ImageRecord> =
        images.iter().map(|i| (i.id.to_string(), i)).collect();
    let mut keep = BTreeSet::new();
    for i in images {
        if i.repo_tags.is_empty() && !used.contains(i.id.as_str()) {
            continue;
        }
        let mut cur = Some(i);
        while let Some(c) = cur {
            if !keep.insert(c.id.to_string()) {
                break;
            }
            cur = c
                .parent
                .as_ref()
                .and_then(|p| by_id.get(p.as_str()).copied());
        }
    }
    keep
}

impl BuildService {
    /// Records cache hits (one transaction at the end of a build).
    pub(crate) async fn touch(&self, keys: Vec<String>) {
        if keys.is_empty() {
            return;
        }
        let store = self.store.clone();
        let now = clock::now_nanos() as u64;
        let r = tokio::task::spawn_blocking(move || {
            store.db().write(|tx| {
                for k in &keys {
                    if let Some(mut rec) = tx.get::<CacheRecord>(TABLE, k)? {
                        rec.last_used = now;
                        rec.usage_count += 1;
                        tx.put(TABLE, k, &rec)?;
                    }
                }
                Ok::<_, store::MetaError>(())
            })
        })
        .await;
        if let Ok(Err(e)) = r {
            tracing::warn!(error = %e, "recording build cache hits");
        }
    }

    fn images_in_use(&self) -> BTreeSet<String> {
        self.containers
            .all()
            .into_iter()
            .map(|c| c.view().image_id.clone())
            .collect()
    }

    /// `system df`'s build cache rows (moby's `BuildCache` objects).
    pub async fn disk_usage(self: &Arc<Self>) -> Result<Vec<serde_json::Value>> {
        let store = self.store.clone();
        let used = self.images_in_use();
        tokio::task::spawn_blocking(move || -> Result<Vec<serde_json::Value>> {
            let records: Vec<(String, CacheRecord)> =
                store.db().read(|tx| tx.list(TABLE)).map_err(Error::from)?;
            let images = store.images().map_err(Error::from)?;
            let keep = needed(&images, &used);
            let mut out = Vec::new();
            for (k, r) in records {
                out.push(serde_json::json!({
                    "ID": short(&k),
                    "Parents": null,
                    "Type": "regular",
                    "Description": r.description,
                    "InUse": false,
                    "Shared": keep.contains(&r.image),
                    "Size": r.size,
                    "CreatedAt": clock::rfc3339(r.created as i128),
                    "LastUsedAt": (r.last_used != 0).then(|| clock::rfc3339(r.last_used as i128)),
                    "UsageCount": r.usage_count,
                }));
            }
            for (kind, id, info, usage) in store.build_cache_dirs().map_err(Error::from)? {
                let (ty, what) = match kind {
                    store::CacheDirKind::Mount => ("exec.cachemount", format!("cache mount {id}")),
                    store::CacheDirKind::Context => {
                        ("source.local", format!("local source for context {id}"))
                    }
                };
                out.push(serde_json::json!({
                    "ID": short(&format!("{:x}", info.id)),
                    "Parents": null,
                    "Type": ty,
                    "Description": what,
                    "InUse": false,
                    "Shared": false,
                    "Size": usage.size,
                    "CreatedAt": clock::rfc3339(info.created as i128),
                    "LastUsedAt": null,
                    "UsageCount": 0,
                }));
            }
            Ok(out)
        })
        .await
        .map_err(Error::task("build cache"))?
    }

    /// `POST /build/prune`.
    pub async fn prune(self: &Arc<Self>, opts: PruneOptions) -> Result<BuildCachePruneResponse> {
        opts.filters
            .validate(&["until"])
            .map_err(|e| Error::invalid(e.to_string()))?;
        let until = match opts.filters.get("until").next() {
            Some(u) => Some(
                clock::parse_timestamp(u)
                    .ok_or_else(|| Error::invalid(format!("invalid until value: {u}")))?,
            ),
            None => None,
        };
        let store = self.store.clone();
        let used = self.images_in_use();
        let all = opts.all;
        let svc = self.clone();
        tokio::task::spawn_blocking(move || -> Result<BuildCachePruneResponse> {
            let records: Vec<(String, CacheRecord)> =
                store.db().read(|tx| tx.list(TABLE)).map_err(Error::from)?;
            let images = store.images().map_err(Error::from)?;
            let keep = needed(&images, &used);
            let old_enough = |created: u64| until.is_none_or(|u| (created as i128) < u);
            let doomed: Vec<(String, CacheRecord)> = records
                .into_iter()
                .filter(|(_, r)| old_enough(r.created) && (all || !keep.contains(&r.image)))
                .collect();
            store
                .db()
                .write(|tx| {
                    for (k, _) in &doomed {
                        tx.delete(TABLE, k)?;
                    }
                    Ok::<_, store::MetaError>(())
                })
                .map_err(Error::from)?;
            let mut deleted = Vec::new();
            let mut reclaimed = 0u64;
            // Children first: an image with children cannot go.
            let mut imgs: Vec<&ImageRecord> = images
                .iter()
                .filter(|i| doomed.iter().any(|(_, r)| r.image == i.id.as_str()))
                .filter(|i| !keep.contains(i.id.as_str()))
                .collect();
            imgs.sort_by_key(|i| std::cmp::Reverse(i.layers.len()));
            for (k, r) in &doomed {
                deleted.push(short(k));
                if !keep.contains(&r.image) {
                    reclaimed += r.size;
                }
            }
            for i in imgs {
                if let Err(e) = store.delete_image(&i.id, false) {
                    tracing::debug!(image = %i.id, error = %e, "build cache image kept");
                }
            }
            for (kind, id, info, usage) in store.build_cache_dirs().map_err(Error::from)? {
                if !old_enough(info.created) {
                    continue;
                }
                let removed = match kind {
                    store::CacheDirKind::Mount => store.remove_build_cache_dir(kind, &id).is_ok(),
                    store::CacheDirKind::Context => svc.forget_context(&id),
                };
                if removed {
                    deleted.push(short(&format!("{:x}", info.id)));
                    reclaimed += usage.size;
                }
            }
            Ok(BuildCachePruneResponse {
                caches_deleted: Some(deleted),
                space_reclaimed: reclaimed,
            })
        })
        .await
        .map_err(Error::task("build cache"))?
    }
}
