//! `POST /build` (the classic builder's API: the context tar as the body, options in the
//! query, registry credentials in `X-Registry-Config`, JSON messages streamed back) and
//! `POST /build/prune`, and berth's context sync (`POST /build/context`), over a
//! [`BuildBackend`]. What berth cannot do — a remote context, squash, BuildKit sessions and
//! outputs, security options — is refused with a 400 naming it, before the backend is asked.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use futures_util::stream;

use api_types::build::{ContextManifest, ContextSyncResponse};
use api_types::query::parse_bool;
use api_types::{AuthConfig, BuildCachePruneResponse, Filters};
use engine::builder::{BuildOptions, BuildRequest, PruneOptions};

use crate::backend::BuildBackend;
use crate::error::{ApiError, ApiResult};

/// The build routes.
pub fn routes<B: BuildBackend>(svc: Arc<B>) -> Router {
    Router::new()
        .route("/build", post(build::<B>))
        .route("/build/context", post(sync_context::<B>))
        .route("/build/prune", post(prune::<B>))
        .with_state(svc)
}

/// The query's values, in order (repeated keys kept).
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<&str>) -> ApiResult<Params> {
        serde_urlencoded::from_str(raw.unwrap_or(""))
            .map(Params)
            .map_err(|e| ApiError::bad_request(format!("invalid query parameters: {e}")))
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, v)| key == k && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn flag(&self, k: &str) -> bool {
        self.get(k).is_some_and(parse_bool)
    }

    fn int(&self, k: &str) -> ApiResult<i64> {
        match self.get(k).filter(|v| !v.is_empty()) {
            None => Ok(0),
            Some(v) => v.parse().map_err(|_| {
                ApiError::bad_request(format!("invalid {k} value {v:?}: expected an integer"))
            }),
        }
    }

    fn json<T: serde::de::DeserializeOwned + Default>(&self, k: &str) -> ApiResult<T> {
        match self.get(k).filter(|v| !v.is_empty()) {
            None => Ok(T::default()),
            Some(v) => serde_json::from_str(v)
                .map_err(|e| ApiError::bad_request(format!("error reading {k}: {e}"))),
        }
    }
}

/// Parameters berth refuses when set, and why.
fn refuse(p: &Params) -> ApiResult<()> {
    let set = |k: &str| p.get(k).is_some_and(|v| !v.is_empty());
    if set("remote") {
        return Err(ApiError::bad_request(
            "remote build contexts (a URL or git repository in `remote`) are not supported by berth: send the context as the request body",
        ));
    }
    if p.flag("squash") {
        return Err(ApiError::bad_request(
            "--squash is not supported by berth: the image keeps one layer per step",
        ));
    }
    match p.get("version").unwrap_or("") {
        "" | "1" => {}
        "2" => {
            return Err(ApiError::bad_request(
                "BuildKit sessions (version=2) are not supported by berth: it builds with the classic API (DOCKER_BUILDKIT=0), BuildKit's Dockerfile features included",
            ))
        }
        v => return Err(ApiError::bad_request(format!("invalid version {v:?}"))),
    }
    for k in ["session", "outputs"] {
        if set(k) {
            return Err(ApiError::bad_request(format!(
                "{k} is a BuildKit option, which berth's builder does not take"
            )));
        }
    }
    if !p.all("securityopt").is_empty() {
        return Err(ApiError::bad_request(
            "security options are not supported on linux",
        ));
    }
    match p.get("isolation").unwrap_or("") {
        "" | "default" => {}
        i => {
            return Err(ApiError::bad_request(format!(
                "unsupported isolation: {i:?}"
            )))
        }
    }
    Ok(())
}

