//! `POST /images/prune` (`docker image prune`) and the image half of `GET /system/df`.
//!
//! Prune removes dangling images (no tag, no digest, no child image) — or, with
//! `dangling=false` (`-a`), every image no container uses, untagging it first — filtered by
//! `until` and `label`/`label!`. The space reclaimed is the unpacked size of the layers no
//! remaining image shares.

use std::collections::{BTreeMap, HashMap, HashSet};

use api_types::{Filters, ImageDeleteResponseItem, ImagePruneResponse, ImageSummary};
use oci::Digest;
use store::ImageRecord;

use super::{created_secs, ImageService};
use crate::clock;
use crate::error::{Error, Result};

/// Layer sizes by chain ID, over `images`.
fn layer_sizes<'a>(images: impl Iterator<Item = &'a ImageRecord>) -> HashMap<Digest, u64> {
    let mut out = HashMap::new();
    for i in images {
        for l in &i.layers {
            out.insert(l.chain_id.clone(), l.size);
        }
    }
    out
}

fn labels_excluded(f: &Filters, labels: &BTreeMap<String, String>) -> bool {
    f.get("label!").any(|want| match want.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(want),
    })
}

impl ImageService {
    /// Removes unused images; see the module docs.
    #[tracing::instrument(skip(self))]
    pub async fn prune(&self, filters: Filters) -> Result<ImagePruneResponse> {
        filters
            .validate(&["dangling", "until", "label", "label!"])
            .map_err(Error::from)?;
        let dangling_only = match filters.get("dangling").next() {
            None => true,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(Error::invalid(format!("invalid filter 'dangling={v}'"))),
            },
        };
        let until = match filters.get("until").next() {
            Some(u) => Some(
                clock::parse_timestamp(u)
                    .ok_or_else(|| Error::invalid(format!("invalid until value: {u}")))?,
            ),
            None => None,
        };
        let before = self.blocking(|s| s.images().map_err(Error::from)).await?;
        let sizes_before = layer_sizes(before.iter());
        let mut candidates = Vec::new();
        for rec in &before {
            if !self
                .prunable(rec, &before, dangling_only, until, &filters)
                .await?
            {
                continue;
            }
            candidates.push(rec.clone());
        }
        // Children first, so their parents are childless when their turn comes.
        candidates.sort_by_key(|r| std::cmp::Reverse(depth(r, &before)));
        let mut deleted = Vec::new();
        for rec in candidates {
            deleted.extend(self.prune_one(&rec).await);
        }
        let after = self.blocking(|s| s.images().map_err(Error::from)).await?;
        let kept: HashSet<Digest> = layer_sizes(after.iter()).into_keys().collect();
        let reclaimed = sizes_before
            .iter()
            .filter(|(c, _)| !kept.contains(*c))
            .map(|(_, s)| *s)
            .sum();
        Ok(ImagePruneResponse {
            images_deleted: (!deleted.is_empty()).then_some(deleted),
            space_reclaimed: reclaimed,
        })
    }

    async fn prunable(
        &self,
        rec: &ImageRecord,
        all: &[ImageRecord],
        dangling_only: bool,
        until: Option<i128>,
        f: &Filters,
    ) -> Result<bool> {
        let dangling = rec.repo_tags.is_empty() && rec.repo_digests.is_empty();
        let has_children = all.iter().any(|i| i.parent.as_ref() == Some(&rec.id));
        if dangling_only && (!dangling || has_children) {
            return Ok(false);
        }
        if !self.users_of(&rec.id).is_empty() {
            return Ok(false);
        }
        if until.is_some_and(|u| (created_secs(rec) as i128) * 1_000_000_000 >= u) {
            return Ok(false);
        }
        if f.contains("label") || f.contains("label!") {
            let labels = self
                .config(&rec.id)
                .await?
                .config
                .and_then(|c| c.labels)
                .unwrap_or_default();
            if !f.match_labels(&labels) || labels_excluded(f, &labels) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Untags and deletes one image (and its prunable parents); failures skip it quietly,
    /// as dockerd's prune does for images it finds in use meanwhile.
    async fn prune_one(&self, rec: &ImageRecord) -> Vec<ImageDeleteResponseItem> {
        let mut out = Vec::new();
        for r in rec.repo_tags.iter().chain(&rec.repo_digests) {
            let r2 = r.clone();
            if self
                .blocking(move |s| s.untag(&r2).map_err(Error::from))
                .await
                .is_ok()
            {
                let mut attrs = BTreeMap::new();
                attrs.insert("name".to_string(), r.familiar());
                self.events
                    .publish("image", "untag", rec.id.as_str(), attrs);
                out.push(ImageDeleteResponseItem {
                    untagged: Some(r.familiar()),
                    deleted: None,
                });
            }
        }
        if self.remove_record(&rec.id, false).await.is_err() {
            return out;
        }
        out.push(ImageDeleteResponseItem {
            untagged: None,
            deleted: Some(rec.id.to_string()),
        });
        out.extend(self.prune_parents(rec.parent.clone()).await);
        out
    }

    /// The images part of `GET /system/df`: every image with `SharedSize` and `Containers`,
    /// and the size of all layers, each counted once.
    pub async fn disk_usage(&self) -> Result<(i64, Vec<ImageSummary>)> {
        let records = self.blocking(|s| s.images().map_err(Error::from)).await?;
        let mut refs: HashMap<&Digest, usize> = HashMap::new();
        for r in &records {
            for l in &r.layers {
                *refs.entry(&l.chain_id).or_default() += 1;
            }
        }
        let total: u64 = layer_sizes(records.iter()).values().sum();
        let mut out = Vec::new();
        for rec in &records {
            let cfg = self.config(&rec.id).await?;
            let n = self.users_of(&rec.id).len() as i64;
            let mut row = self.summary(rec, &cfg, n);
            row.shared_size = shared_size(rec, &refs);
            out.push(row);
        }
        out.sort_by_key(|b| std::cmp::Reverse(b.created));
        Ok((total as i64, out))
    }
}

/// Bytes of `rec`'s layers that other images use too.
pub(crate) fn shared_size(rec: &ImageRecord, refs: &HashMap<&Digest, usize>) -> i64 {
    rec.layers
        .iter()
        .filter(|l| refs.get(&l.chain_id).is_some_and(|n| *n > 1))
        .map(|l| l.size as i64)
        .sum()
}

/// How many ancestors of `rec` are among `all` (bounded, in case of a cycle).
fn depth(rec: &ImageRecord, all: &[ImageRecord]) -> usize {
    let mut d = 0;
    let mut p = rec.parent.clone();
    while let Some(id) = p {
        d += 1;
        if d > all.len() {
            break;
        }
        p = all
            .iter()
            .find(|i| i.id == id)
            .and_then(|i| i.parent.clone());
    }
    d
}
