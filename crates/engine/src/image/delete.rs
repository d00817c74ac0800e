//! `DELETE /images/{name}` with dockerd's rules: a reference is untagged (refused while a
//! container uses the image and it is the last reference, unless forced); the image itself is
//! deleted when no reference is left — refused while a running container uses it, or while a
//! stopped one does unless forced. Unless `noprune`, the untagged parents the image was
//! committed on are deleted with it, up to the first one that is tagged, has other children
//! or is used by a container.

use std::collections::BTreeMap;

use api_types::ImageDeleteResponseItem;
use oci::{AnyReference, Digest, Reference};

use super::ImageService;
use crate::error::{Error, ErrorKind, Result};

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

impl ImageService {
    /// Untags and/or deletes an image; the response lists what happened, in order.
    #[tracing::instrument(skip(self))]
    pub async fn delete(
        &self,
        name: &str,
        force: bool,
        noprune: bool,
    ) -> Result<Vec<ImageDeleteResponseItem>> {
        let (mut out, parent) = self.delete_one(name, force).await?;
        if !noprune {
            out.extend(self.prune_parents(parent).await);
        }
        Ok(out)
    }

    /// Untags and/or deletes; also returns the deleted image's parent, if one was deleted.
    async fn delete_one(
        &self,
        name: &str,
        force: bool,
    ) -> Result<(Vec<ImageDeleteResponseItem>, Option<Digest>)> {
        let rec = self.record(name).await?;
        let id = rec.id.to_string();
        let users = self.users_of(&rec.id);
        let running = users.iter().find(|u| u.running);
        // dockerd's isImageIDPrefix: the name is (a prefix of) the id, not a reference.
        let by_id = matches!(AnyReference::parse(name), Ok(AnyReference::Id(_)))
            || id.starts_with(name)
            || id.starts_with(&format!("sha256:{name}"));
        let mut out = Vec::new();
        let mut refs: Vec<Reference> = rec
            .repo_tags
            .iter()
            .chain(rec.repo_digests.iter())
            .cloned()
            .collect();

        if !by_id {
            let reference = Reference::parse_tagged(name).map_err(Error::from)?;
            if !force && refs.len() == 1 {
                if let Some(c) = users.first() {
                    return Err(Error::Conflict(format!(
                        "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {}",
                        short(&c.container_id),
                        short(&id)
                    )));
                }
            }
            out.push(self.untag(&id, &reference).await?);
            refs.retain(|r| r != &reference);
            // dockerd: removing the last tag of a repository also removes that repository's
            // digest references (what a pull recorded), so the image can go.
            let repo = reference.repository();
            if reference.digest().is_none()
                && !refs
                    .iter()
                    .any(|r| r.digest().is_none() && r.repository() == repo)
            {
                let same: Vec<Reference> = refs
                    .iter()
                    .filter(|r| r.digest().is_some() && r.repository() == repo)
                    .cloned()
                    .collect();
                for r in same {
                    out.push(self.untag(&id, &r).await?);
                    refs.retain(|x| x != &r);
                }
            }
            if !refs.is_empty() {
                return Ok((out, None));
            }
        } else {
            let repos: std::collections::BTreeSet<String> =
                refs.iter().map(|r| r.repository()).collect();
            if repos.len() > 1 && !force {
                return Err(Error::Conflict(format!(
                    "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                    short(&id)
                )));
            }
        }
        let all = self.blocking(|s| s.images().map_err(Error::from)).await?;
        let conflict = if all.iter().any(|i| i.parent.as_ref() == Some(&rec.id)) {
            Some(format!(
                "conflict: unable to delete {} (cannot be forced) - image has dependent child images",
                short(&id)
            ))
        } else if let Some(c) = running {
            Some(format!(
                "conflict: unable to delete {} (cannot be forced) - image is being used by running container {}",
                short(&id),
                short(&c.container_id)
            ))
        } else {
            users.first().filter(|_| !force).map(|c| {
                format!(
                    "conflict: unable to delete {} (must be forced) - image is being used by stopped container {}",
                    short(&id),
                    short(&c.container_id)
                )
            })
        };
        if let Some(msg) = conflict {
            // The last reference was removed by name: dockerd stops there quietly, and the
            // image lives on for its children or its containers.
            if !by_id {
                return Ok((out, None));
            }
            return Err(Error::Conflict(msg));
        }
        for r in refs {
            out.push(self.untag(&id, &r).await?);
        }
        match self.remove_record(&rec.id, force).await {
            // Untagged, the image was dangling for a moment, and a concurrent `image prune`
            // deleted it first: gone all the same, as asked.
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            r => r?,
        }
        out.push(ImageDeleteResponseItem {
            untagged: None,
            deleted: Some(id),
        });
        Ok((out, rec.parent.clone()))
    }

    /// Deletes an image record (and collects its garbage), with the `delete` event.
    pub(crate) async fn remove_record(&self, id: &Digest, force: bool) -> Result<()> {
        let digest = id.clone();
        self.blocking(move |s| {
            s.delete_image(&digest, force)
                .map(drop)
                .map_err(Error::from)
        })
        .await?;
        self.events
            .publish("image", "delete", id.as_str(), BTreeMap::new());
        Ok(())
    }

    /// Deletes `parent` and its own parents while each is untagged, childless and unused —
    /// quietly stopping at the first that is not (dockerd's `imageDeleteHelper` with
    /// `quiet`).
    pub(crate) async fn prune_parents(
        &self,
        mut parent: Option<Digest>,
    ) -> Vec<ImageDeleteResponseItem> {
        let mut out = Vec::new();
        while let Some(p) = parent.take() {
            let Ok(rec) = self.record(p.as_str()).await else {
                break;
            };
            let all = match self.blocking(|s| s.images().map_err(Error::from)).await {
                Ok(a) => a,
                Err(_) => break,
            };
            let has_children = all.iter().any(|i| i.parent.as_ref() == Some(&rec.id));
            let used = !self.users_of(&rec.id).is_empty();
            let tagged = !rec.repo_tags.is_empty() || !rec.repo_digests.is_empty();
            if has_children || used || tagged || self.remove_record(&rec.id, false).await.is_err() {
                break;
            }
            out.push(ImageDeleteResponseItem {
                untagged: None,
                deleted: Some(rec.id.to_string()),
            });
            parent = rec.parent.clone();
        }
        out
    }

    /// Removes reference `r` of image `id`, with its event; the line `rmi` prints for it.
    async fn untag(&self, id: &str, r: &Reference) -> Result<ImageDeleteResponseItem> {
        let r2 = r.clone();
        self.blocking(move |s| s.untag(&r2).map_err(Error::from))
            .await?;
        self.event("untag", id, r);
        Ok(ImageDeleteResponseItem {
            untagged: Some(r.familiar()),
            deleted: None,
        })
    }

    fn event(&self, action: &str, id: &str, r: &Reference) {
        let mut attrs = BTreeMap::new();
        attrs.insert("name".to_string(), r.familiar());
        self.events.publish("image", action, id, attrs);
    }
}
