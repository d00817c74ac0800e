//! Execs (`docker exec`): `POST /containers/{id}/exec`, `GET /exec/{id}/json` and
//! `POST /exec/{id}/resize`; starting one is in `exec_start`.
//!
//! Vocabulary: an *exec* is a process the user asked to run in a running container; it is
//! *created* (a record with its settings, an id like a container's), then *started* once
//! (the shim runs it), then *exited* with its exit code. Records live in memory only, as
//! dockerd's do: an exec that never started is dropped when its container exits; an exited
//! one stays inspectable (the docker CLI reads its exit code after the stream ends) until its
//! container is removed or, lazily, [`EXITED_TTL`] after it exited.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_types::{ExecConfig, ExecInspect, ExecProcessConfig};
use base64::Engine as _;
use tokio::sync::watch;

use super::state::Status;
use super::{names, ContainerService};
use crate::clock;
use crate::error::{Error, Result};

/// How long an exited exec stays inspectable while its container lives (dockerd's collector
/// drops them after 5–10 minutes).
pub const EXITED_TTL: Duration = Duration::from_secs(5 * 60);
/// How long a resize waits for the exec to be started (dockerd waits 10 s).
const RESIZE_WAIT: Duration = Duration::from_secs(10);

/// Where an exec is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecState {
    /// Created, not started.
    Created,
    /// `start` was called; the shim is starting the process.
    Starting,
    /// The process runs.
    Running { pid: i64 },
    /// The process exited (or could not be started: `pid` 0, dockerd's 126/127 codes).
    Exited { pid: i64, code: i64, at: i128 },
}

/// What an exec runs, fixed at create.
#[derive(Debug, Clone)]
pub struct ExecSettings {
    pub entrypoint: String,
    pub args: Vec<String>,
    pub tty: bool,
    pub privileged: bool,
    /// The exec's user, else the container's.
    pub user: String,
    /// The exec's working directory, else the container's.
    pub working_dir: String,
    /// The full environment (see `runtime::spec::exec::exec_env`).
    pub env: Vec<String>,
    pub open_stdin: bool,
    pub open_stdout: bool,
    pub open_stderr: bool,
    /// The detach sequence's bytes; empty means docker's default.
    pub detach_keys: Vec<u8>,
    /// `[height, width]` asked at create.
    pub console_size: Option<[u32; 2]>,
}

/// One exec.
pub struct Exec {
    pub id: String,
    pub container_id: String,
    pub settings: ExecSettings,
    state: watch::Sender<ExecState>,
}

impl Exec {
    /// The current state.
    pub fn state(&self) -> ExecState {
        *self.state.borrow()
    }

    /// Moves `Created` to `Starting`; the error says why it cannot start (dockerd's words).
    pub(crate) fn begin_start(&self) -> Result<()> {
        let mut err = None;
        self.state.send_if_modified(|s| match *s {
            ExecState::Created => {
                *s = ExecState::Starting;
                true
            }
            ExecState::Exited { .. } => {
                err = Some(format!("exec command {} has already run", self.id));
                false
            }
            _ => {
                err = Some(format!("exec command {} is already running", self.id));
                false
            }
        });
        match err {
            Some(m) => Err(Error::Conflict(m)),
            None => Ok(()),
        }
    }

    pub(crate) fn set_running(&self, pid: i64) {
        self.state.send_replace(ExecState::Running { pid });
    }

    pub(crate) fn set_exited(&self, code: i64) {
        let pid = match self.state() {
            ExecState::Running { pid } => pid,
            _ => 0,
        };
        self.state.send_replace(ExecState::Exited {
            pid,
            code,
            at: clock::now_nanos(),
        });
    }

    /// Waits until the exec exited (or `limit` passed); returns its exit code then.
    pub(crate) async fn exited(&self, limit: Duration) -> Option<i64> {
        let mut rx = self.state.subscribe();
        let res = tokio::time::timeout(
            limit,
            rx.wait_for(|s| matches!(s, ExecState::Exited { .. })),
        )
        .await;
        match res {
            Ok(Ok(s)) => match *s {
                ExecState::Exited { code, .. } => Some(code),
                _ => None,
            },
            _ => None,
        }
    }

