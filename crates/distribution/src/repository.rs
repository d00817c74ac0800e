//! One repository on one registry, for one operation: manifests, blobs (ranged, for resume),
//! existence checks, cross-repository mounts, monolithic and chunked uploads, tags.
//!
//! Pull requests go to the mirrors first, in order, then to the origin; a mirror that fails
//! (unreachable, 404, 5xx) is skipped for the rest of the operation. Pushes go to the origin.

use std::collections::HashSet;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use oci::{media_type, Digest, Reference};
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RANGE,
};
use reqwest::{Method, StatusCode};
use tokio::io::AsyncReadExt;
use tokio::sync::OnceCell;

use crate::auth::AuthConfig;
use crate::auth::Credentials;
use crate::error::{Error, Result};
use crate::registry::{AuthState, Endpoint, Registries, Req};

/// Largest manifest or config accepted (Docker's limit for manifests is 4 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// Largest image config accepted.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Every manifest type berth can use, for `Accept`.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// A blob body being received.
pub struct BlobBody {
    /// Where in the blob this body starts (the requested offset when the registry honoured
    /// the `Range`, else 0).
    pub offset: u64,
    /// The bytes.
    pub stream: Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>,
    /// The host that serves it (a mirror's or the origin's).
    pub source: String,
}

/// The outcome of a cross-repository mount request.
#[derive(Debug)]
pub enum Mount {
    /// The registry linked the blob; nothing to upload.
    Mounted,
    /// The registry declined and opened an upload instead.
    Upload(Upload),
}

/// An open upload session.
#[derive(Debug)]
pub struct Upload {
    location: String,
}

/// One repository, with the credentials of one operation.
pub struct Repository {
    registries: Arc<Registries>,
    reference: Reference,
    auth: Arc<AuthState>,
    mirrors: Vec<Endpoint>,
    dead: Mutex<HashSet<usize>>,
    origin: OnceCell<Endpoint>,
    scopes: Vec<String>,
    push: bool,
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

impl Registries {
    /// A session on `reference`'s repository, for pulling (`push = false`: mirrors first) or
    /// pushing (origin only, pull+push scope).
    pub fn repository(
        self: &Arc<Self>,
        reference: &Reference,
        creds: Option<AuthConfig>,
        push: bool,
    ) -> Result<Repository> {
        let mirrors = if push {
            Vec::new()
        } else {
            self.mirrors(reference.domain())?
        };
        let actions = if push { "pull,push" } else { "pull" };
        Ok(Repository {
            registries: self.clone(),
            reference: reference.name_only(),
            auth: Arc::new(AuthState::new(creds)),
            mirrors,
            dead: Mutex::new(HashSet::new()),
            origin: OnceCell::new(),
            scopes: vec![format!("repository:{}:{actions}", reference.path())],
            push,
        })
    }
}

impl Repository {
    /// The repository (no tag).
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    async fn origin(&self) -> Result<Endpoint> {
        self.origin
            .get_or_try_init(|| {
                self.registries
                    .origin(self.reference.domain(), self.auth.clone())
            })
            .await
            .cloned()
    }

