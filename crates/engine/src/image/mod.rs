//! `ImageService`: the images of this daemon — pull, push, import from a tarball, list,
//! inspect, tag, delete, history, commit, save, load, prune and disk usage — on top of the
//! store, which owns blobs, layers and image records. One file per operation: `pull` (with
//! `fetch`, the shared layer downloads), `push`, `import`, `commit`, `delete` (rmi), `save`,
//! `load/` (a folder: reading the archive, the unpacking workers, recording the images),
//! `prune` (and `system df`'s image half), `resolve` (what `create` takes from an image);
//! list, inspect, history and tag here. Which containers use an image is asked of a
//! [`crate::usage::UsageIndex`].
//!
//! Vocabulary: an image *id* is `sha256:` + the digest of its config; a *reference* is a
//! repository name with a tag or digest (`docker.io/library/busybox:latest`), shown in its
//! *familiar* form (`busybox:latest`).

mod changes;
mod channel;
mod commit;
mod delete;
mod fetch;
mod import;
mod load;
pub mod progress;
mod prune;
mod pull;
mod push;
mod resolve;
mod save;
mod search;
mod sources;

pub use channel::ChannelStream;
pub use commit::{CheckedCommit, CommitOptions, ContainerLayer};
pub use fetch::FetchError;
pub use import::{ImportOptions, ImportUrlError};
pub use load::LoadError;
pub use pull::PullOptions;
pub use push::PushOptions;
pub use resolve::{ImageDefaults, ResolvedImage};
pub use save::SaveStream;
pub use search::SearchOptions;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};

use api_types::{
    ContainerConfig, Filters, GraphDriver, HistoryResponseItem, ImageInspect, ImageMetadata,
    ImageSummary, RootFs,
};
use oci::{Digest, ImageConfig};
use store::{ImageRecord, Store};

use crate::clock;
use crate::error::{Error, Result};
use crate::events::EventBus;
use crate::usage::{Resource, UsageIndex, User};

/// Options of list.
#[derive(Debug, Clone, Default)]
pub struct ListImagesOptions {
    pub all: bool,
    pub filters: Filters,
    pub digests: bool,
    pub shared_size: bool,
}

/// The images of this daemon.
pub struct ImageService {
    store: Arc<Store>,
    events: EventBus,
    /// Which containers use an image.
    users: Arc<dyn UsageIndex>,
    /// The registry client (settings, HTTP clients, what each host speaks).
    registries: Arc<distribution::Registries>,
    /// Blob downloads in flight, shared by concurrent pulls.
    downloads: Mutex<HashMap<Digest, Weak<fetch::Fetch>>>,
}

impl ImageService {
    pub(crate) fn new(
        store: Arc<Store>,
        events: EventBus,
        registries: Arc<distribution::Registries>,
        users: Arc<dyn UsageIndex>,
    ) -> ImageService {
        ImageService {
            store,
            events,
            users,
            registries,
            downloads: Mutex::new(HashMap::new()),
        }
    }

    /// The containers using image `id`.
    fn users_of(&self, id: &Digest) -> Vec<User> {
        self.users.users(Resource::Image(id.as_str()))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(Error::task("image"))?
    }

    /// Finds an image by name or id (Docker's rules).
    pub(crate) async fn record(&self, name: &str) -> Result<ImageRecord> {
        let name = name.to_string();
        self.blocking(move |s| s.resolve(&name).map_err(Error::from))
            .await
    }

    async fn config(&self, id: &Digest) -> Result<ImageConfig> {
        let id = id.clone();
        self.blocking(move |s| {
            let bytes = s.image_config(&id).map_err(Error::from)?;
            ImageConfig::from_slice(&bytes).map_err(|source| Error::StoredConfig { id, source })
        })
        .await
    }

    /// The id of an image given by name or id.
    pub async fn resolve_id(&self, name: &str) -> Result<String> {
        Ok(self.record(name).await?.id.to_string())
    }

    /// The unpacked size of an image.
    pub async fn size_of(&self, id: &str) -> Result<i64> {
        Ok(self.record(id).await?.size as i64)
    }

    /// How many images there are.
    pub async fn count(&self) -> Result<i64> {
        self.blocking(|s| s.images().map(|v| v.len() as i64).map_err(Error::from))
            .await
    }

    fn summary(&self, rec: &ImageRecord, cfg: &ImageConfig, containers: i64) -> ImageSummary {
        ImageSummary {
            id: rec.id.to_string(),
            parent_id: rec
                .parent
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            repo_tags: rec.repo_tags.iter().map(|r| r.familiar()).collect(),
            repo_digests: rec.repo_digests.iter().map(|r| r.familiar()).collect(),
            created: created_secs(rec),
            size: rec.size as i64,
            shared_size: -1,
            labels: cfg
                .config
                .as_ref()
                .and_then(|c| c.labels.clone())
                .unwrap_or_default(),
            containers,
        }
    }