    /// The command line as dockerd's events show it: `sh -c echo hi`.
    pub fn command_line(&self) -> String {
        let mut s = self.settings.entrypoint.clone();
        for a in &self.settings.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

/// Every exec of the daemon, by id.
#[derive(Default)]
pub struct ExecStore {
    by_id: Mutex<HashMap<String, Arc<Exec>>>,
}

impl ExecStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Exec>>> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An exec by full id.
    pub fn get(&self, id: &str) -> Option<Arc<Exec>> {
        self.lock().get(id).cloned()
    }

    fn insert(&self, e: Arc<Exec>) {
        let mut m = self.lock();
        let now = clock::now_nanos();
        let ttl = EXITED_TTL.as_nanos() as i128;
        m.retain(|_, x| !matches!(x.state(), ExecState::Exited { at, .. } if now - at > ttl));
        m.insert(e.id.clone(), e);
    }

    /// Forgets an exec (a healthcheck probe, once its result is recorded).
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The ids of a container's execs that have not exited (inspect's `ExecIDs`).
    pub fn live_ids(&self, container_id: &str) -> Option<Vec<String>> {
        let mut ids: Vec<String> = self
            .lock()
            .values()
            .filter(|e| e.container_id == container_id)
            .filter(|e| !matches!(e.state(), ExecState::Exited { .. }))
            .map(|e| e.id.clone())
            .collect();
        ids.sort();
        (!ids.is_empty()).then_some(ids)
    }

    /// The container exited: its execs that never started are gone (dockerd's cleanup);
    /// running ones end with it and keep their exit codes.
    pub fn container_exited(&self, container_id: &str) {
        self.lock().retain(|_, e| {
            e.container_id != container_id || !matches!(e.state(), ExecState::Created)
        });
    }

    /// The container was removed: all its execs go.
    pub fn container_removed(&self, container_id: &str) {
        self.lock().retain(|_, e| e.container_id != container_id);
    }
}

/// Reads `key` from a running container's view: dockerd's checks before an exec.
fn check_running(view: &super::record::ContainerRecord, key: &str) -> Result<()> {
    match view.state.status() {
        Status::Running => Ok(()),
        Status::Paused => Err(Error::Conflict(format!(
            "Container {key} is paused, unpause the container before exec"
        ))),
        Status::Restarting => Err(Error::Conflict(format!(
            "Container {} is restarting, wait until the container is running",
            view.id
        ))),
        _ => Err(Error::Conflict(format!(
            "container {} is not running",
            view.id
        ))),
    }
}

/// The checks of an exec's config that need no container: a command, no NUL byte where the
/// kernel takes C strings, detach keys that parse.
pub fn check_exec_config(cfg: &ExecConfig) -> Result<()> {
    let cmd = cfg.cmd.as_deref().unwrap_or_default();
    if cmd.is_empty() {
        return Err(Error::invalid("No exec command specified"));
    }
    let fields = [
        ("Cmd", cmd),
        ("Env", cfg.env.as_deref().unwrap_or_default()),
    ];
    for (field, list) in fields {
        if let Some(bad) = list.iter().find(|s| s.contains('\0')) {
            return Err(Error::invalid(format!(
                "invalid {field} entry {bad:?}: it contains a NUL byte"
            )));
        }
    }
    for (field, v) in [("User", &cfg.user), ("WorkingDir", &cfg.working_dir)] {
        if v.contains('\0') {
            return Err(Error::invalid(format!(
                "invalid {field}: it contains a NUL byte"
            )));
        }
    }
    if !cfg.detach_keys.is_empty() {
        super::attach::parse_detach_keys(&cfg.detach_keys).map_err(|_| {
            Error::invalid(format!(
                "Invalid escape keys ({}) provided",
                cfg.detach_keys
            ))
        })?;
    }
    Ok(())
}

/// dockerd's 404 for an unknown exec.
pub fn no_such_exec(id: &str) -> Error {
    Error::NoSuchExec(id.to_string())
}

impl ContainerService {
    /// An exec's event: the container's attributes (image, name, labels) plus `extra`.
    pub(crate) fn exec_event(&self, e: &Exec, action: String, extra: &[(&str, String)]) {
        match self.get(&e.container_id) {
            Ok(c) => self.publish_with(&c.view(), &action, extra),
            Err(_) => {
                let attrs = extra
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                self.events
                    .publish("container", action, &e.container_id, attrs);
            }
        }
    }

