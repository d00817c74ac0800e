//! What a build is asked to do: the classic `POST /build` parameters that reach the builder
//! (the API server parses the query; options berth refuses never get here).

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// Limits and settings the RUN containers get (`--memory`, `--cpu-shares` …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// `memory`, bytes (0: unset).
    pub memory: i64,
    /// `memswap`, bytes (0: unset, -1: unlimited).
    pub memory_swap: i64,
    /// `cpushares`.
    pub cpu_shares: i64,
    /// `cpuperiod`, microseconds.
    pub cpu_period: i64,
    /// `cpuquota`, microseconds.
    pub cpu_quota: i64,
    /// `cpusetcpus`.
    pub cpuset_cpus: String,
    /// `cpusetmems`.
    pub cpuset_mems: String,
    /// `cgroupparent`.
    pub cgroup_parent: String,
    /// `shmsize`, bytes (0: the default).
    pub shm_size: i64,
    /// `ulimits`, as docker sends them (`[{"Name":"nofile","Soft":…,"Hard":…}]`).
    pub ulimits: Vec<serde_json::Value>,
}

/// A build's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// The Dockerfile's path in the context (`dockerfile`, default `Dockerfile`).
    pub dockerfile: String,
    /// `t`: names to tag the result with.
    pub tags: Vec<String>,
    /// `buildargs`: a `None` value is a `--build-arg NAME` with no value and no such
    /// variable on the client.
    pub build_args: BTreeMap<String, Option<String>>,
    /// `labels`: added to the last stage as LABEL steps.
    pub labels: BTreeMap<String, String>,
    /// `target`: the stage to stop at.
    pub target: Option<String>,
    /// `networkmode`: `default` (also empty), `none`, `host`, or a network name.
    pub network_mode: String,
    /// `nocache`.
    pub no_cache: bool,
    /// `pull`: pull base images even when present.
    pub pull: bool,
    /// `rm`: remove intermediate containers after a successful step (default true).
    pub remove: bool,
    /// `forcerm`: remove them even after a failure.
    pub force_remove: bool,
    /// `cachefrom`: images whose build steps count as cache.
    pub cache_from: Vec<String>,
    /// `platform`: `os[/arch[/variant]]`.
    pub platform: Option<String>,
    /// `extrahosts`: `host:ip` entries for the RUN containers' `/etc/hosts`.
    pub extra_hosts: Vec<String>,
    /// Limits of the RUN containers.
    pub resources: Resources,
    /// Secrets for `RUN --mount=type=secret`, by id (never stored in a layer or the cache).
    pub secrets: BTreeMap<String, Vec<u8>>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            dockerfile: "Dockerfile".into(),
            tags: Vec::new(),
            build_args: BTreeMap::new(),
            labels: BTreeMap::new(),
            target: None,
            network_mode: String::new(),
            no_cache: false,
            pull: false,
            remove: true,
            force_remove: false,
            cache_from: Vec::new(),
            platform: None,
            extra_hosts: Vec::new(),
            resources: Resources::default(),
            secrets: BTreeMap::new(),
        }
    }
}

/// The host platform as OCI names it.
pub fn host_platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    ("linux", arch)
}

/// A platform string checked against what this host runs: `linux`, `linux/<host arch>`
/// (with an optional variant). Builds for other platforms are refused: they need emulation.
pub fn check_platform(p: &str) -> Result<()> {
    let (os, arch) = host_platform();
    let mut parts = p.split('/');
    let want_os = parts.next().unwrap_or("");
    let want_arch = parts.next();
    let bad = |reason: String| Error::InvalidOption {
        option: "platform",
        value: p.to_string(),
        reason,
    };
    if want_os != os {
        return Err(bad(format!(
            "berth builds only for {os}/{arch} (this host)"
        )));
    }
    if let Some(a) = want_arch {
        let a = if a == "x86_64" { "amd64" } else { a };
        if a != arch {
            return Err(bad(format!(
                "berth builds only for {os}/{arch}: running {a} steps needs an emulator"
            )));
        }
    }
    if parts.clone().count() > 1 {
        return Err(bad("expected os[/arch[/variant]]".into()));
    }
    Ok(())
}

impl BuildOptions {
    /// The build's network mode with `""` and `default` folded together.
    pub fn network(&self) -> &str {
        match self.network_mode.as_str() {
            "" => "default",
            m => m,
        }
    }

    /// Checks values the builder interprets itself.
    pub fn validate(&self) -> Result<()> {
        if let Some(p) = &self.platform {
            check_platform(p)?;
        }
        if self.dockerfile.is_empty() {
            return Err(Error::InvalidOption {
                option: "dockerfile",
                value: String::new(),
                reason: "must not be empty".into(),
            });
        }
        for h in &self.extra_hosts {
            if !h.contains(':') && !h.contains('=') {
                return Err(Error::InvalidOption {
                    option: "extrahosts",
                    value: h.clone(),
                    reason: "expected host:ip".into(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms() {
        let (_, arch) = host_platform();
        assert!(check_platform("linux").is_ok());
        assert!(check_platform(&format!("linux/{arch}")).is_ok());
        assert!(check_platform("windows/amd64").is_err());
        assert!(check_platform("linux/s390x").is_err());
    }
}