    /// `GET /images/json`.
    pub async fn list(&self, opts: ListImagesOptions) -> Result<Vec<ImageSummary>> {
        let f = &opts.filters;
        f.validate(&["dangling", "label", "before", "since", "reference", "until"])
            .map_err(Error::from)?;
        let dangling = match f.get("dangling").next() {
            None => None,
            Some("true") | Some("1") => Some(true),
            Some("false") | Some("0") => Some(false),
            Some(v) => return Err(Error::invalid(format!("invalid filter 'dangling={v}'"))),
        };
        let mut records = self.blocking(|s| s.images().map_err(Error::from)).await?;
        records.sort_by(|a, b| {
            created_secs(b)
                .cmp(&created_secs(a))
                .then(b.added.cmp(&a.added))
        });
        let before = match f.get("before").next() {
            Some(b) => Some(created_secs(&self.record(b).await?)),
            None => None,
        };
        let since = match f.get("since").next() {
            Some(b) => Some(created_secs(&self.record(b).await?)),
            None => None,
        };
        // `until`: a timestamp or a duration before now; images created before it.
        let until = match f.get("until").next() {
            Some(u) => Some(
                clock::parse_timestamp(u)
                    .map(|n| (n / 1_000_000_000) as i64)
                    .ok_or_else(|| Error::invalid(format!("invalid until value: {u}")))?,
            ),
            None => None,
        };
        let parents: std::collections::HashSet<Digest> =
            records.iter().filter_map(|r| r.parent.clone()).collect();
        let mut layer_refs: std::collections::HashMap<&Digest, usize> = Default::default();
        for r in &records {
            for l in &r.layers {
                *layer_refs.entry(&l.chain_id).or_default() += 1;
            }
        }
        let mut out = Vec::new();
        for rec in &records {
            let is_dangling = rec.repo_tags.is_empty() && rec.repo_digests.is_empty();
            if dangling.is_some_and(|d| d != is_dangling) {
                continue;
            }
            // An untagged image other images were committed on is an intermediate one:
            // only `-a` shows it.
            if !opts.all && is_dangling && parents.contains(&rec.id) {
                continue;
            }
            if before.is_some_and(|b| created_secs(rec) >= b)
                || since.is_some_and(|s| created_secs(rec) <= s)
                || until.is_some_and(|u| created_secs(rec) >= u)
            {
                continue;
            }
            if f.contains("reference")
                && !f.get("reference").any(|pat| {
                    rec.repo_tags
                        .iter()
                        .any(|r| reference_matches(pat, &r.familiar(), &r.familiar_name()))
                })
            {
                continue;
            }
            let cfg = self.config(&rec.id).await?;
            let labels = cfg
                .config
                .as_ref()
                .and_then(|c| c.labels.clone())
                .unwrap_or_default();
            if !f.match_labels(&labels) {
                continue;
            }
            let n = self.users_of(&rec.id).len() as i64;
            let mut row = self.summary(rec, &cfg, n);
            if opts.shared_size {
                row.shared_size = prune::shared_size(rec, &layer_refs);
            }
            out.push(row);
        }
        Ok(out)
    }

    /// `GET /images/{name}/json`.
    pub async fn inspect(&self, name: &str) -> Result<ImageInspect> {
        let rec = self.record(name).await?;
        let cfg = self.config(&rec.id).await?;
        let config: ContainerConfig = cfg
            .config
            .as_ref()
            .and_then(|c| serde_json::to_value(c).ok())
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        Ok(ImageInspect {
            id: rec.id.to_string(),
            repo_tags: rec.repo_tags.iter().map(|r| r.familiar()).collect(),
            repo_digests: rec.repo_digests.iter().map(|r| r.familiar()).collect(),
            parent: rec
                .parent
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            comment: cfg.comment.clone().unwrap_or_default(),
            created: cfg.created.clone().unwrap_or_default(),
            docker_version: cfg.docker_version.clone().unwrap_or_default(),
            author: cfg.author.clone().unwrap_or_default(),
            config,
            architecture: cfg.architecture.clone(),
            variant: cfg.variant.clone().unwrap_or_default(),
            os: cfg.os.clone(),
            size: rec.size as i64,
            graph_driver: GraphDriver {
                name: "overlay2".into(),
                data: None,
            },
            root_fs: RootFs {
                r#type: "layers".into(),
                layers: cfg.rootfs.diff_ids.iter().map(|d| d.to_string()).collect(),
            },
            metadata: ImageMetadata {
                last_tag_time: rec
                    .annotations
                    .get("berth.last-tag-time")
                    .cloned()
                    .unwrap_or_else(|| clock::ZERO_TIME.to_string()),
            },
        })
    }

