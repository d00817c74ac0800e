//! Container endpoints: create, start, stop, restart, kill, wait, delete, list, inspect,
//! logs, rename, top, prune. Attach and resize are in `attach`.

use api_types::filters::Filters;
use api_types::{
    ContainerCreateRequest, ContainerCreateResponse, ContainerInspect, ContainerPruneResponse,
    ContainerSummary, ContainerTopResponse, ContainerWaitResponse,
};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::Method;

use crate::body::{self, BodyReader};
use crate::error::Result;
use crate::request::Query;
use crate::Client;

/// Options of `GET /containers/json` (`docker ps`).
#[derive(Debug, Clone, Default)]
pub struct ListContainersOptions {
    /// Include stopped containers (`-a`).
    pub all: bool,
    /// Only the `n` most recently created (`-n`; `-l` is 1).
    pub limit: Option<i64>,
    /// Compute `SizeRw`/`SizeRootFs` (`-s`).
    pub size: bool,
    pub filters: Filters,
}

/// Options of stop and restart.
#[derive(Debug, Clone, Default)]
pub struct StopOptions {
    /// Signal to send first (`-s`); the container's `StopSignal` when unset.
    pub signal: Option<String>,
    /// Seconds before SIGKILL (`-t`); the container's `StopTimeout` when unset.
    pub timeout: Option<i64>,
}

/// Options of `DELETE /containers/{id}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    /// Kill a running container first (`-f`).
    pub force: bool,
    /// Remove anonymous volumes (`-v`).
    pub volumes: bool,
    /// Remove a legacy link (`--link`), not the container.
    pub link: bool,
}

/// Options of `GET /containers/{id}/logs`. `since`/`until` are unix timestamps as the
/// API takes them (`"1700000000.000000001"`); `tail` is a number or `"all"`.
#[derive(Debug, Clone)]
pub struct LogsOptions {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    pub timestamps: bool,
    pub details: bool,
    pub since: Option<String>,
    pub until: Option<String>,
    pub tail: Option<String>,
}

impl Default for LogsOptions {
    fn default() -> Self {
        LogsOptions {
            stdout: true,
            stderr: true,
            follow: false,
            timestamps: false,
            details: false,
            since: None,
            until: None,
            tail: None,
        }
    }
}

/// What `wait` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitCondition {
    /// Returns at once if the container is not running (the API's default).
    #[default]
    NotRunning,
    /// The next exit, even if the container has not started yet (`docker run`).
    NextExit,
    /// Removal, for `--rm` containers.
    Removed,
}

impl WaitCondition {
    fn as_query(self) -> &'static str {
        match self {
            WaitCondition::NotRunning => "not-running",
            WaitCondition::NextExit => "next-exit",
            WaitCondition::Removed => "removed",
        }
    }
}

/// A registered wait: the daemon has accepted it (the response head arrived), and the
/// result comes when the condition is met.
pub struct WaitHandle {
    body: Incoming,
}

impl WaitHandle {
    /// Waits for the condition and returns the daemon's answer.
    pub async fn result(self) -> Result<ContainerWaitResponse> {
        body::json(self.body, "wait response").await
    }
}

impl Client {
    /// `POST /containers/create?name=`.
    pub async fn container_create(
        &self,
        config: &ContainerCreateRequest,
        name: Option<&str>,
    ) -> Result<ContainerCreateResponse> {
        let q = Query::new().opt("name", name);
        let resp = self
            .post_json("/containers/create", q, "container config", config)
            .await?;
        body::json(resp.into_body(), "create response").await
    }

    /// `POST /containers/{id}/start`. Starting a running container succeeds (`304`).
    pub async fn container_start(&self, id: &str) -> Result<()> {
        let path = format!("/containers/{id}/start");
        self.send_discard(Method::POST, &path, Query::new()).await
    }

    /// `POST /containers/{id}/stop?signal=&t=`.
    pub async fn container_stop(&self, id: &str, opts: &StopOptions) -> Result<()> {
        let path = format!("/containers/{id}/stop");
        self.send_discard(Method::POST, &path, stop_query(opts))
            .await
    }

    /// `POST /containers/{id}/restart?signal=&t=`.
    pub async fn container_restart(&self, id: &str, opts: &StopOptions) -> Result<()> {
        let path = format!("/containers/{id}/restart");
        self.send_discard(Method::POST, &path, stop_query(opts))
            .await
    }

