//! The shim protocol between `berthd` and `berth-shim`, and (feature `client`) the daemon's
//! async client.
//!
//! # Files in a shim's state dir (`<exec-root>/shims/<id>/`)
//! | file | written by | content |
//! |---|---|---|
//! | `shim.json` | daemon, before spawning | [`ShimConfig`] |
//! | `shim.sock` | shim | the control socket below; removed when the shim exits |
//! | `shim.pid` | shim | the shim's pid; flock held for the shim's whole life ([`lock`]) |
//! | `exit.json` | shim, atomically (temp + rename), before it answers `wait` | [`ExitRecord`] |
//! | `shim.log` | shim | the shim's own diagnostics (its stderr) |
//! | `console.sock` | shim | libcontainer's console socket (TTY only, during create) |
//! | `config.json` | shim | the spec libcontainer creates the init from, when it differs from the bundle's (see `launcher::create`) |
//! | `<id>/` | libcontainer | runtime state (the state dir is the runtime's root); deleted after exit |
//!
//! Each start creates as few files as it can: on a filesystem without a journal (ext4 in
//! no-journal mode), every new inode costs a scan past the recently deleted ones. Shims of
//! earlier berth versions kept the runtime's root in `libcontainer/` and locked `shim.lock`;
//! both are still honoured when found.
//!
//! # Spawning
//! The daemon writes `shim.json` and runs `berth-shim <state-dir>`. That process forks and
//! exits at once; the child starts a new session (so it is no child of the daemon and outlives
//! it), creates the container — **created, not started**: init waits — and prints one JSON
//! line, [`SpawnReply`], on the stdout it inherited. The daemon reads that line (not up to EOF:
//! the waiting init holds a copy of the pipe until it execs), reaps the short-lived process, and
//! knows the init pid before `start`. Errors found before the fork are printed the same way by
//! the process run; a shim that dies before its line is reported as such.
//!
//! # The control socket
//! Each request is a new connection to `shim.sock`. The client writes one JSON line, a
//! [`Request`]; the shim answers one JSON line, a [`Response`] (`{"error":{…}}` on failure).
//! - `state` → `{"state":{…}}` at once.
//! - `start` → `{}` once the command runs; failures carry dockerd's wording.
//! - `attach` (`stdin`, `stdout`, `stderr` flags) → `{}`, then the connection *is* the stream:
//!   the shim sends output in Docker's wire format — raw bytes with a TTY, otherwise 8-byte
//!   frames `[stream, 0, 0, 0, len (u32 BE)]` + payload, stream 1 = stdout, 2 = stderr — ready to
//!   be spliced onto a hijacked HTTP connection; the client's bytes go to the container's stdin.
//!   When the client shuts down its write side, that attacher's stdin is done; with `StdinOnce`
//!   the first attacher to do so closes the container's stdin (the container sees EOF). The
//!   stream ends (EOF) after the container exited and its output was drained. Several attachers
//!   may be connected at once; one that cannot keep up (4 MiB behind) is disconnected rather than
//!   stalling the container.
//! - `resize` (`width`, `height`) → `{}`: TIOCSWINSZ on the pty master.
//! - `kill` (`signal`) → `{}`; through a pidfd, so never a recycled pid. Conflict once exited.
//! - `wait` → `{"exit":{…}}` when the container has exited (at once if it already has).
//! - `close-stdin` → `{}`: closes the container's stdin.
//! - `exec` (`exec_id`, `process`: the OCI process of `spec::exec::process`, `stdin`,
//!   `stdout`, `stderr`) → `{"exec":{"pid":…}}` once the process runs its command (a command
//!   that cannot run fails here, in runc's wording). With any stream asked for, the connection
//!   then *is* the exec's stream, in the same wire format as attach (raw with
//!   `process.terminal`, frames without); the client shutting down its write side closes the
//!   exec's stdin (pipes; a terminal stays open), and the stream ends once the process exited
//!   and its output was drained. The shim holds the exec's pty or pipes; an exec's single
//!   client slows the process down (back-pressure) rather than losing output. Unasked streams
//!   are `/dev/null`.
//! - `exec-resize` (`exec_id`, `width`, `height`) → `{}`: TIOCSWINSZ on the exec's pty.
//! - `exec-kill` (`exec_id`, `signal`) → `{}`: signals the exec through its pidfd (a
//!   healthcheck probe past its timeout is killed so); Conflict once it exited.
//! - `exec-wait` (`exec_id`) → `{"exec":{"pid":…,"exit_code":…}}` once the exec exited (at
//!   once if it has; the last 256 unclaimed exit codes are kept). When the container exits,
//!   its execs die with it (the pid namespace ends) and their waiters get their codes before
//!   the shim exits.
//!
//! The request line must arrive within 2 s of connecting (the shim reads it in its single
//! thread).
//!
//! # How the engine drives it (`docker run`)
//! 1. `POST /containers/{id}/start`: build the spec ([`crate::spec::build`]), write the bundle,
//!    [`spawn`] — this is where a missing or non-executable command fails, with dockerd's
//!    message (runc, and so dockerd, check the command at create);
//! 2. connect every waiting attach request with [`ShimHandle::attach`] (the CLI attached before
//!    it started), then [`ShimHandle::start`]: nothing the container prints can be missed;
//! 3. [`ShimHandle::wait`] in a task; on its answer record the exit, emit `die`, remove the
//!    state dir if the container is removed.
//!
//! After a daemon restart, for each `<exec-root>/shims/<id>/`: [`ShimHandle::connect`]; if the
//! shim is gone, [`read_exit_record`] tells how and when the container ended. The daemon must
//! not be a child subreaper (PR_SET_CHILD_SUBREAPER), or shims would become its children.
//!
//! # After exit
//! The shim drains the output, writes the log's last partial lines, reads the cgroup's
//! `oom_kill` counter, writes `exit.json`, removes `shim.sock`, ends attach streams and answers
//! waiters; then it deletes the libcontainer state and the cgroup (killing any leftover) and
//! exits, releasing its lock: the next shim in the same state dir, and the daemon before it
//! removes the dir, wait for that ([`lock::wait_released`]). A daemon that was down meanwhile
//! finds `exit.json` ([`read_exit_record`]).

