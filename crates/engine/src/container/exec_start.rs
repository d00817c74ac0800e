//! `POST /exec/{id}/start`: runs a created exec through the container's shim.
//!
//! Detached, the process is started and the call returns. Attached, the API server upgrades
//! the connection first and [`ExecSession::run`] starts the process with the shim's stream
//! spliced onto the client. The shim's stream is raw with a TTY and 8-byte frames without;
//! what the client gets is decided by the start request's `Tty`, as dockerd decides it: raw
//! when it is set, frames when it is not — so the stream is re-framed (or de-framed) when the
//! start request and the exec disagree. Stdin passes through the detach-key matcher with a
//! TTY, as dockerd's does. The
//! client's stream ends only once the exit code is recorded, because the docker CLI reads it
//! (`GET /exec/{id}/json`) right after. A start that fails after the upgrade is reported in
//! the stream, as dockerd writes it, and the exec records dockerd's exit code (126 cannot be
//! invoked, 127 not found).

use std::sync::Arc;
use std::time::Duration;

use runtime::spec::exec::{self as spec_exec, ExecSpec};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixStream;

use super::exec::Exec;
use super::{shim, ContainerService};
use crate::error::{Error, Result};

/// docker's default detach sequence, ctrl-p ctrl-q.
const DEFAULT_DETACH: &[u8] = &[16, 17];
/// How long an ended stream waits for the exit code before closing anyway.
const EXIT_WAIT: Duration = Duration::from_secs(10);

/// The body of exec start, as the engine takes it.
#[derive(Debug, Clone, Default)]
pub struct ExecStartOptions {
    /// Start and return, without streams.
    pub detach: bool,
    /// The start request's `Tty`: a raw stream when set, a multiplexed one when not,
    /// whatever the exec's own TTY.
    pub tty: bool,
    /// `[height, width]` for a TTY; falls back to the size given at create.
    pub console_size: Option<[u32; 2]>,
}

/// What `exec_start` did or will do.
pub enum ExecStart {
    /// The process runs; nothing is streamed.
    Detached,
    /// The process starts when the session runs on the upgraded connection.
    Attached(ExecSession),
}

/// A validated attached start, to run on the upgraded connection.
pub struct ExecSession {
    svc: Arc<ContainerService>,
    exec: Arc<Exec>,
    console_size: Option<[u32; 2]>,
    /// The start request's `Tty` (the client's framing).
    raw: bool,
}

/// How the shim's exec stream becomes the client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Already what the client expects.
    Same,
    /// Raw (TTY) output, framed as stdout for a client that expects frames.
    Frame,
    /// Frames, unwrapped for a client that expects raw output.
    Unframe,
}

/// dockerd's error for an exec that could not start, with the exit code it records.
fn exec_failure(cause: &str) -> Error {
    let desc = format!(
        "OCI runtime exec failed: exec failed: unable to start container process: {cause}: unknown"
    );
    let (message, exit_code) = shim::classify_start_error(&desc);
    Error::StartFailed { message, exit_code }
}

impl ExecSession {
    /// Whether the client's stream is raw (the start request's `Tty`) or multiplexed.
    pub fn tty(&self) -> bool {
        self.raw
    }

    fn framing(&self) -> Framing {
        match (self.exec.settings.tty, self.raw) {
            (true, false) => Framing::Frame,
            (false, true) => Framing::Unframe,
            _ => Framing::Same,
        }
    }

    /// Starts the exec and streams it on `io` until it ends or the client detaches.
    pub async fn run<T>(self, mut io: T)
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let raw = self.raw;
        let framing = self.framing();
        let stream = match self
            .svc
            .launch_exec(&self.exec, self.console_size, true)
            .await
        {
            Ok(Some(s)) => s,
            Ok(None) => {
                let _ = io.shutdown().await;
                return;
            }
            Err(e) => {
                // dockerd writes the error on the stream's stdout.
                let text = format!("{e}\r\n");
                let mut out = Vec::with_capacity(text.len() + 8);
                if !raw {
                    out.extend_from_slice(&api_types::stdcopy::header(
                        api_types::stdcopy::STDOUT,
                        text.len(),
                    ));
                }
                out.extend_from_slice(text.as_bytes());
                let _ = io.write_all(&out).await;
                let _ = io.shutdown().await;
                return;
            }
        };
        let s = &self.exec.settings;
        let detach = match (s.tty, s.detach_keys.is_empty()) {
            (false, _) => None,
            (true, true) => Some(DEFAULT_DETACH.to_vec()),
            (true, false) => Some(s.detach_keys.clone()),
        };
        match splice(io, stream, detach, s.open_stdin, &self.exec, framing).await {
            Ended::Detached => {
                let id = self.exec.id.clone();
                self.svc
                    .exec_event(&self.exec, "exec_detach".into(), &[("execID", id)]);
            }
            Ended::Output | Ended::ClientGone => {}
        }
    }
}

