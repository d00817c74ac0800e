//! `POST /commit` (`docker commit`): a container's changes become a new image on top of the
//! container's image — one more layer (none when nothing changed: the history entry is then
//! marked `empty_layer`), the container's config with the request's config and `--change`
//! instructions applied over it (dockerd's `merge`), one more history entry, and the
//! container's image recorded as the parent.
//!
//! The image is recorded in one transaction after the layer is committed under a lease: a
//! daemon killed midway leaves no image, and the next start collects the orphaned layer.
//!
//! The container service drives a commit: it checks the request ([`CheckedCommit`]), turns
//! the rw layer into a [`ContainerLayer`], and hands both to [`ImageService::commit`] — this
//! module never reaches for the container service.

use std::collections::BTreeMap;

use oci::config::{ContainerConfig, History, ImageConfig};
use oci::Reference;
use store::{LayerRecord, Lease, NewImage};

use super::{changes, ImageService};
use crate::clock;
use crate::error::{Error, Result};
use crate::system::VERSION;

/// `POST /commit` parameters.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// The container (name or id).
    pub container: String,
    /// Repository to tag the image with (`repo`), may be empty.
    pub repo: String,
    /// Tag (`tag`), `latest` when empty and a repository is given.
    pub tag: String,
    /// `--message`.
    pub comment: String,
    /// `--author`.
    pub author: String,
    /// `--change` instructions.
    pub changes: Vec<String>,
    /// Freeze a running container meanwhile (default true).
    pub pause: bool,
    /// A config to use instead of the container's (fields it leaves empty come from the
    /// container's).
    pub config: Option<api_types::ContainerConfig>,
}

/// The tag a commit request names, if any (dockerd ignores `tag` without `repo`).
fn commit_reference(repo: &str, tag: &str) -> Result<Option<Reference>> {
    if repo.is_empty() {
        return Ok(None);
    }
    let r = Reference::parse(repo).map_err(Error::from)?;
    if r.digest().is_some() {
        return Err(Error::invalid(
            "refusing to create a tag with a digest reference",
        ));
    }
    let r = if tag.is_empty() {
        r.with_default_tag()
    } else {
        r.with_tag(tag).map_err(Error::from)?
    };
    Ok(Some(r))
}

fn to_oci(c: &api_types::ContainerConfig) -> Result<ContainerConfig> {
    serde_json::to_value(c)
        .and_then(serde_json::from_value)
        .map_err(Error::ConfigConversion)
}

/// Applies `--change` instructions as a Dockerfile would: an ENTRYPOINT clears the CMD unless
/// a CMD instruction came before it.
fn apply_changes(c: &mut ContainerConfig, list: &[String]) -> Result<()> {
    let mut cmd_set = false;
    for change in list {
        changes::apply(c, std::slice::from_ref(change))?;
        let word = change
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match word.as_str() {
            "CMD" => cmd_set = true,
            "ENTRYPOINT" if !cmd_set => c.cmd = None,
            _ => {}
        }
    }
    Ok(())
}