#[cfg(feature = "client")]
mod client;
pub mod lock;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[cfg(feature = "client")]
pub use client::{spawn, ShimError, ShimHandle, SpawnOptions};

use crate::logfile::LogConfig;
use crate::ErrorKind;

/// The daemon's config for one shim, in `shim.json`.
pub const CONFIG_FILE: &str = "shim.json";
/// The control socket.
pub const SOCKET_FILE: &str = "shim.sock";
/// The shim's pid, and its lock ([`lock`]).
pub const PID_FILE: &str = "shim.pid";
/// The exit record.
pub const EXIT_FILE: &str = "exit.json";
/// The shim's own diagnostics.
pub const LOG_FILE: &str = "shim.log";
/// libcontainer's console socket (TTY containers).
pub const CONSOLE_SOCKET_FILE: &str = "console.sock";
/// libcontainer's state root of shims before the state dir was the root.
pub const LEGACY_RUNTIME_ROOT_DIR: &str = "libcontainer";

/// What the shim needs to run one container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShimConfig {
    /// The container id.
    pub id: String,
    /// The bundle directory holding `config.json` (see [`crate::spec::write_bundle`]).
    pub bundle: PathBuf,
    /// The spec's `linux.cgroupsPath` (for the OOM counter).
    pub cgroups_path: String,
    /// Whether the container has a TTY (must match the spec's `process.terminal`).
    pub tty: bool,
    /// Keep stdin open (`-i`); otherwise the container's stdin is `/dev/null`.
    pub open_stdin: bool,
    /// Close the container's stdin when the first attacher's stdin ends (`StdinOnce`).
    pub stdin_once: bool,
    /// The initial console size for a TTY.
    #[serde(default)]
    pub console_size: Option<ConsoleSize>,
    /// Where to write the json-file log; `None` logs nothing (`--log-driver none`).
    #[serde(default)]
    pub log: Option<LogConfig>,
    /// A directory of compiled seccomp filters shared by the shims, so that a profile is
    /// compiled once rather than in every container's init; `None` compiles in each init.
    #[serde(default)]
    pub seccomp_cache: Option<PathBuf>,
    /// An external OCI runtime to run the container with; `None` is the built-in
    /// libcontainer one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<OciRuntime>,
    /// How long the created container may wait for `start` before the shim kills it and
    /// exits (its daemon died between the two); `None` is [`START_LIMIT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_limit_ms: Option<u64>,
}

