//! `POST /images/create?fromSrc=-`: a root filesystem tarball (plain, gzip, zstd or xz) becomes
//! a one-layer image, in one pass through the store, with `--change` and `--message` applied.
//! `fromSrc=<URL>` (`docker import http://…/rootfs.tar`) downloads the tarball (HTTP or
//! HTTPS; a URL without a scheme is HTTP, as dockerd reads it) and imports it as it arrives.
//! A plain or gzip tarball is the layer's blob as received (as dockerd, which compresses only
//! when pushing); other compressions are stored gzip-compressed.

use std::collections::BTreeMap;

use oci::config::{ContainerConfig, History, RootFs};
use oci::{ImageConfig, Reference};
use store::{Content, ImportOptions as StoreImport, NewImage, Unpack};
use tokio::io::AsyncRead;

use super::{changes, ImageService};
use crate::clock;
use crate::error::{Error, ErrorKind, Result};
use crate::system::{go_arch, VERSION};

/// Options of import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `repo` query value; may carry a tag (`busybox:latest`).
    pub repo: Option<String>,
    /// `tag` query value.
    pub tag: Option<String>,
    /// `--message`.
    pub message: String,
    /// `--change` instructions.
    pub changes: Vec<String>,
    /// `--platform` (only linux is accepted).
    pub platform: Option<String>,
}

/// A download for `docker import <URL>` failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportUrlError {
    #[error("invalid URL {url:?}: only http and https are supported")]
    Scheme { url: String },
    #[error("failed to GET {url}: {source}")]
    Get {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("failed to GET {url} with status {status}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },
}

impl ImportUrlError {
    /// A URL that is wrong or names nothing is the client's; a server that fails is not.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ImportUrlError::Scheme { .. } => ErrorKind::InvalidArgument,
            ImportUrlError::Status { status, .. } if status.as_u16() == 404 => ErrorKind::NotFound,
            ImportUrlError::Status { status, .. } if status.is_client_error() => {
                ErrorKind::InvalidArgument
            }
            _ => ErrorKind::Unavailable,
        }
    }
}

impl ImageService {
    /// Imports the tarball at `url`; returns the new image's id.
    #[tracing::instrument(skip(self, opts))]
    pub async fn import_url(&self, url: &str, opts: ImportOptions) -> Result<String> {
        use futures_util::TryStreamExt;
        let url = if url.contains("://") {
            url.to_string()
        } else {
            format!("http://{url}")
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ImportUrlError::Scheme { url }.into());
        }
        let resp = reqwest::get(&url)
            .await
            .map_err(|source| ImportUrlError::Get {
                url: url.clone(),
                source,
            })?;
        if !resp.status().is_success() {
            return Err(ImportUrlError::Status {
                url,
                status: resp.status(),
            }
            .into());
        }
        let body = resp.bytes_stream().map_err(std::io::Error::other);
        self.import(tokio_util::io::StreamReader::new(body), opts)
            .await
    }

    /// Imports a tarball read from `body`; returns the new image's id (`sha256:…`).
    #[tracing::instrument(skip(self, body))]
    pub async fn import<R>(&self, body: R, opts: ImportOptions) -> Result<String>
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        if let Some(p) = opts.platform.as_deref().filter(|p| !p.is_empty()) {
            if !p.starts_with("linux") {
                return Err(Error::invalid(format!(
                    "platform {p} is not supported (linux only)"
                )));
            }
        }
        let reference = match opts.repo.as_deref().filter(|r| !r.is_empty()) {
            Some(repo) => {
                let r = Reference::parse(repo).map_err(Error::from)?;
                let r = match opts.tag.as_deref().filter(|t| !t.is_empty()) {
                    Some(t) => r.with_tag(t).map_err(Error::from)?,
                    None => r.with_default_tag(),
                };
                if r.digest().is_some() {
                    return Err(Error::invalid(
                        "cannot import an image with a digest reference",
                    ));
                }
                Some(r)
            }
            None => None,
        };
        // Validate the changes before reading a byte of the body.
        let mut config = ContainerConfig::default();
        changes::apply(&mut config, &opts.changes)?;
        let message = if opts.message.is_empty() {
            "Imported from -".to_string()
        } else {
            opts.message.clone()
        };

        let reader = tokio_util::io::SyncIoBridge::new(body);
        let reference2 = reference.clone();
        let id = self
            .blocking(move |s| {
                let lease = s.lease().map_err(Error::from)?;
                // Kept as received when plain or gzip: recompressing was most of import's time.
                let opts = StoreImport {
                    keep_as_received: true,
                    ..Default::default()
                };
                let content = Content::Tarball {
                    opts: &opts,
                    expect: None,
                };
                let layer = s
                    .unpack(&lease, reader, Unpack::on(None, content))
                    .map_err(|e| match e.kind() {
                        ErrorKind::InvalidArgument => Error::Import(e),
                        _ => e.into(),
                    })?
                    .layer()
                    .expect("a tarball keeps a blob");
                let created = clock::rfc3339(clock::now_nanos());
                let machine = nix::sys::utsname::uname()
                    .map(|u| u.machine().to_string_lossy().into_owned())
                    .unwrap_or_else(|_| "x86_64".into());
                let image_config = ImageConfig {
                    created: Some(created.clone()),
                    author: None,
                    architecture: go_arch(&machine).to_string(),
                    os: "linux".into(),
                    variant: None,
                    config: Some(config),
                    rootfs: RootFs::layers(vec![layer.diff_id.clone()]),
                    history: vec![History {
                        created: Some(created),
                        comment: Some(message.clone()),
                        ..Default::default()
                    }],
                    comment: Some(message),
                    docker_version: Some(format!("berth {VERSION}")),
                    container: None,
                    container_config: None,
                    extra: Default::default(),
                };
                let rec = s
                    .create_image(
                        &lease,
                        NewImage {
                            config: image_config.to_vec(),
                            config_media_type: oci::media_type::DOCKER_CONFIG.to_string(),
                            layers: vec![layer],
                            repo_tags: reference2.into_iter().collect(),
                            ..Default::default()
                        },
                    )
                    .map_err(Error::from)?;
                lease.release().map_err(Error::from)?;
                Ok(rec.id)
            })
            .await?;
        if let Some(r) = &reference {
            // A tag that pointed at another image moves here (create_image recorded it).
            let (r2, id2) = (r.clone(), id.clone());
            self.blocking(move |s| s.tag(&r2, &id2).map_err(Error::from))
                .await?;
        }
        let mut attrs = BTreeMap::new();
        if let Some(r) = &reference {
            attrs.insert("name".to_string(), r.familiar());
        }
        self.events.publish("image", "import", id.as_str(), attrs);
        Ok(id.to_string())
    }
}