/// dockerd's `merge(userConf, imageConf)`: what `user` leaves empty comes from `image`.
fn merge(user: &mut ContainerConfig, image: &ContainerConfig) {
    if user.user.as_deref().unwrap_or("").is_empty() {
        user.user = image.user.clone();
    }
    let ports = user.exposed_ports.get_or_insert_with(BTreeMap::new);
    for (k, v) in image.exposed_ports.iter().flatten() {
        ports.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if ports.is_empty() {
        user.exposed_ports = image.exposed_ports.clone();
    }
    let env = user.env.get_or_insert_with(Vec::new);
    for e in image.env.iter().flatten() {
        let key = e.split('=').next().unwrap_or("");
        if !env.iter().any(|u| u.split('=').next() == Some(key)) {
            env.push(e.clone());
        }
    }
    let labels = user.labels.get_or_insert_with(BTreeMap::new);
    for (k, v) in image.labels.iter().flatten() {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if user.entrypoint.as_ref().is_none_or(|e| e.is_empty()) {
        if user.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            user.cmd = image.cmd.clone();
            user.args_escaped = image.args_escaped;
        }
        if user.entrypoint.is_none() {
            user.entrypoint = image.entrypoint.clone();
        }
    }
    if user.healthcheck.is_none() {
        user.healthcheck = image.healthcheck.clone();
    }
    if user.working_dir.as_deref().unwrap_or("").is_empty() {
        user.working_dir = image.working_dir.clone();
    }
    let volumes = user.volumes.get_or_insert_with(BTreeMap::new);
    for (k, v) in image.volumes.iter().flatten() {
        volumes.insert(k.clone(), v.clone());
    }
    if volumes.is_empty() {
        user.volumes = image.volumes.clone();
    }
    if user.stop_signal.as_deref().unwrap_or("").is_empty() {
        user.stop_signal = image.stop_signal.clone();
    }
}

/// A container's rw layer turned into a layer (by the container service), with what the
/// image needs of the container.
pub struct ContainerLayer {
    /// The container's full id.
    pub container_id: String,
    /// The container's image (`sha256:…`): the new image's parent.
    pub image_id: String,
    /// The container's config when it was committed.
    pub config: api_types::ContainerConfig,
    /// The new layer; `None` when the container changed nothing.
    pub layer: Option<LayerRecord>,
    /// Holds the new layer until an image refers to it.
    pub lease: Lease,
}

/// A commit request checked before the container is touched.
pub struct CheckedCommit {
    opts: CommitOptions,
    reference: Option<Reference>,
}

impl CheckedCommit {
    /// Checks the tag and the `--change` instructions of `opts`.
    pub fn new(opts: CommitOptions) -> Result<CheckedCommit> {
        let reference = commit_reference(&opts.repo, &opts.tag)?;
        apply_changes(&mut ContainerConfig::default(), &opts.changes)?;
        Ok(CheckedCommit { opts, reference })
    }

    /// The request.
    pub fn options(&self) -> &CommitOptions {
        &self.opts
    }
}

impl ImageService {
    /// Records the image made of a container's committed layer; returns its id (`sha256:…`).
    #[tracing::instrument(skip_all, fields(container = %committed.container_id))]
    pub(crate) async fn commit(
        &self,
        checked: CheckedCommit,
        committed: ContainerLayer,
    ) -> Result<String> {
        let CheckedCommit { opts, reference } = checked;
        let rec = &committed;
        let parent_id = oci::Digest::parse(&rec.image_id).map_err(|source| Error::BadDigest {
            what: format!("container image id {}", rec.image_id),
            source,
        })?;
        let parent = self.record(parent_id.as_str()).await.map_err(|_| {
            Error::Conflict(format!(
                "the image of container {} ({}) was removed: cannot commit it",
                rec.container_id, rec.image_id
            ))
        })?;
        let parent_cfg = self.config(&parent.id).await?;
        let container_cfg = to_oci(&rec.config)?;
        let mut config = match &opts.config {
            Some(c) => to_oci(c)?,
            None => container_cfg.clone(),
        };
        apply_changes(&mut config, &opts.changes)?;
        merge(&mut config, &container_cfg);

        let created = clock::rfc3339(clock::now_nanos());
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let mut image_cfg: ImageConfig = parent_cfg.clone();
        image_cfg.created = Some(created.clone());
        image_cfg.author = nonempty(&opts.author);
        image_cfg.comment = nonempty(&opts.comment);
        image_cfg.docker_version = Some(format!("berth {VERSION}"));
        image_cfg.container = Some(rec.container_id.clone());
        image_cfg.container_config = None;
        image_cfg.config = Some(config);
        image_cfg.history.push(History {
            created: Some(created),
            created_by: Some(
                rec.config
                    .cmd
                    .as_ref()
                    .map(|c| c.join(" "))
                    .unwrap_or_default(),
            ),
            author: nonempty(&opts.author),
            comment: nonempty(&opts.comment),
            empty_layer: committed.layer.is_none(),
            extra: Default::default(),
        });
        let mut layers = parent.layers.clone();
        if let Some(l) = &committed.layer {
            image_cfg.rootfs.diff_ids.push(l.diff_id.clone());
            layers.push(l.clone());
        }
        let tags: Vec<Reference> = reference.iter().cloned().collect();
        let container_id = rec.container_id.clone();
        // An empty diff still made a (tar-of-nothing) layer: garbage once the lease goes.
        let collect = committed.layer.is_none();
        let id = self
            .blocking(move |s| {
                let lease = committed.lease;
                let r = s
                    .create_image(
                        &lease,
                        NewImage {
                            config: image_cfg.to_vec(),
                            config_media_type: oci::media_type::DOCKER_CONFIG.into(),
                            layers,
                            repo_tags: tags,
                            parent: Some(parent.id.clone()),
                            ..Default::default()
                        },
                    )
                    .map_err(Error::from)?;
                lease.release().map_err(Error::from)?;
                if collect {
                    s.gc().map_err(Error::from)?;
                }
                Ok(r.id)
            })
            .await?;
        if let Some(r) = &reference {
            // Move the tag here even when another image held it.
            let (r2, id2) = (r.clone(), id.clone());
            self.blocking(move |s| s.tag(&r2, &id2).map_err(Error::from))
                .await?;
        }
        let mut attrs = BTreeMap::new();
        attrs.insert("comment".to_string(), opts.comment.clone());
        attrs.insert("imageID".to_string(), id.to_string());
        attrs.insert(
            "imageRef".to_string(),
            reference.as_ref().map(|r| r.familiar()).unwrap_or_default(),
        );
        self.events
            .publish("container", "commit", &container_id, attrs);
        Ok(id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(json: &str) -> ContainerConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn merge_fills_what_the_user_left_empty() {
        let mut user = cfg(r#"{"Env":["A=1"],"Labels":{"x":"1"}}"#);
        let image = cfg(
            r#"{"User":"app","Env":["A=0","PATH=/bin"],"Cmd":["sh"],"Labels":{"x":"0","y":"2"},"WorkingDir":"/w"}"#,
        );
        merge(&mut user, &image);
        assert_eq!(user.user.as_deref(), Some("app"));
        assert_eq!(user.env.unwrap(), vec!["A=1", "PATH=/bin"]);
        assert_eq!(user.cmd.unwrap(), vec!["sh"]);
        let labels = user.labels.unwrap();
        assert_eq!((labels["x"].as_str(), labels["y"].as_str()), ("1", "2"));
        assert_eq!(user.working_dir.as_deref(), Some("/w"));
    }

    #[test]
    fn an_entrypoint_change_clears_the_cmd_unless_a_cmd_came_first() {
        let mut c = cfg(r#"{"Cmd":["sh"]}"#);
        apply_changes(&mut c, &["ENTRYPOINT [\"/bin/echo\"]".into()]).unwrap();
        assert_eq!(c.cmd, None);
        assert_eq!(
            c.entrypoint.as_deref(),
            Some(&["/bin/echo".to_string()][..])
        );
        let mut c = cfg(r#"{"Cmd":["sh"]}"#);
        apply_changes(
            &mut c,
            &["CMD [\"hi\"]".into(), "ENTRYPOINT [\"/bin/echo\"]".into()],
        )
        .unwrap();
        assert_eq!(c.cmd.as_deref(), Some(&["hi".to_string()][..]));
    }

    #[test]
    fn tags_follow_dockers_rules() {
        assert_eq!(commit_reference("", "v1").unwrap(), None);
        assert_eq!(
            commit_reference("app", "").unwrap().unwrap().to_string(),
            "docker.io/library/app:latest"
        );
        assert_eq!(
            commit_reference("localhost:5000/x", "v2")
                .unwrap()
                .unwrap()
                .familiar(),
            "localhost:5000/x:v2"
        );
        assert!(commit_reference("App", "").is_err());
        assert!(commit_reference("app", "bad tag").is_err());
    }
}