/// How long a created container waits for `start` by default. The daemon sends it right after
/// the shim answers, within the same API request.
pub const START_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// An external OCI runtime binary with runc's command line (`runc`, `crun`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OciRuntime {
    /// The binary.
    pub path: PathBuf,
    /// Global arguments given before the subcommand.
    #[serde(default)]
    pub args: Vec<String>,
}

/// A terminal size.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsoleSize {
    /// Columns.
    pub width: u16,
    /// Rows.
    pub height: u16,
}

/// A request on the control socket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// Report the [`ShimState`].
    State,
    /// Start the created container.
    Start,
    /// Turn this connection into an attach stream.
    Attach {
        /// Forward the client's bytes to the container's stdin.
        stdin: bool,
        /// Send stdout.
        stdout: bool,
        /// Send stderr.
        stderr: bool,
    },
    /// Resize the TTY.
    Resize {
        /// Columns.
        width: u16,
        /// Rows.
        height: u16,
    },
    /// Send a signal to the container's init.
    Kill {
        /// The signal number.
        signal: i32,
    },
    /// Answer when the container has exited.
    Wait,
    /// Close the container's stdin.
    CloseStdin,
    /// Start an exec (see the protocol doc).
    Exec {
        /// The exec's id.
        exec_id: String,
        /// Its OCI process.
        process: serde_json::Value,
        /// Stream the client's bytes to the exec's stdin.
        stdin: bool,
        /// Send its stdout.
        stdout: bool,
        /// Send its stderr.
        stderr: bool,
    },
    /// Resize an exec's TTY.
    ExecResize {
        /// The exec's id.
        exec_id: String,
        /// Columns.
        width: u16,
        /// Rows.
        height: u16,
    },
    /// Answer when the exec has exited.
    ExecWait {
        /// The exec's id.
        exec_id: String,
    },
    /// Send a signal to a running exec.
    ExecKill {
        /// The exec's id.
        exec_id: String,
        /// The signal number.
        signal: i32,
    },
}

/// The answer to `exec` and `exec-wait`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExecReply {
    /// The exec's pid (host pid namespace).
    pub pid: i32,
    /// Its exit status (or 128 + signal), once it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

/// Where the container is in its life, as the shim sees it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Created; init waits for `start`.
    Created,
    /// The command runs.
    Running,
    /// The command exited; the shim is finishing up.
    Exited,
}

/// The answer to `state`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShimState {
    /// Where the container is.
    pub status: Status,
    /// The container's init pid.
    pub pid: i32,
    /// The shim's pid.
    pub shim_pid: i32,
}

/// How and when the container ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExitRecord {
    /// The exit status, or 128 + signal number when killed by a signal.
    pub exit_code: i32,
    /// Whether the kernel's OOM killer killed a process of the container.
    pub oom_killed: bool,
    /// When the shim saw the exit (RFC 3339 with nanoseconds, UTC).
    pub exited_at: String,
    /// The init pid that exited.
    pub pid: i32,
}

/// An error as it crosses the socket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WireError {
    /// The message (dockerd's wording where the CLI depends on it).
    pub message: String,
    /// The kind, for the daemon's HTTP status.
    pub kind: WireKind,
}