enum Ended {
    /// The exec's output ended (it exited) and the client was told.
    Output,
    /// The client typed the detach sequence.
    Detached,
    /// The client went away.
    ClientGone,
}

/// Splices the client and the shim's exec stream; after the output ends, waits for the exit
/// code to be recorded before closing the client.
async fn splice<T>(
    client: T,
    shim_stream: UnixStream,
    detach: Option<Vec<u8>>,
    stdin: bool,
    exec: &Exec,
    framing: Framing,
) -> Ended
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut client_r, mut client_w) = tokio::io::split(client);
    let (mut shim_r, mut shim_w) = shim_stream.into_split();
    let ended = {
        let output = async {
            let copied = match framing {
                Framing::Same => tokio::io::copy(&mut shim_r, &mut client_w).await.map(drop),
                _ => reframe(&mut shim_r, &mut client_w, framing).await,
            };
            match copied {
                Ok(()) => Ended::Output,
                Err(_) => Ended::ClientGone,
            }
        };
        let input = async {
            let mut buf = vec![0u8; 32 * 1024];
            let mut matched = 0usize;
            loop {
                let n = match client_r.read(&mut buf).await {
                    Ok(0) | Err(_) => {
                        // The client's input ended: the exec's stdin closes, output goes on.
                        let _ = shim_w.shutdown().await;
                        return std::future::pending::<Ended>().await;
                    }
                    Ok(n) => n,
                };
                if !stdin {
                    continue;
                }
                let out = match &detach {
                    Some(keys) => match match_detach(keys, &mut matched, &buf[..n]) {
                        Some(out) => out,
                        None => return Ended::Detached,
                    },
                    None => buf[..n].to_vec(),
                };
                if !out.is_empty() && shim_w.write_all(&out).await.is_err() {
                    return std::future::pending::<Ended>().await;
                }
            }
        };
        tokio::select! {
            e = output => e,
            e = input => e,
        }
    };
    if let Ended::Output = ended {
        exec.exited(EXIT_WAIT).await;
        let _ = client_w.shutdown().await;
    }
    ended
}

/// Copies the shim's stream to the client, framing raw output as stdout or unwrapping frames.
async fn reframe<R, W>(from: &mut R, to: &mut W, framing: Framing) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut demux = api_types::stdcopy::Demuxer::default();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.flush().await;
        }
        let out = match framing {
            Framing::Frame => api_types::stdcopy::frame(api_types::stdcopy::STDOUT, &buf[..n]),
            _ => {
                let mut out = Vec::with_capacity(n);
                demux.feed(&buf[..n], |_, payload| out.extend_from_slice(payload));
                out
            }
        };
        if !out.is_empty() {
            to.write_all(&out).await?;
        }
    }
}

/// Feeds `data` through the detach matcher: the bytes to forward, or `None` once the whole
/// sequence was typed (what came before it in the same read is dropped with it, as docker's
/// escape proxy does not forward a partial read either).
fn match_detach(keys: &[u8], matched: &mut usize, data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    for &b in data {
        if b == keys[*matched] {
            *matched += 1;
            if *matched == keys.len() {
                return None;
            }
        } else {
            out.extend_from_slice(&keys[..*matched]);
            *matched = 0;
            if b == keys[0] {
                *matched = 1;
            } else {
                out.push(b);
            }
        }
    }
    Some(out)
}

impl ContainerService {
    /// `POST /exec/{id}/start`. Detached, the process runs when this returns; attached, the
    /// returned session starts it on the upgraded connection.
    #[tracing::instrument(skip(self))]
    pub async fn exec_start(
        self: &Arc<Self>,
        id: &str,
        opts: ExecStartOptions,
    ) -> Result<ExecStart> {
        let exec = self.exec_for_use(id)?;
        if opts.detach {
            self.launch_exec(&exec, opts.console_size, false).await?;
            return Ok(ExecStart::Detached);
        }
        Ok(ExecStart::Attached(ExecSession {
            svc: self.clone(),
            exec,
            console_size: opts.console_size,
            raw: opts.tty,
        }))
    }

    /// Starts the exec's process; with `attach`, returns the shim's stream for it.
    pub(crate) async fn launch_exec(
        self: &Arc<Self>,
        exec: &Arc<Exec>,
        console_size: Option<[u32; 2]>,
        attach: bool,
    ) -> Result<Option<UnixStream>> {
        exec.begin_start()?;
        let action = format!("exec_start: {}", exec.command_line());
        self.exec_event(exec, action, &[("execID", exec.id.clone())]);
        match self.spawn_exec(exec, console_size, attach).await {
            Ok((pid, stream, handle)) => {
                exec.set_running(pid);
                self.spawn_exec_monitor(exec.clone(), handle);
                Ok(stream)
            }
            Err(e) => {
                let code = match &e {
                    Error::StartFailed { exit_code, .. } => *exit_code,
                    // dockerd's default when starting fails without a code.
                    _ => 126,
                };
                exec.set_exited(code);
                Err(e)
            }
        }
    }