/// `X-Registry-Config`: base64 JSON of credentials by registry (decode errors ignored, as
/// dockerd does).
fn registry_config(headers: &HeaderMap) -> BTreeMap<String, AuthConfig> {
    let Some(v) = headers
        .get("x-registry-config")
        .and_then(|v| v.to_str().ok())
    else {
        return BTreeMap::new();
    };
    let engines = [
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::STANDARD,
    ];
    engines
        .iter()
        .find_map(|e| e.decode(v.trim()).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// `X-Berth-Build-Secrets` (berth's CLI): base64 JSON `{id: base64 content}` for
/// `RUN --mount=type=secret`.
fn secrets(headers: &HeaderMap) -> ApiResult<BTreeMap<String, Vec<u8>>> {
    let Some(v) = headers
        .get("x-berth-build-secrets")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(BTreeMap::new());
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let bad = |what: &str| ApiError::bad_request(format!("invalid X-Berth-Build-Secrets: {what}"));
    let json = b64.decode(v.trim()).map_err(|_| bad("not base64"))?;
    let map: BTreeMap<String, String> =
        serde_json::from_slice(&json).map_err(|_| bad("not a JSON object of strings"))?;
    map.into_iter()
        .map(|(k, v)| Ok((k, b64.decode(v).map_err(|_| bad("a value is not base64"))?)))
        .collect()
}

fn options(p: &Params, headers: &HeaderMap) -> ApiResult<BuildRequest> {
    refuse(p)?;
    let mut o = BuildOptions {
        dockerfile: p
            .get("dockerfile")
            .filter(|d| !d.is_empty())
            .unwrap_or("Dockerfile")
            .to_string(),
        tags: p.all("t"),
        build_args: p.json("buildargs")?,
        labels: p.json("labels")?,
        target: p
            .get("target")
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        network_mode: p.get("networkmode").unwrap_or("").to_string(),
        no_cache: p.flag("nocache"),
        pull: p.flag("pull"),
        remove: true,
        force_remove: p.flag("forcerm"),
        cache_from: p.json("cachefrom")?,
        platform: p
            .get("platform")
            .filter(|v| !v.is_empty())
            .map(str::to_string),
        extra_hosts: p.all("extrahosts"),
        secrets: secrets(headers)?,
        ..Default::default()
    };
    // dockerd: `forcerm` implies `rm`; without `rm`, intermediate containers are removed.
    if !o.force_remove && p.get("rm").is_some_and(|v| !v.is_empty()) {
        o.remove = p.flag("rm");
    }
    let r = &mut o.resources;
    r.memory = p.int("memory")?;
    r.memory_swap = p.int("memswap")?;
    r.cpu_shares = p.int("cpushares")?;
    r.cpu_period = p.int("cpuperiod")?;
    r.cpu_quota = p.int("cpuquota")?;
    r.shm_size = p.int("shmsize")?;
    r.cpuset_cpus = p.get("cpusetcpus").unwrap_or("").to_string();
    r.cpuset_mems = p.get("cpusetmems").unwrap_or("").to_string();
    r.cgroup_parent = p.get("cgroupparent").unwrap_or("").to_string();
    r.ulimits = p.json("ulimits")?;
    for t in &o.tags {
        if engine::builder::tag_has_digest(t).map_err(ApiError::bad_request)? {
            return Err(ApiError::bad_request("build tag cannot contain a digest"));
        }
    }
    Ok(BuildRequest {
        options: o,
        auth: registry_config(headers),
        quiet: p.flag("q"),
        context_token: headers
            .get("x-berth-context")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    })
}

/// `POST /build`.
pub async fn build<B: BuildBackend>(
    State(engine): State<Arc<B>>,
    RawQuery(q): RawQuery,
    req: Request,
) -> ApiResult<Response> {
    let headers = req.headers().clone();
    let (reader, drain) = crate::body::reader(req);
    let request = match Params::parse(q.as_deref()).and_then(|p| options(&p, &headers)) {
        Ok(r) => r,
        Err(e) => {
            drain.finish().await;
            return Err(e);
        }
    };
    let rx = match engine.build(request, reader).await {
        Ok(rx) => rx,
        Err(e) => {
            // The client may still be sending its context: read it all, so it sees the error.
            drain.finish().await;
            return Err(e.into());
        }
    };
    let lines = stream::unfold(rx, |mut rx| async move {
        let m = rx.recv().await?;
        Some((Ok::<_, std::io::Error>(Bytes::from(m.to_line())), rx))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(lines),
    )
        .into_response())
}

/// `POST /build/context?key=` (berth's CLI): the context's entry list; the answer names the
/// files the build's body must carry (see `api_types::build`).
pub async fn sync_context<B: BuildBackend>(
    State(engine): State<Arc<B>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult<Json<ContextSyncResponse>> {
    let p = Params::parse(q.as_deref())?;
    let key = p.get("key").unwrap_or("");
    let manifest: ContextManifest = super::json_body(&body)?;
    Ok(Json(engine.sync_context(key, manifest).await?))
}

/// `POST /build/prune?all=&filters=&keep-storage=`.
pub async fn prune<B: BuildBackend>(
    State(engine): State<Arc<B>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<BuildCachePruneResponse>> {
    let p = Params::parse(q.as_deref())?;
    for k in [
        "keep-storage",
        "reserved-space",
        "max-used-space",
        "min-free-space",
    ] {
        if p.int(k)? != 0 {
            return Err(ApiError::bad_request(format!(
                "{k} is not supported by berth: builder prune removes the build cache it selects, whatever its size"
            )));
        }
    }
    let filters = Filters::parse(p.get("filters").unwrap_or(""))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let opts = PruneOptions {
        all: p.flag("all"),
        filters,
    };
    Ok(Json(engine.prune(opts).await?))
}
