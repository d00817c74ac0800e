//! RUN containers: ordinary containers of the container service (created, attached, started,
//! waited for, committed, removed — the classic builder's sequence), made from the builder's
//! `RunSpec`; their output is read from the attach stream and sent to the build's output.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use api_types::{ContainerCreateRequest, HostConfig, Ulimit};
use build::{Output, RunMount, RunSpec};
use tokio::io::AsyncReadExt;

use crate::container::{AttachOptions, ContainerService, WaitCondition};
use crate::error::{Error, Result};

/// The create request of a RUN container.
pub(crate) fn create_request(spec: &RunSpec) -> Result<ContainerCreateRequest> {
    let mut config: api_types::ContainerConfig = serde_json::to_value(&spec.config)
        .and_then(serde_json::from_value)
        .map_err(Error::ConfigConversion)?;
    config.image = spec.image.clone();
    // The image's VOLUMEs come with the image; the step asks for none of its own.
    config.volumes = None;
    config.attach_stdout = true;
    config.attach_stderr = true;
    let r = &spec.resources;
    let mut binds = Vec::new();
    let mut tmpfs = BTreeMap::new();
    for m in &spec.mounts {
        match m {
            RunMount::Bind {
                source,
                target,
                readonly,
            } => binds.push(serde_json::json!({
                "Type": "bind",
                "Source": source.display().to_string(),
                "Target": target,
                "ReadOnly": readonly,
            })),
            RunMount::Tmpfs { target, size } => {
                let opts = if *size > 0 {
                    format!("size={size}")
                } else {
                    String::new()
                };
                tmpfs.insert(target.clone(), opts);
            }
        }
    }
    let ulimits: Vec<Ulimit> = r
        .ulimits
        .iter()
        .map(|u| serde_json::from_value(u.clone()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::invalid(format!("invalid ulimits: {e}")))?;
    let host_config = HostConfig {
        network_mode: spec.network.clone(),
        extra_hosts: (!spec.extra_hosts.is_empty()).then(|| spec.extra_hosts.clone()),
        memory: r.memory,
        memory_swap: r.memory_swap,
        cpu_shares: r.cpu_shares,
        cpu_period: r.cpu_period,
        cpu_quota: r.cpu_quota,
        cpuset_cpus: r.cpuset_cpus.clone(),
        cpuset_mems: r.cpuset_mems.clone(),
        cgroup_parent: r.cgroup_parent.clone(),
        shm_size: r.shm_size,
        ulimits: (!ulimits.is_empty()).then_some(ulimits),
        mounts: (!binds.is_empty()).then_some(binds),
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        ..Default::default()
    };
    Ok(ContainerCreateRequest {
        config,
        host_config,
        networking_config: Default::default(),
    })
}

/// Sends output bytes to the build's output as text, keeping a UTF-8 sequence cut between
/// two chunks whole.
struct Text {
    carry: Vec<u8>,
}

impl Text {
    fn push(&mut self, out: &Output, bytes: &[u8]) {
        self.carry.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.carry) {
            Ok(_) => self.carry.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.carry.len(),
        };
        if valid == 0 {
            return;
        }
        let rest = self.carry.split_off(valid);
        out.stream(String::from_utf8_lossy(&self.carry).into_owned());
        self.carry = rest;
    }

    fn finish(&mut self, out: &Output) {
        if !self.carry.is_empty() {
            out.stream(String::from_utf8_lossy(&self.carry).into_owned());
            self.carry.clear();
        }
    }
}

/// Starts container `id`, streams its stdout and stderr to `out`, waits for its exit.
pub(crate) async fn run(svc: &Arc<ContainerService>, id: &str, out: &Output) -> Result<i64> {
    let session = svc
        .attach(
            id,
            AttachOptions {
                stream: true,
                stdout: true,
                stderr: true,
                ..Default::default()
            },
        )
        .await?;
    let (mut client, server) = tokio::io::duplex(256 * 1024);
    tokio::spawn(session.run(server));
    let waiter = svc.wait(id, WaitCondition::NextExit).await?;
    svc.start(id).await?;
    // Multiplexed frames: [stream, 0, 0, 0, len (u32 BE)] then len bytes.
    let mut text = Text { carry: Vec::new() };
    let mut head = [0u8; 8];
    let mut buf = Vec::new();
    while client.read_exact(&mut head).await.is_ok() {
        let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
        buf.resize(len, 0);
        if client.read_exact(&mut buf).await.is_err() {
            break;
        }
        text.push(out, &buf);
    }
    text.finish(out);
    let status = waiter.await;
    Ok(status.status_code)
}

/// Removes the mount points the runtime had to create in a RUN container's rw layer for the
/// step's mounts (and the directories made only to hold them), so the layer has the files
/// the command wrote and nothing else. An empty directory or file there is a mount point: a
/// command's writes under a mount go to the mount, and removing an overlay copy-up only shows
/// the image's own again.
pub(crate) fn remove_mountpoints(upper: &Path, targets: &[String]) {
    for t in targets {
        let rel = t.trim_start_matches('/');
        if rel.is_empty() {
            continue;
        }
        let mut p = upper.join(rel);
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let removed = if m.is_dir() {
            std::fs::remove_dir(&p).is_ok()
        } else if m.is_file() && m.len() == 0 {
            std::fs::remove_file(&p).is_ok()
        } else {
            false
        };
        if !removed {
            continue;
        }
        while let Some(parent) = p.parent().map(Path::to_path_buf) {
            if parent == upper || !parent.starts_with(upper) {
                break;
            }
            let opaque = rustix_opaque(&parent);
            if opaque || std::fs::remove_dir(&parent).is_err() {
                break;
            }
            p = parent;
        }
    }
}

/// Whether a directory is marked opaque (a deliberate "replaced by empty").
fn rustix_opaque(dir: &Path) -> bool {
    let mut v = [0u8; 1];
    matches!(
        rustix::fs::lgetxattr(dir, "trusted.overlay.opaque", &mut v),
        Ok(1) if v[0] == b'y'
    )
}