    /// `POST /containers/{id}/exec`: records an exec in a running container.
    #[tracing::instrument(skip(self, cfg))]
    pub async fn exec_create(&self, key: &str, cfg: ExecConfig) -> Result<String> {
        check_exec_config(&cfg)?;
        let cmd = cfg.cmd.clone().unwrap_or_default();
        let c = self.get(key)?;
        let view = c.view();
        check_running(&view, key)?;
        if !cfg.user.is_empty() {
            let rootfs = self.paths(&c.id).rootfs();
            let user = cfg.user.clone();
            let groups = view.host_config.group_add.clone().unwrap_or_default();
            tokio::task::spawn_blocking(move || {
                runtime::spec::user::resolve(&rootfs, &user, &groups)
            })
            .await
            .map_err(Error::task("user lookup"))?
            .map_err(Error::ExecUser)?;
        }
        let detach_keys = match cfg.detach_keys.as_str() {
            "" => Vec::new(),
            k => super::attach::parse_detach_keys(k)
                .map_err(|_| Error::invalid(format!("Invalid escape keys ({k}) provided")))?,
        };
        // Legacy links' variables come first, as at start (dockerd's `setupLinkedContainers`).
        let mut base = self.networks.link_env(&self.link_targets(&view)?)?;
        base.extend(view.config.env.iter().flatten().cloned());
        let env = runtime::spec::exec::exec_env(
            &view.config.hostname,
            cfg.tty,
            &base,
            cfg.env.as_deref().unwrap_or_default(),
        );
        let pick = |mine: &str, theirs: &str| match mine {
            "" => theirs.to_string(),
            m => m.to_string(),
        };
        let settings = ExecSettings {
            entrypoint: cmd[0].clone(),
            args: cmd[1..].to_vec(),
            tty: cfg.tty,
            privileged: cfg.privileged,
            user: pick(&cfg.user, &view.config.user),
            working_dir: pick(&cfg.working_dir, &view.config.working_dir),
            env,
            open_stdin: cfg.attach_stdin,
            open_stdout: cfg.attach_stdout,
            open_stderr: cfg.attach_stderr,
            detach_keys,
            console_size: cfg.console_size,
        };
        let (state, _) = watch::channel(ExecState::Created);
        let exec = Arc::new(Exec {
            id: names::new_id(),
            container_id: c.id.clone(),
            settings,
            state,
        });
        self.execs.insert(exec.clone());
        let action = format!("exec_create: {}", exec.command_line());
        self.exec_event(&exec, action, &[("execID", exec.id.clone())]);
        Ok(exec.id.clone())
    }

    /// Looks an exec up for start or resize: it and its container must exist, and the
    /// container must run (dockerd's `getExecConfig`).
    pub(crate) fn exec_for_use(&self, id: &str) -> Result<Arc<Exec>> {
        let e = self.execs.get(id).ok_or_else(|| no_such_exec(id))?;
        let c = self
            .get(&e.container_id)
            .map_err(|_| Error::NoSuchContainer(id.to_string()))?;
        check_running(&c.view(), &c.id)?;
        Ok(e)
    }

    /// `GET /exec/{id}/json`.
    pub fn exec_inspect(&self, id: &str) -> Result<ExecInspect> {
        let e = self.execs.get(id).ok_or_else(|| no_such_exec(id))?;
        if self.get(&e.container_id).is_err() {
            return Err(no_such_exec(id));
        }
        let s = &e.settings;
        let (running, exit_code, pid) = match e.state() {
            ExecState::Created => (false, None, 0),
            ExecState::Starting => (true, None, 0),
            ExecState::Running { pid } => (true, None, pid),
            ExecState::Exited { pid, code, .. } => (false, Some(code), pid),
        };
        Ok(ExecInspect {
            id: e.id.clone(),
            running,
            exit_code,
            process_config: ExecProcessConfig {
                tty: s.tty,
                entrypoint: s.entrypoint.clone(),
                arguments: s.args.clone(),
                privileged: Some(s.privileged),
                user: s.user.clone(),
            },
            open_stdin: s.open_stdin,
            open_stderr: s.open_stderr,
            open_stdout: s.open_stdout,
            can_remove: false,
            container_id: e.container_id.clone(),
            detach_keys: base64::engine::general_purpose::STANDARD.encode(&s.detach_keys),
            pid,
        })
    }

    /// `POST /exec/{id}/resize?h=&w=`: waits (up to 10 s) for the exec to start first.
    pub async fn exec_resize(&self, id: &str, height: u16, width: u16) -> Result<()> {
        let e = self.exec_for_use(id)?;
        let mut rx = e.state.subscribe();
        let state = match tokio::time::timeout(
            RESIZE_WAIT,
            rx.wait_for(|s| !matches!(s, ExecState::Created | ExecState::Starting)),
        )
        .await
        {
            Ok(Ok(s)) => *s,
            _ => return Err(Error::ExecNotReady),
        };
        match state {
            ExecState::Running { .. } => {}
            ExecState::Exited { pid: 0, .. } => {
                return Err(Error::invalid("exec process is not started"))
            }
            // It ended meanwhile: nothing left to resize.
            _ => return Ok(()),
        }
        let shim = self.get(&e.container_id)?.inner.lock().await.shim.clone();
        let Some(shim) = shim else {
            return Ok(());
        };
        match shim.handle().exec_resize(&e.id, width, height).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == runtime::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(Error::ExecResize(err)),
        }
    }
}