    /// `POST /containers/{id}/kill?signal=` (the daemon's default is SIGKILL).
    pub async fn container_kill(&self, id: &str, signal: Option<&str>) -> Result<()> {
        let path = format!("/containers/{id}/kill");
        let q = Query::new().opt("signal", signal);
        self.send_discard(Method::POST, &path, q).await
    }

    /// `POST /containers/{id}/wait?condition=`. Returns once the daemon has registered the
    /// wait, so a `start` issued afterwards cannot race past it.
    pub async fn container_wait(&self, id: &str, condition: WaitCondition) -> Result<WaitHandle> {
        let path = format!("/containers/{id}/wait");
        let q = match condition {
            WaitCondition::NotRunning => Query::new(),
            c => Query::new().set("condition", c.as_query()),
        };
        let resp = self.post(&path, q).await?;
        Ok(WaitHandle {
            body: resp.into_body(),
        })
    }

    /// `DELETE /containers/{id}?force=&v=&link=`.
    pub async fn container_remove(&self, id: &str, opts: RemoveOptions) -> Result<()> {
        let path = format!("/containers/{id}");
        let q = Query::new()
            .flag("v", opts.volumes)
            .flag("link", opts.link)
            .flag("force", opts.force);
        self.send_discard(Method::DELETE, &path, q).await
    }

    /// `GET /containers/json`.
    pub async fn container_list(
        &self,
        opts: &ListContainersOptions,
    ) -> Result<Vec<ContainerSummary>> {
        let mut q = Query::new()
            .flag("all", opts.all)
            .opt("limit", opts.limit.filter(|n| *n > 0))
            .flag("size", opts.size);
        if !opts.filters.is_empty() {
            q = q.set("filters", opts.filters.to_json());
        }
        self.get_json("/containers/json", q, "container list").await
    }

    /// `GET /containers/{id}/json`.
    pub async fn container_inspect(&self, id: &str, size: bool) -> Result<ContainerInspect> {
        let bytes = self.container_inspect_raw(id, size).await?;
        serde_json::from_slice(&bytes).map_err(|source| crate::Error::Decode {
            what: "container inspect",
            source,
        })
    }

    /// `GET /containers/{id}/json`, the body as sent (what `docker inspect` prints).
    pub async fn container_inspect_raw(&self, id: &str, size: bool) -> Result<Bytes> {
        let path = format!("/containers/{id}/json");
        let resp = self.get(&path, Query::new().flag("size", size)).await?;
        body::collect(resp.into_body()).await
    }

    /// `GET /containers/{id}/logs`: raw bytes with a TTY, multiplexed frames without (see
    /// [`crate::Demux`]).
    pub async fn container_logs(&self, id: &str, opts: &LogsOptions) -> Result<BodyReader> {
        let path = format!("/containers/{id}/logs");
        let q = Query::new()
            .flag("stdout", opts.stdout)
            .flag("stderr", opts.stderr)
            .opt("since", opts.since.as_deref())
            .opt("until", opts.until.as_deref())
            .flag("timestamps", opts.timestamps)
            .flag("details", opts.details)
            .flag("follow", opts.follow)
            .set("tail", opts.tail.clone().unwrap_or_else(|| "all".into()));
        let resp = self.get(&path, q).await?;
        Ok(BodyReader::new(resp.into_body()))
    }

    /// `POST /containers/{id}/rename?name=`.
    pub async fn container_rename(&self, id: &str, new_name: &str) -> Result<()> {
        let path = format!("/containers/{id}/rename");
        let q = Query::new().set("name", new_name);
        self.send_discard(Method::POST, &path, q).await
    }

    /// `GET /containers/{id}/top?ps_args=`.
    pub async fn container_top(
        &self,
        id: &str,
        ps_args: Option<&str>,
    ) -> Result<ContainerTopResponse> {
        let path = format!("/containers/{id}/top");
        let q = Query::new().opt("ps_args", ps_args);
        self.get_json(&path, q, "top response").await
    }

    /// `POST /containers/prune?filters=`.
    pub async fn containers_prune(&self, filters: &Filters) -> Result<ContainerPruneResponse> {
        let mut q = Query::new();
        if !filters.is_empty() {
            q = q.set("filters", filters.to_json());
        }
        let resp = self.post("/containers/prune", q).await?;
        body::json(resp.into_body(), "prune report").await
    }
}

fn stop_query(opts: &StopOptions) -> Query {
    Query::new()
        .opt("signal", opts.signal.as_deref())
        .opt("t", opts.timeout)
}