/// [`ErrorKind`] on the wire.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum WireKind {
    /// See [`ErrorKind::NotFound`].
    NotFound,
    /// See [`ErrorKind::Conflict`].
    Conflict,
    /// See [`ErrorKind::InvalidArgument`].
    InvalidArgument,
    /// See [`ErrorKind::Internal`].
    Internal,
}

impl From<ErrorKind> for WireKind {
    fn from(k: ErrorKind) -> Self {
        match k {
            ErrorKind::NotFound => WireKind::NotFound,
            ErrorKind::Conflict => WireKind::Conflict,
            ErrorKind::InvalidArgument => WireKind::InvalidArgument,
            _ => WireKind::Internal,
        }
    }
}

impl From<WireKind> for ErrorKind {
    fn from(k: WireKind) -> Self {
        match k {
            WireKind::NotFound => ErrorKind::NotFound,
            WireKind::Conflict => ErrorKind::Conflict,
            WireKind::InvalidArgument => ErrorKind::InvalidArgument,
            WireKind::Internal => ErrorKind::Internal,
        }
    }
}

/// A reply line on the control socket.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Response {
    /// Set when the request failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<WireError>,
    /// The answer to `state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ShimState>,
    /// The answer to `wait`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitRecord>,
    /// The answer to `exec` and `exec-wait`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecReply>,
}

impl Response {
    /// A failure reply.
    pub fn error(message: impl Into<String>, kind: ErrorKind) -> Self {
        Response {
            error: Some(WireError {
                message: message.into(),
                kind: kind.into(),
            }),
            ..Default::default()
        }
    }
}

/// What the spawning process prints on stdout.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SpawnReply {
    /// The container's init pid, when created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// The shim's pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shim_pid: Option<i32>,
    /// Why creation failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<WireError>,
}

/// Reads `exit.json` from a state dir: `Ok(None)` if the container has not exited (or the
/// record was never written).
pub fn read_exit_record(state_dir: &Path) -> std::io::Result<Option<ExitRecord>> {
    match std::fs::read(state_dir.join(EXIT_FILE)) {
        Ok(data) => serde_json::from_slice(&data)
            .map(Some)
            .map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `exit.json` atomically (temp file, rename), fsynced first when `durable`: the record
/// must survive a machine crash only when no daemon is there to persist the exit itself.
pub fn write_exit_record(state_dir: &Path, rec: &ExitRecord, durable: bool) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = state_dir.join(".exit.json.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&serde_json::to_vec(rec).map_err(std::io::Error::other)?)?;
    if durable {
        f.sync_all()?;
    }
    std::fs::rename(&tmp, state_dir.join(EXIT_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_a_stable_wire_form() {
        let r = Request::Attach {
            stdin: true,
            stdout: true,
            stderr: false,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"op":"attach","stdin":true,"stdout":true,"stderr":false}"#
        );
        assert_eq!(
            serde_json::to_string(&Request::CloseStdin).unwrap(),
            r#"{"op":"close-stdin"}"#
        );
        let back: Request = serde_json::from_str(r#"{"op":"exec-wait","exec_id":"e1"}"#).unwrap();
        assert_eq!(
            back,
            Request::ExecWait {
                exec_id: "e1".into()
            }
        );
        let reply = Response {
            exec: Some(ExecReply {
                pid: 7,
                exit_code: None,
            }),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&reply).unwrap(),
            r#"{"exec":{"pid":7}}"#
        );
        let back: Request = serde_json::from_str(r#"{"op":"kill","signal":9}"#).unwrap();
        assert_eq!(back, Request::Kill { signal: 9 });
        assert_eq!(serde_json::to_string(&Response::default()).unwrap(), "{}");
    }

    #[test]
    fn exit_record_round_trips_through_the_state_dir() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read_exit_record(d.path()).unwrap(), None);
        let rec = ExitRecord {
            exit_code: 137,
            oom_killed: true,
            exited_at: "2026-01-01T00:00:00Z".into(),
            pid: 42,
        };
        write_exit_record(d.path(), &rec, true).unwrap();
        assert_eq!(read_exit_record(d.path()).unwrap(), Some(rec));
    }
}
