//! The daemon's async client of `berth-shim` (feature `client`, tokio).

mod exec;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::{
    read_exit_record, ExitRecord, Request, Response, ShimConfig, ShimState, SpawnReply,
    CONFIG_FILE, SOCKET_FILE,
};
use crate::ErrorKind;

/// How to spawn a shim.
#[derive(Debug, Clone)]
pub struct SpawnOptions {
    /// The `berth-shim` binary.
    pub shim_binary: PathBuf,
    /// The shim's state dir, `<exec-root>/shims/<id>`; created if missing.
    pub state_dir: PathBuf,
    /// What to run.
    pub config: ShimConfig,
}

/// Errors talking to a shim.
#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    /// The shim binary could not be run.
    #[error("spawn shim {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The shim ran but the container could not be created (or started, …); the message is
    /// the runtime's, in dockerd's wording where the docker CLI depends on it.
    #[error("{message}")]
    Shim { message: String, kind: ErrorKind },
    /// Reading or writing the state dir or the socket failed.
    #[error("shim {state_dir}: {source}")]
    Io {
        state_dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The shim answered something that is not the protocol.
    #[error("shim {state_dir}: bad reply: {detail}")]
    Protocol { state_dir: PathBuf, detail: String },
    /// No shim runs for this state dir and it left no exit record.
    #[error("shim {state_dir} is gone without an exit record")]
    Gone { state_dir: PathBuf },
}

impl ShimError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ShimError::Shim { kind, .. } => *kind,
            ShimError::Gone { .. } => ErrorKind::NotFound,
            ShimError::Io { .. } => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }
}

/// A live shim. Cheap to clone; every call opens its own connection.
#[derive(Debug, Clone)]
pub struct ShimHandle {
    state_dir: PathBuf,
    pid: i32,
    shim_pid: i32,
}

