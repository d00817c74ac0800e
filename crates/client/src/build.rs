//! `POST /build`: the context tar is the request body, the options are the query, and the
//! answer is the builder's JSON message stream.

use std::collections::BTreeMap;

use api_types::build::{ContextManifest, ContextSyncResponse};
use api_types::JsonMessage;
use hyper::Method;
use tokio::io::AsyncRead;

use crate::body::{self, BodyReader, JsonStream};
use crate::error::Result;
use crate::request::Query;
use crate::Client;

/// The options of a build (docker's `client.ImageBuildOptions`, classic builder).
#[derive(Debug, Clone, Default)]
pub struct ImageBuildOptions {
    /// The Dockerfile's path inside the context.
    pub dockerfile: String,
    /// `-t` values.
    pub tags: Vec<String>,
    /// `--build-arg`s; `None`: named without a value.
    pub build_args: BTreeMap<String, Option<String>>,
    /// `--label`s.
    pub labels: BTreeMap<String, String>,
    /// `--target`.
    pub target: Option<String>,
    /// `--network`.
    pub network_mode: String,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--rm`.
    pub remove: bool,
    /// `--force-rm`.
    pub force_remove: bool,
    /// `-q`.
    pub quiet: bool,
    /// `--pull`.
    pub pull: bool,
    /// `--cache-from`.
    pub cache_from: Vec<String>,
    /// `--add-host`.
    pub extra_hosts: Vec<String>,
    /// `--platform`.
    pub platform: Option<String>,
    /// `-m`, bytes.
    pub memory: i64,
    /// `--memory-swap`, bytes.
    pub memory_swap: i64,
    /// `--shm-size`, bytes.
    pub shm_size: i64,
    /// `--cpu-shares`.
    pub cpu_shares: i64,
    /// `--cpu-period`.
    pub cpu_period: i64,
    /// `--cpu-quota`.
    pub cpu_quota: i64,
    /// `--cpuset-cpus`.
    pub cpuset_cpus: Option<String>,
    /// `--cpuset-mems`.
    pub cpuset_mems: Option<String>,
    /// `--cgroup-parent`.
    pub cgroup_parent: Option<String>,
    /// `--isolation`.
    pub isolation: Option<String>,
    /// `--ulimit`s, as JSON objects.
    pub ulimits: Vec<serde_json::Value>,
    /// `--security-opt`.
    pub security_opt: Vec<String>,
    /// `--squash`.
    pub squash: bool,
    /// `X-Registry-Config`: base64url JSON of credentials by registry.
    pub registry_config: Option<String>,
    /// `X-Berth-Build-Secrets`: base64 JSON of secrets by id (berth's `--secret`).
    pub secrets: Option<String>,
    /// `X-Berth-Context`: the token of a context sync; the body then carries only the files
    /// the sync asked for.
    pub context_token: Option<String>,
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

impl ImageBuildOptions {
    fn query(&self) -> Query {
        let mut q = Query::new().set("dockerfile", self.dockerfile.clone());
        for t in &self.tags {
            q = q.set("t", t.clone());
        }
        for h in &self.extra_hosts {
            q = q.set("extrahosts", h.clone());
        }
        for s in &self.security_opt {
            q = q.set("securityopt", s.clone());
        }
        let num =
            |q: Query, k: &'static str, v: i64| if v != 0 { q.set(k, v.to_string()) } else { q };
        q = q
            .flag("q", self.quiet)
            .flag("nocache", self.no_cache)
            .set("rm", if self.remove { "1" } else { "0" })
            .flag("forcerm", self.force_remove)
            .flag("pull", self.pull)
            .flag("squash", self.squash)
            .set("networkmode", self.network_mode.clone())
            .opt("target", self.target.as_deref())
            .opt("platform", self.platform.as_deref())
            .opt("cpusetcpus", self.cpuset_cpus.as_deref())
            .opt("cpusetmems", self.cpuset_mems.as_deref())
            .opt("cgroupparent", self.cgroup_parent.as_deref())
            .opt("isolation", self.isolation.as_deref())
            .set("version", "1");
        q = num(q, "memory", self.memory);
        q = num(q, "memswap", self.memory_swap);
        q = num(q, "shmsize", self.shm_size);
        q = num(q, "cpushares", self.cpu_shares);
        q = num(q, "cpuperiod", self.cpu_period);
        q = num(q, "cpuquota", self.cpu_quota);
        if !self.build_args.is_empty() {
            q = q.set("buildargs", json(&self.build_args));
        }
        if !self.labels.is_empty() {
            q = q.set("labels", json(&self.labels));
        }
        if !self.cache_from.is_empty() {
            q = q.set("cachefrom", json(&self.cache_from));
        }
        if !self.ulimits.is_empty() {
            q = q.set("ulimits", json(&self.ulimits));
        }
        q
    }
}

impl Client {
    /// `POST /build/context?key=` (berth's context sync): which of `manifest`'s files the
    /// daemon lacks.
    pub async fn build_context_sync(
        &self,
        key: &str,
        manifest: &ContextManifest,
    ) -> Result<ContextSyncResponse> {
        let q = Query::new().set("key", key.to_string());
        let resp = self
            .post_json("/build/context", q, "context list", manifest)
            .await?;
        body::json(resp.into_body(), "context sync answer").await
    }

    /// `POST /build` with the context tar `tar` as the body.
    pub async fn image_build<R>(
        &self,
        opts: &ImageBuildOptions,
        tar: R,
    ) -> Result<JsonStream<JsonMessage>>
    where
        R: AsyncRead + Send + Sync + 'static,
    {
        let mut headers = vec![("Content-Type", "application/x-tar")];
        if let Some(c) = &opts.registry_config {
            headers.push(("X-Registry-Config", c.as_str()));
        }
        if let Some(s) = &opts.secrets {
            headers.push(("X-Berth-Build-Secrets", s.as_str()));
        }
        if let Some(t) = &opts.context_token {
            headers.push(("X-Berth-Context", t.as_str()));
        }
        let resp = self
            .send(
                Method::POST,
                "/build",
                opts.query(),
                body::from_reader(tar),
                &headers,
            )
            .await?;
        Ok(JsonStream::new(BodyReader::new(resp.into_body())))
    }
}