    /// `GET /images/{name}/history`: newest step first.
    pub async fn history(&self, name: &str) -> Result<Vec<HistoryResponseItem>> {
        let rec = self.record(name).await?;
        let cfg = self.config(&rec.id).await?;
        let mut layers = rec.layers.iter();
        let mut out: Vec<HistoryResponseItem> = cfg
            .history
            .iter()
            .map(|h| HistoryResponseItem {
                id: "<missing>".into(),
                created: h
                    .created
                    .as_deref()
                    .and_then(clock::parse_rfc3339)
                    .map(|n| (n / 1_000_000_000) as i64)
                    .unwrap_or(0),
                created_by: h.created_by.clone().unwrap_or_default(),
                tags: None,
                size: if h.empty_layer {
                    0
                } else {
                    layers.next().map(|l| l.size as i64).unwrap_or(0)
                },
                comment: h.comment.clone().unwrap_or_default(),
            })
            .collect();
        out.reverse();
        // Newest first, each step is credited to the image it made, following the parent
        // chain for as long as the parents are here (dockerd's rule); the rest stay missing.
        let mut img = Some(rec);
        for item in out.iter_mut() {
            let Some(i) = img.take() else { break };
            item.id = i.id.to_string();
            let tags: Vec<String> = i.repo_tags.iter().map(|r| r.familiar()).collect();
            item.tags = (!tags.is_empty()).then_some(tags);
            img = match &i.parent {
                Some(p) => self.record(p.as_str()).await.ok(),
                None => None,
            };
        }
        Ok(out)
    }

    /// `POST /images/{name}/tag?repo=&tag=`.
    pub async fn tag(&self, name: &str, repo: &str, tag: Option<&str>) -> Result<()> {
        if repo.is_empty() {
            return Err(Error::invalid(
                "repository name must have at least one component",
            ));
        }
        let target = match tag {
            Some(t) => format!("{repo}:{t}"),
            None => repo.to_string(),
        };
        let reference = oci::Reference::parse_tagged(&target).map_err(Error::from)?;
        if reference.digest().is_some() {
            return Err(Error::invalid(
                "refusing to create a tag with a digest reference",
            ));
        }
        let rec = self.record(name).await?;
        let id = rec.id.clone();
        let r2 = reference.clone();
        self.blocking(move |s| s.tag(&r2, &id).map_err(Error::from))
            .await?;
        let mut attrs = BTreeMap::new();
        attrs.insert("name".to_string(), reference.familiar());
        self.events.publish("image", "tag", rec.id.as_str(), attrs);
        Ok(())
    }
}

/// Seconds since the epoch the image was created (its config's `created`, else when stored).
fn created_secs(rec: &ImageRecord) -> i64 {
    rec.created
        .as_deref()
        .and_then(clock::parse_rfc3339)
        .filter(|n| *n != 0)
        .map(|n| (n / 1_000_000_000) as i64)
        .unwrap_or((rec.added / 1_000_000_000) as i64)
}

/// `reference=` filter: a glob (`*`, `?`; neither crosses a `/`) over the familiar reference
/// or its name.
fn reference_matches(pattern: &str, familiar: &str, familiar_name: &str) -> bool {
    fn glob(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                glob(&p[1..], s) || (!s.is_empty() && s[0] != b'/' && glob(p, &s[1..]))
            }
            (Some(b'?'), Some(b)) if *b != b'/' => glob(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
            _ => false,
        }
    }
    // dockerd's FamiliarMatch: the whole `name:tag` first, then the name alone, so a
    // registry port in the pattern is never taken for a tag.
    glob(pattern.as_bytes(), familiar.as_bytes())
        || glob(pattern.as_bytes(), familiar_name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_filter() {
        let m = |pat: &str, r: &str| {
            let r = oci::Reference::parse(r).unwrap();
            reference_matches(pat, &r.familiar(), &r.familiar_name())
        };
        assert!(m("busybox", "busybox:latest"));
        assert!(m("busy*", "busybox:latest"));
        assert!(m("busybox:lat*", "busybox:latest"));
        assert!(m("busybox:?atest", "busybox:latest"));
        assert!(!m("busybox:1", "busybox:latest"));
        assert!(m("*", "library/x:1"));
        assert!(!m("*", "someone/x:1"));
        assert!(m("*/x", "someone/x:1"));
        assert!(m("127.0.0.1:5000/app", "127.0.0.1:5000/app:1"));
        assert!(m("127.0.0.1:5000/app:1", "127.0.0.1:5000/app:1"));
        assert!(m("127.0.0.1:5000/*", "127.0.0.1:5000/app:1"));
        assert!(!m("127.0.0.1:5000/app:2", "127.0.0.1:5000/app:1"));
        assert!(!m("127.0.0.1:5001/app", "127.0.0.1:5000/app:1"));
    }
}