    /// Runs `op` on each live mirror, then on the origin, returning the first success. Mirror
    /// failures are logged and the mirror is not tried again in this session.
    async fn pull_each<T>(
        &self,
        what: &str,
        op: impl Fn(Endpoint) -> BoxFut<'static, T>,
    ) -> Result<T> {
        for (i, ep) in self.mirrors.iter().enumerate() {
            if self
                .dead
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&i)
            {
                continue;
            }
            match op(ep.clone()).await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    tracing::warn!(mirror = %ep.base, what, error = %e, "mirror failed; falling back");
                    self.dead
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(i);
                }
            }
        }
        op(self.origin().await?).await
    }

    fn path(&self, rest: &str) -> String {
        format!("/v2/{}/{rest}", self.reference.path())
    }

    fn familiar_with(&self, r: &str) -> String {
        let name = self.reference.familiar_name();
        if r.contains(':') {
            format!("{name}@{r}")
        } else {
            format!("{name}:{r}")
        }
    }

    /// Turns an error response to a pull request into docker's wording.
    async fn pull_error(&self, ep: &Endpoint, resp: reqwest::Response, reference: &str) -> Error {
        let status = resp.status();
        let e = ep.status_error(&Method::GET, resp).await;
        let anonymous = self.auth.creds.as_ref().is_none_or(|c| c.is_anonymous());
        match (status.as_u16(), e) {
            (401 | 403, Error::Unauthorized { .. } | Error::Status { .. }) if anonymous => {
                Error::Denied {
                    verb: if self.push { "push" } else { "pull" },
                    repository: self.reference.familiar_name(),
                    message: "requested access to the resource is denied".into(),
                }
            }
            (404, Error::Status { code, message, .. })
                if code.as_deref() == Some("NAME_UNKNOWN") && anonymous =>
            {
                let _ = message;
                Error::Denied {
                    verb: "pull",
                    repository: self.reference.familiar_name(),
                    message: "requested access to the resource is denied".into(),
                }
            }
            (404, Error::Status { message, .. }) => Error::ManifestUnknown {
                reference: self.familiar_with(reference),
                message: if message.is_empty() {
                    "manifest unknown".into()
                } else {
                    message
                },
            },
            (_, e) => e,
        }
    }

    /// Fetches the manifest or index `reference` (a tag or a digest): its bytes, media type
    /// and digest (verified when `reference` is a digest).
    pub async fn manifest(&self, reference: &str) -> Result<(Bytes, String, Digest)> {
        let this: &Repository = self;
        let path = self.path(&format!("manifests/{reference}"));
        let scopes = self.scopes.clone();
        let reference_s = reference.to_string();
        // SAFETY of lifetimes: the closure's futures borrow `this` only through clones.
        let fut =
            |ep: Endpoint| -> BoxFut<'static, (Bytes, String, Digest, Option<reqwest::Response>)> {
                let path = path.clone();
                let scopes = scopes.clone();
                Box::pin(async move {
                    let req = Req::new(Method::GET, &path, &scopes).header(ACCEPT, MANIFEST_ACCEPT);
                    let resp = ep.send(req).await?;
                    if !resp.status().is_success() {
                        if ep.mirror_ns.is_some() {
                            let e = ep.status_error(&Method::GET, resp).await;
                            return Err(e);
                        }
                        return Ok((
                            Bytes::new(),
                            String::new(),
                            Digest::sha256_of(b""),
                            Some(resp),
                        ));
                    }
                    let mt = resp
                        .headers()
                        .get(CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(|v| v.split(';').next().unwrap_or("").trim().to_string())
                        .unwrap_or_default();
                    let url = resp.url().to_string();
                    let body = read_limited(resp, MAX_MANIFEST_BYTES, &url).await?;
                    let d = Digest::sha256_of(&body);
                    Ok((body, mt, d, None))
                })
            };
        let (body, mt, digest, failed) = this.pull_each("manifest", fut).await?;
        if let Some(resp) = failed {
            let ep = self.origin().await?;
            return Err(self.pull_error(&ep, resp, &reference_s).await);
        }
        if let Ok(want) = Digest::parse(reference) {
            let actual = if want.algorithm() == digest.algorithm() {
                digest.clone()
            } else {
                Digest::compute(want.algorithm(), &body)
            };
            if actual != want {
                return Err(Error::DigestMismatch {
                    what: format!("manifest {}", self.familiar_with(reference)),
                    expected: want,
                    actual,
                });
            }
        }
        // Some registries send a generic type; trust the document then.
        let mt = if media_type::is_manifest(&mt) || media_type::is_index(&mt) {
            mt
        } else {
            probe_media_type(&body).unwrap_or(mt)
        };
        Ok((body, mt, digest))
    }

    /// Fetches a small blob (a config) whole, verifying its digest.
    pub async fn blob_bytes(&self, digest: &Digest, limit: u64) -> Result<Bytes> {
        let mut b = self.blob(digest, 0).await?;
        let mut out = Vec::new();
        while let Some(chunk) = b.stream.next().await {
            let chunk = chunk?;
            if (out.len() + chunk.len()) as u64 > limit {
                return Err(Error::TooLarge {
                    what: format!("blob {digest}"),
                    limit,
                });
            }
            out.extend_from_slice(&chunk);
        }
        let actual = Digest::compute(digest.algorithm(), &out);
        if actual != *digest {
            return Err(Error::DigestMismatch {
                what: format!("blob {digest}"),
                expected: digest.clone(),
                actual,
            });
        }
        Ok(out.into())
    }

    /// Starts receiving blob `digest` from byte `offset` (HTTP `Range`; the answer says
    /// whether the registry honoured it).
    pub async fn blob(&self, digest: &Digest, offset: u64) -> Result<BlobBody> {
        let path = self.path(&format!("blobs/{digest}"));
        let scopes = self.scopes.clone();
        let fut = move |ep: Endpoint| -> BoxFut<'static, BlobBody> {
            let path = path.clone();
            let scopes = scopes.clone();
            Box::pin(async move {
                let mut req = Req::new(Method::GET, &path, &scopes);
                if offset > 0 {
                    req = req.header(RANGE, &format!("bytes={offset}-"));
                }
                let resp = ep.send(req).await?;
                let status = resp.status();
                if !status.is_success() {
                    return Err(ep.status_error(&Method::GET, resp).await);
                }
                let start = if status == StatusCode::PARTIAL_CONTENT {
                    content_range_start(resp.headers()).unwrap_or(offset)
                } else {
                    0
                };
                let url = resp.url().to_string();
                let stream = resp
                    .bytes_stream()
                    .map_err(move |e| Error::transport("GET", &url, e))
                    .boxed();
                Ok(BlobBody {
                    offset: start,
                    stream,
                    source: ep.host.clone(),
                })
            })
        };
        self.pull_each("blob", fut).await
    }

    /// Tags of the repository (following `Link` pagination).
    pub async fn tags(&self) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let ep = self.origin().await?;
        let mut out = Vec::new();
        let mut next = Some(self.path("tags/list"));
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            if pages > 1000 {
                break;
            }
            let resp = ep.send(Req::new(Method::GET, &path, &self.scopes)).await?;
            if !resp.status().is_success() {
                return Err(self.pull_error(&ep, resp, "latest").await);
            }
            next = resp
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(|l| l.split(';').next())
                .map(|u| {
                    u.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string()
                });
            let url = resp.url().to_string();
            let body = read_limited(resp, MAX_MANIFEST_BYTES, &url).await?;
            let t: Tags = serde_json::from_slice(&body).map_err(|e| Error::Invalid {
                what: format!("tag list of {}", self.reference.familiar_name()),
                reason: e.to_string(),
            })?;
            out.extend(t.tags.unwrap_or_default());
        }
        Ok(out)
    }

    /// The size of blob `digest` in the repository, or `None` when it is not there.
    pub async fn blob_exists(&self, digest: &Digest) -> Result<Option<u64>> {
        let ep = self.origin().await?;
        let path = self.path(&format!("blobs/{digest}"));
        let resp = ep.send(Req::new(Method::HEAD, &path, &self.scopes)).await?;
        match resp.status() {
            s if s.is_success() => Ok(Some(
                resp.headers()
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            )),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(ep.status_error(&Method::HEAD, resp).await),
        }
    }

    /// Asks the registry to link blob `digest` from repository `from` (a path on the same
    /// registry) instead of uploading it.
    pub async fn mount(&self, digest: &Digest, from: &str) -> Result<Mount> {
        let ep = self.origin().await?;
        let path = format!(
            "{}?mount={digest}&from={}",
            self.path("blobs/uploads/"),
            percent_encoding::utf8_percent_encode(from, percent_encoding::NON_ALPHANUMERIC)
        );
        let mut scopes = self.scopes.clone();
        scopes.push(format!("repository:{from}:pull"));
        let resp = ep.send(Req::new(Method::POST, &path, &scopes)).await?;
        match resp.status() {
            StatusCode::CREATED => Ok(Mount::Mounted),
            StatusCode::ACCEPTED => Ok(Mount::Upload(Upload {
                location: location(&resp)?,
            })),
            _ => Err(ep.status_error(&Method::POST, resp).await),
        }
    }

    /// Opens an upload session.
    pub async fn start_upload(&self) -> Result<Upload> {
        let ep = self.origin().await?;
        let path = self.path("blobs/uploads/");
        let resp = ep
            .send(Req::new(Method::POST, &path, &self.scopes).header(CONTENT_LENGTH, "0"))
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(ep.status_error(&Method::POST, resp).await);
        }
        Ok(Upload {
            location: location(&resp)?,
        })
    }

    /// Uploads the file at `path` (`size` bytes, digest `digest`) through `upload`: in one
    /// `PUT` when it fits in a chunk, else as `PATCH` chunks and a closing `PUT`. `progress`
    /// is called with the bytes sent so far.
    pub async fn upload_file(
        &self,
        upload: Upload,
        path: &Path,
        digest: &Digest,
        size: u64,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
    ) -> Result<()> {
        let ep = self.origin().await?;
        let chunk = self.registries.opts.chunk_size.max(1 << 20);
        let mut location = upload.location;
        let mut sent = 0u64;
        if size > chunk {
            while sent < size {
                let len = chunk.min(size - sent);
                let mut h = HeaderMap::new();
                h.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                h.insert(CONTENT_LENGTH, HeaderValue::from(len));
                h.insert(
                    "content-range",
                    HeaderValue::from_str(&format!("{sent}-{}", sent + len - 1)).expect("ascii"),
                );
                let body = file_body(path, sent, len, progress.clone()).await?;
                let resp = ep
                    .send_stream(Method::PATCH, &location, h, body, &self.scopes)
                    .await?;
                if resp.status() != StatusCode::ACCEPTED {
                    return Err(ep.status_error(&Method::PATCH, resp).await);
                }
                location = location_from(&resp).unwrap_or(location);
                sent += len;
            }
        }
        let url = with_digest(&location, digest);
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        let body = if sent < size {
            h.insert(CONTENT_LENGTH, HeaderValue::from(size));
            file_body(path, 0, size, progress.clone()).await?
        } else {
            h.insert(CONTENT_LENGTH, HeaderValue::from(0u64));
            reqwest::Body::from(Vec::new())
        };
        let resp = ep
            .send_stream(Method::PUT, &url, h, body, &self.scopes)
            .await?;
        if resp.status() != StatusCode::CREATED {
            return Err(ep.status_error(&Method::PUT, resp).await);
        }
        Ok(())
    }

    /// Puts a manifest under `reference` (a tag or digest); returns its digest.
    pub async fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<Digest> {
        let ep = self.origin().await?;
        let path = self.path(&format!("manifests/{reference}"));
        let mut req = Req::new(Method::PUT, &path, &self.scopes).header(CONTENT_TYPE, media_type);
        let digest = Digest::sha256_of(&bytes);
        req.body = Some(bytes);
        let resp = ep.send(req).await?;
        if resp.status() != StatusCode::CREATED {
            return Err(ep.status_error(&Method::PUT, resp).await);
        }
        Ok(digest)
    }
}