    async fn spawn_exec(
        &self,
        exec: &Exec,
        console_size: Option<[u32; 2]>,
        attach: bool,
    ) -> Result<(i64, Option<UnixStream>, Arc<shim::Shim>)> {
        let c = self.get(&exec.container_id)?;
        let shim = c.inner.lock().await.shim.clone();
        let Some(shim) = shim else {
            return Err(Error::Conflict(format!(
                "container {} is not running",
                c.id
            )));
        };
        let view = c.view();
        let paths = self.paths(&c.id);
        let s = &exec.settings;
        let size = console_size.or(s.console_size).filter(|_| s.tty);
        let mut args = vec![s.entrypoint.clone()];
        args.extend(s.args.iter().cloned());
        let espec = ExecSpec {
            rootfs: paths.rootfs(),
            args,
            env: s.env.clone(),
            user: s.user.clone(),
            group_add: view.host_config.group_add.clone().unwrap_or_default(),
            working_dir: s.working_dir.clone(),
            tty: s.tty,
            privileged: s.privileged,
            console_size: size
                .filter(|[h, w]| *h > 0 && *w > 0)
                .map(|[h, w]| (h.min(u16::MAX as u32) as u16, w.min(u16::MAX as u32) as u16)),
        };
        let bundle = paths.dir.clone();
        let t0 = std::time::Instant::now();
        // The exec's process is moved into the container's cgroup too: start the grace period
        // that move needs now (see `runtime::cgroup::prime_migration`).
        tokio::task::spawn_blocking(runtime::cgroup::prime_migration);
        let process = tokio::task::spawn_blocking(move || {
            let base = spec_exec::container_process(&bundle)?;
            spec_exec::process(&base, &espec)
        })
        .await
        .map_err(Error::task("exec spec"))?
        .map_err(Error::ExecSpec)?;
        tracing::debug!(exec_id = %exec.id, elapsed_us = t0.elapsed().as_micros() as u64, "exec start: process spec built");
        let (stdin, stdout, stderr) = match attach {
            true => (s.open_stdin, s.open_stdout, s.open_stderr),
            false => (false, false, false),
        };
        match shim
            .handle()
            .exec(&exec.id, process, stdin, stdout, stderr)
            .await
        {
            Ok((pid, stream)) => {
                tracing::debug!(exec_id = %exec.id, elapsed_us = t0.elapsed().as_micros() as u64, "exec start: running");
                Ok((pid as i64, attach.then_some(stream), shim))
            }
            Err(runtime::shim::ShimError::Shim { message, kind })
                if kind != runtime::ErrorKind::Conflict =>
            {
                Err(exec_failure(&message))
            }
            Err(e) => Err(Error::ExecStart(e)),
        }
    }

    /// Waits for the exec's exit in a task: records it and emits `exec_die`.
    fn spawn_exec_monitor(self: &Arc<Self>, exec: Arc<Exec>, shim: Arc<shim::Shim>) {
        let svc = self.clone();
        tokio::spawn(async move {
            let code = match shim.handle().exec_wait(&exec.id).await {
                Ok(code) => code as i64,
                Err(e) => {
                    // The shim is gone (the container was killed with it): so is the exec.
                    tracing::debug!(exec_id = %exec.id, error = %e, "exec wait");
                    137
                }
            };
            exec.set_exited(code);
            tracing::debug!(exec_id = %exec.id, code, "exec exited");
            let attrs = [("execID", exec.id.clone()), ("exitCode", code.to_string())];
            svc.exec_event(&exec, "exec_die".into(), &attrs);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_failures_carry_dockerds_words_and_codes() {
        let code = |cause: &str| match exec_failure(cause) {
            Error::StartFailed { exit_code, message } => (exit_code, message),
            _ => unreachable!(),
        };
        assert_eq!(
            code("exec: \"nope\": executable file not found in $PATH"),
            (127, "OCI runtime exec failed: exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown".to_string())
        );
        assert_eq!(code("exec: \"/etc/passwd\": permission denied").0, 126);
        let (c, m) = code("exec: \"/etc\": is a directory");
        assert_eq!(c, 126);
        assert!(m.ends_with(": unknown: permission denied"), "{m}");
        assert_eq!(
            code("chdir to cwd (\"/x\") set in config.json failed: no such file or directory").0,
            127
        );
    }

    #[test]
    fn detach_sequence_is_matched_across_reads() {
        let keys = [16u8, 17];
        let mut m = 0;
        assert_eq!(match_detach(&keys, &mut m, b"ab\x10"), Some(b"ab".to_vec()));
        assert_eq!(match_detach(&keys, &mut m, b"\x11"), None);
        let mut m = 0;
        assert_eq!(
            match_detach(&keys, &mut m, b"\x10x\x10\x10"),
            Some(b"\x10x\x10".to_vec())
        );
        assert_eq!(match_detach(&keys, &mut m, b"\x11"), None);
    }
}