/// Writes `shim.json`, runs `berth-shim <state-dir>` and returns once the container is
/// **created** (init waiting for [`ShimHandle::start`]). The shim detaches itself (own session,
/// not the daemon's child once this returns) and outlives the daemon.
pub async fn spawn(opts: SpawnOptions) -> Result<ShimHandle, ShimError> {
    let io = |source| ShimError::Io {
        state_dir: opts.state_dir.clone(),
        source,
    };
    tokio::fs::create_dir_all(&opts.state_dir)
        .await
        .map_err(io)?;
    let cfg = serde_json::to_vec(&opts.config).map_err(|e| io(std::io::Error::other(e)))?;
    tokio::fs::write(opts.state_dir.join(CONFIG_FILE), cfg)
        .await
        .map_err(io)?;
    let mut child = tokio::process::Command::new(&opts.shim_binary)
        .arg(&opts.state_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(false)
        .spawn()
        .map_err(|source| ShimError::Spawn {
            binary: opts.shim_binary.clone(),
            source,
        })?;
    // One line, not EOF: the created-but-not-started init still holds the write end
    // (libcontainer only marks fds close-on-exec).
    let mut line = Vec::new();
    if let Some(out) = child.stdout.take() {
        let mut out = tokio::io::BufReader::new(out);
        tokio::io::AsyncBufReadExt::read_until(&mut out, b'\n', &mut line)
            .await
            .map_err(io)?;
    }
    // The process run exits right after it forks the shim (or after reporting an early error).
    let _ = child.wait().await;
    if line.is_empty() {
        return Err(ShimError::Shim {
            message: "shim died while creating the container".into(),
            kind: ErrorKind::Internal,
        });
    }
    let line = line.strip_suffix(b"\n").unwrap_or(&line);
    let reply: SpawnReply = serde_json::from_slice(line).map_err(|e| ShimError::Protocol {
        state_dir: opts.state_dir.clone(),
        detail: format!("spawn reply {:?}: {e}", String::from_utf8_lossy(line)),
    })?;
    if let Some(e) = reply.error {
        return Err(ShimError::Shim {
            message: e.message,
            kind: e.kind.into(),
        });
    }
    match (reply.pid, reply.shim_pid) {
        (Some(pid), Some(shim_pid)) => Ok(ShimHandle {
            state_dir: opts.state_dir,
            pid,
            shim_pid,
        }),
        _ => Err(ShimError::Protocol {
            state_dir: opts.state_dir,
            detail: "spawn reply without pids".into(),
        }),
    }
}

impl ShimHandle {
    /// Reconnects to the shim of a state dir (after a daemon restart). Fails with
    /// [`ShimError::Gone`] when no shim answers; then look for [`read_exit_record`].
    pub async fn connect(state_dir: &Path) -> Result<ShimHandle, ShimError> {
        let mut h = ShimHandle {
            state_dir: state_dir.to_owned(),
            pid: 0,
            shim_pid: 0,
        };
        let st = h.state().await?;
        h.pid = st.pid;
        h.shim_pid = st.shim_pid;
        Ok(h)
    }

    /// The state dir.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The container's init pid (host pid namespace).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The shim's own pid.
    pub fn shim_pid(&self) -> i32 {
        self.shim_pid
    }

    /// Where the container is.
    pub async fn state(&self) -> Result<ShimState, ShimError> {
        let resp = self.call(&Request::State).await?;
        resp.state
            .ok_or_else(|| self.protocol("state reply without state"))
    }

    /// Starts the created container. A missing command fails here with dockerd's message.
    pub async fn start(&self) -> Result<(), ShimError> {
        self.call(&Request::Start).await.map(drop)
    }

    /// Opens an attach stream (see the protocol doc): output in Docker's wire format, input to
    /// the container's stdin; shut down the write half to end this attacher's stdin.
    pub async fn attach(
        &self,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<UnixStream, ShimError> {
        let (conn, _) = self
            .request(&Request::Attach {
                stdin,
                stdout,
                stderr,
            })
            .await?;
        Ok(conn)
    }

    /// Sets the TTY size.
    pub async fn resize(&self, width: u16, height: u16) -> Result<(), ShimError> {
        self.call(&Request::Resize { width, height })
            .await
            .map(drop)
    }

    /// Sends `signal` to the container's init. Conflict if it already exited.
    pub async fn kill(&self, signal: i32) -> Result<(), ShimError> {
        self.call(&Request::Kill { signal }).await.map(drop)
    }

    /// Closes the container's stdin (the container reads EOF).
    pub async fn close_stdin(&self) -> Result<(), ShimError> {
        self.call(&Request::CloseStdin).await.map(drop)
    }

    /// Waits for the container to exit. Works after the shim is gone too, from `exit.json`.
    pub async fn wait(&self) -> Result<ExitRecord, ShimError> {
        match self.call(&Request::Wait).await {
            Ok(Response {
                exit: Some(rec), ..
            }) => Ok(rec),
            Ok(_) => Err(self.protocol("wait reply without exit record")),
            Err(ShimError::Io { .. }) | Err(ShimError::Gone { .. }) => self.exit_record(),
            Err(e) => Err(e),
        }
    }

    fn exit_record(&self) -> Result<ExitRecord, ShimError> {
        match read_exit_record(&self.state_dir) {
            Ok(Some(rec)) => Ok(rec),
            Ok(None) => Err(ShimError::Gone {
                state_dir: self.state_dir.clone(),
            }),
            Err(source) => Err(ShimError::Io {
                state_dir: self.state_dir.clone(),
                source,
            }),
        }
    }

    fn protocol(&self, detail: &str) -> ShimError {
        ShimError::Protocol {
            state_dir: self.state_dir.clone(),
            detail: detail.into(),
        }
    }

    /// A request whose reply line is all the shim sends on the connection: read in bulk.
    async fn call(&self, req: &Request) -> Result<Response, ShimError> {
        self.exchange(req, false).await.map(|(_, r)| r)
    }

    /// A request whose reply line a stream follows (attach, exec): the line is read byte by
    /// byte, so the stream's first bytes stay in the socket for the caller.
    async fn request(&self, req: &Request) -> Result<(UnixStream, Response), ShimError> {
        self.exchange(req, true).await
    }

    /// One request: connect, send the line, read the reply line (`exact`: without reading
    /// past it).
    async fn exchange(
        &self,
        req: &Request,
        exact: bool,
    ) -> Result<(UnixStream, Response), ShimError> {
        let io = |source| ShimError::Io {
            state_dir: self.state_dir.clone(),
            source,
        };
        let (path, _dir) = match crate::sys::socket_path(&self.state_dir, SOCKET_FILE) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ShimError::Gone {
                    state_dir: self.state_dir.clone(),
                })
            }
            Err(e) => return Err(io(e)),
        };
        let mut conn = match UnixStream::connect(&path).await {
            Ok(c) => c,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Err(ShimError::Gone {
                    state_dir: self.state_dir.clone(),
                })
            }
            Err(e) => return Err(io(e)),
        };
        let mut line = serde_json::to_vec(req).map_err(|e| io(std::io::Error::other(e)))?;
        line.push(b'\n');
        conn.write_all(&line).await.map_err(io)?;
        let mut reply = Vec::with_capacity(if exact { 64 } else { 512 });
        let mut chunk = [0u8; 512];
        loop {
            let read = if exact {
                conn.read_u8().await.map(|b| {
                    chunk[0] = b;
                    1
                })
            } else {
                conn.read(&mut chunk).await.and_then(|n| match n {
                    0 => Err(std::io::ErrorKind::UnexpectedEof.into()),
                    n => Ok(n),
                })
            };
            let n = match read {
                Ok(n) => n,
                // The shim went away mid-request (it exited, or was killed).
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                    ) =>
                {
                    return Err(ShimError::Gone {
                        state_dir: self.state_dir.clone(),
                    })
                }
                Err(e) => return Err(io(e)),
            };
            match chunk[..n].iter().position(|&b| b == b'\n') {
                Some(end) => {
                    reply.extend_from_slice(&chunk[..end]);
                    break;
                }
                None => reply.extend_from_slice(&chunk[..n]),
            }
            if reply.len() > 1 << 20 {
                return Err(self.protocol("reply line too long"));
            }
        }
        let resp: Response =
            serde_json::from_slice(&reply).map_err(|e| self.protocol(&e.to_string()))?;
        if let Some(e) = resp.error {
            return Err(ShimError::Shim {
                message: e.message,
                kind: e.kind.into(),
            });
        }
        Ok((conn, resp))
    }
}
