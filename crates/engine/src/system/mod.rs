//! `SystemService`: `/version`, `/info` (`info`) and the event stream (`events`).

mod events;
mod info;

pub use events::EventStream;

use std::sync::Arc;

use api_types::{ComponentVersion, PlatformName, SystemVersion};

use crate::container::ContainerService;
use crate::events::EventBus;
use crate::image::ImageService;
use crate::EngineConfig;

/// berth's version, as `/version` reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Facts about the daemon and its host.
pub struct SystemService {
    cfg: Arc<EngineConfig>,
    containers: Arc<ContainerService>,
    images: Arc<ImageService>,
    events: EventBus,
}

pub(crate) fn uname() -> (String, String) {
    match nix::sys::utsname::uname() {
        Ok(u) => (
            u.release().to_string_lossy().into_owned(),
            u.machine().to_string_lossy().into_owned(),
        ),
        Err(_) => (String::new(), String::new()),
    }
}

/// Go's name for the machine architecture (`x86_64` → `amd64`).
pub fn go_arch(machine: &str) -> &str {
    match machine {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "armv7l" => "arm",
        other => other,
    }
}

impl SystemService {
    pub(crate) fn new(
        cfg: Arc<EngineConfig>,
        containers: Arc<ContainerService>,
        images: Arc<ImageService>,
        events: EventBus,
    ) -> SystemService {
        SystemService {
            cfg,
            containers,
            images,
            events,
        }
    }

    /// `GET /version`: the engine, with the commit and commit time it was built from, and the
    /// parts that run containers (the shim, the default runtime, the init binary).
    pub fn version(&self) -> SystemVersion {
        let (kernel, machine) = uname();
        let arch = go_arch(&machine).to_string();
        let b = &self.cfg.build;
        let go_version = format!("rust{}", b.rustc_version);
        let mut components = vec![
            ComponentVersion {
                name: "Engine".into(),
                version: VERSION.into(),
                details: Some(serde_json::json!({
                    "ApiVersion": api_types::version::API_VERSION,
                    "MinAPIVersion": api_types::version::MIN_API_VERSION,
                    "Os": "linux",
                    "Arch": arch,
                    "KernelVersion": kernel,
                    "GitCommit": b.git_commit,
                    "GoVersion": go_version,
                    "BuildTime": b.build_time,
                    "Experimental": "false",
                })),
            },
            ComponentVersion {
                name: "berth-shim".into(),
                version: VERSION.into(),
                details: Some(serde_json::json!({"GitCommit": b.git_commit})),
            },
            ComponentVersion {
                name: self.cfg.runtimes.default_name().to_string(),
                version: self.cfg.runtimes.default_version(),
                details: None,
            },
        ];
        if let Some(init) = &self.cfg.init_binary {
            components.push(ComponentVersion {
                name: "docker-init".into(),
                version: info::init_version(init),
                details: None,
            });
        }
        SystemVersion {
            platform: PlatformName {
                name: format!("berth {VERSION}"),
            },
            components,
            version: VERSION.into(),
            api_version: api_types::version::API_VERSION.into(),
            min_api_version: api_types::version::MIN_API_VERSION.into(),
            git_commit: b.git_commit.clone(),
            go_version,
            os: "linux".into(),
            arch,
            kernel_version: kernel,
            experimental: false,
            build_time: b.build_time.clone(),
        }
    }
}