fn content_range_start(h: &HeaderMap) -> Option<u64> {
    // `bytes 100-199/200`
    let v = h.get("content-range")?.to_str().ok()?;
    let v = v.trim().strip_prefix("bytes")?.trim();
    v.split('-').next()?.trim().parse().ok()
}

fn location_from(resp: &reqwest::Response) -> Option<String> {
    let loc = resp.headers().get(LOCATION)?.to_str().ok()?;
    // Relative locations resolve against the URL that answered.
    resp.url().join(loc).ok().map(|u| u.to_string())
}

fn location(resp: &reqwest::Response) -> Result<String> {
    location_from(resp).ok_or_else(|| Error::Invalid {
        what: format!("upload answer from {}", resp.url()),
        reason: "no Location header".into(),
    })
}

fn with_digest(location: &str, digest: &Digest) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}

async fn read_limited(resp: reqwest::Response, limit: u64, url: &str) -> Result<Bytes> {
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(Error::TooLarge {
            what: url.to_string(),
            limit,
        });
    }
    let mut s = resp.bytes_stream();
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        let c = c.map_err(|e| Error::transport("GET", url, e))?;
        if (out.len() + c.len()) as u64 > limit {
            return Err(Error::TooLarge {
                what: url.to_string(),
                limit,
            });
        }
        out.extend_from_slice(&c);
    }
    Ok(out.into())
}

