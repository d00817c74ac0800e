//! docker's `hijackedIOStreamer`: copies the user's stdin to an attach connection and the
//! container's output back, with raw mode and detach keys for TTY sessions.
//!
//! It ends when output ends (the container closed its side), when the detach sequence is
//! typed, or when the caller cancels. Stdin reaching EOF half-closes the connection and
//! keeps output flowing.

use std::sync::{Arc, Mutex};

use client::{AttachConn, AttachReader, Demux};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::escape::{parse_keys, EscapeProxy, Escaped, DEFAULT_KEYS};
use super::stdin::spawn_reader;
use super::terminal::RawMode;
use crate::error::CliError;

/// Which streams are wired and how.
#[derive(Debug, Clone, Default)]
pub struct StreamOptions {
    pub tty: bool,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// The detach sequence the user asked for (docker's default when unset or invalid).
    pub detach_keys: Option<String>,
}

/// Why streaming stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The container's output ended.
    Finished,
    /// The user typed the detach sequence.
    Detached,
    /// The caller cancelled.
    Cancelled,
}

/// Streams until done. `cancel` flips to `true` when the caller wants to stop.
pub async fn stream(
    conn: AttachConn,
    opts: StreamOptions,
    mut cancel: watch::Receiver<bool>,
) -> Result<StreamEnd, CliError> {
    let raw = if opts.stdin && opts.tty {
        RawMode::enable().map_err(|e| {
            CliError::new(format!(
                "unable to setup input stream: unable to set IO streams as raw terminal: {e}"
            ))
        })?
    } else {
        None
    };
    let raw = Arc::new(Mutex::new(raw));
    let restore = {
        let raw = raw.clone();
        move || {
            if let Ok(mut r) = raw.lock() {
                r.take();
            }
        }
    };
    let AttachConn {
        reader, mut writer, ..
    } = conn;
    let has_output = opts.stdout || opts.stderr;
    let mut output = {
        let restore = restore.clone();
        let opts = opts.clone();
        tokio::spawn(async move {
            if !has_output {
                return Ok(());
            }
            let r = copy_output(reader, &opts).await;
            restore();
            r
        })
    };
    // The input task says whether it ended on the detach sequence.
    let mut input = {
        let opts = opts.clone();
        tokio::spawn(async move {
            if opts.stdin {
                let keys = if opts.tty {
                    Some(detach_bytes(opts.detach_keys.as_deref()))
                } else {
                    None
                };
                if copy_input(&mut writer, keys).await {
                    return true;
                }
            }
            // Like docker: stdin is closed towards the daemon even when it was not attached.
            let _ = writer.close_write().await;
            false
        })
    };
    let end = tokio::select! {
        r = &mut output => join(r).map(|_| StreamEnd::Finished),
        detached = &mut input => {
            if detached.unwrap_or(false) {
                Ok(StreamEnd::Detached)
            } else if has_output {
                tokio::select! {
                    r = &mut output => join(r).map(|_| StreamEnd::Finished),
                    _ = wait_cancel(&mut cancel) => Ok(StreamEnd::Cancelled),
                }
            } else {
                Ok(StreamEnd::Finished)
            }
        }
        _ = wait_cancel(&mut cancel) => Ok(StreamEnd::Cancelled),
    };
    output.abort();
    input.abort();
    restore();
    end
}

async fn wait_cancel(rx: &mut watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            // The sender is gone without cancelling: never cancel.
            std::future::pending::<()>().await;
        }
    }
}

fn join(r: Result<Result<(), CliError>, tokio::task::JoinError>) -> Result<(), CliError> {
    match r {
        Ok(r) => r,
        Err(e) => Err(CliError::new(format!("output stream failed: {e}"))),
    }
}

/// The detach sequence, falling back to docker's default with docker's warning.
fn detach_bytes(spec: Option<&str>) -> Vec<u8> {
    match spec.filter(|s| !s.is_empty()).map(parse_keys) {
        None => DEFAULT_KEYS.to_vec(),
        Some(Ok(k)) => k,
        Some(Err(e)) => {
            eprintln!("WARN[0000] invalid detach escape keys, using default: {e}");
            DEFAULT_KEYS.to_vec()
        }
    }
}

/// Copies container output to the user's stdout/stderr until the connection ends.
async fn copy_output(mut reader: AttachReader, opts: &StreamOptions) -> Result<(), CliError> {
    let mut stdout = tokio::io::stdout();
    if opts.tty {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                // A reset from the daemon at the end of a session is just the end.
                Err(_) => return Ok(()),
            };
            if stdout.write_all(&buf[..n]).await.is_err() || stdout.flush().await.is_err() {
                return Ok(());
            }
        }
    }
    let mut stderr = tokio::io::stderr();
    Demux::new(reader)
        .copy_to(&mut stdout, &mut stderr)
        .await
        .map(|_| ())
        .map_err(CliError::from)
}

/// Copies stdin to the connection. Returns true when the user typed the detach sequence.
async fn copy_input(writer: &mut client::AttachWriter, keys: Option<Vec<u8>>) -> bool {
    let mut rx = spawn_reader();
    let mut proxy = keys.map(EscapeProxy::new);
    while let Some(chunk) = rx.recv().await {
        let data = match proxy.as_mut().map(|p| p.feed(&chunk)) {
            Some(Escaped::Detach { before }) => {
                // What was typed before the sequence still goes to the container.
                if !before.is_empty() {
                    let _ = writer.write_all(&before).await;
                    let _ = writer.flush().await;
                }
                return true;
            }
            Some(Escaped::Forward(d)) => d,
            None => chunk.to_vec(),
        };
        if data.is_empty() {
            continue;
        }
        if writer.write_all(&data).await.is_err() || writer.flush().await.is_err() {
            break;
        }
    }
    false
}