/// The media type a manifest document declares, or its shape says.
fn probe_media_type(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if let Some(mt) = v.get("mediaType").and_then(|m| m.as_str()) {
        return Some(mt.to_string());
    }
    if v.get("manifests").is_some() {
        Some(media_type::OCI_INDEX.to_string())
    } else if v.get("config").is_some() {
        Some(media_type::OCI_MANIFEST.to_string())
    } else {
        None
    }
}

/// A request body streaming `len` bytes of `path` from `offset`, reporting progress.
async fn file_body(
    path: &Path,
    offset: u64,
    len: u64,
    progress: Arc<dyn Fn(u64) + Send + Sync>,
) -> Result<reqwest::Body> {
    use tokio::io::AsyncSeekExt;
    let mut f = tokio::fs::File::open(path)
        .await
        .map_err(|source| Error::File {
            path: path.to_path_buf(),
            source,
        })?;
    f.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(|source| Error::File {
            path: path.to_path_buf(),
            source,
        })?;
    let state = (f.take(len), offset);
    let s = futures_util::stream::unfold(state, move |(mut f, pos)| {
        let progress = progress.clone();
        async move {
            let mut buf = vec![0u8; 1 << 20];
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    progress(pos + n as u64);
                    Some((
                        Ok::<_, std::io::Error>(Bytes::from(buf)),
                        (f, pos + n as u64),
                    ))
                }
                Err(e) => Some((Err(e), (f, pos))),
            }
        }
    });
    Ok(reqwest::Body::wrap_stream(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        let mut h = HeaderMap::new();
        h.insert(
            "content-range",
            HeaderValue::from_static("bytes 100-199/200"),
        );
        assert_eq!(content_range_start(&h), Some(100));
        let d = Digest::sha256_of(b"x");
        assert_eq!(
            with_digest("http://r/u?a=1", &d),
            format!("http://r/u?a=1&digest={d}")
        );
        assert_eq!(
            probe_media_type(br#"{"schemaVersion":2,"manifests":[]}"#).as_deref(),
            Some(media_type::OCI_INDEX)
        );
    }
}
