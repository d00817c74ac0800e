//! `berth run`, in docker's order: create (pulling if needed), forward signals, attach,
//! register the wait (`next-exit`, or `removed` with `--rm`; a detached run without `--rm`
//! needs none), start, size the TTY, then wait for the stream and the exit status. The CLI
//! exits with the container's status.

use client::{AttachOptions, Client, WaitCondition};
use tokio::sync::watch;

use super::create::{build_request, create_container};
use super::{eprintln, println, Ctx};
use crate::args::RunArgs;
use crate::error::{to_status_error, CliError};
use crate::stream::hijack::{stream, StreamEnd, StreamOptions};
use crate::stream::signals::{forward_all, monitor_tty_size};
use crate::stream::terminal::{stdin_is_tty, stdout_is_tty};

/// `berth run`.
pub async fn run(ctx: &Ctx, args: RunArgs) -> Result<(), CliError> {
    let mut req = build_request(&args.flags, "run")?;
    let detach = args.detach.unwrap_or(false);
    let config = &mut req.config;
    // `run` never sends ArgsEscaped (Windows only).
    config.args_escaped = None;
    if !detach {
        check_tty(config.attach_stdin, config.tty)?;
    } else {
        if !args.flags.attach.is_empty() {
            return Err(CliError::new(
                "conflicting options: cannot specify both --attach and --detach",
            ));
        }
        config.attach_stdin = false;
        config.attach_stdout = false;
        config.attach_stderr = false;
        config.stdin_once = false;
    }
    let (tty, attach_stdin, attach_stdout, attach_stderr) = (
        config.tty,
        config.attach_stdin,
        config.attach_stdout,
        config.attach_stderr,
    );
    let auto_remove = req.host_config.auto_remove;
    let id = create_container(ctx, &mut req, &args.flags)
        .await
        .map_err(|e| to_status_error(&e.message, "run"))?;
    let client = &ctx.client;
    if args.sig_proxy.unwrap_or(true) {
        forward_all(client, &id);
    }
    let attach = attach_stdin || attach_stdout || attach_stderr;
    if !attach {
        // Printed before start, as docker's goroutine does.
        println(&id);
    }
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let mut streamer = None;
    if attach {
        let opts = AttachOptions {
            stream: true,
            stdin: attach_stdin,
            stdout: attach_stdout,
            stderr: attach_stderr,
            logs: false,
            detach_keys: args
                .detach_keys
                .clone()
                .or_else(|| ctx.config.detach_keys.clone()),
        };
        let conn = client.container_attach(&id, &opts).await?;
        let sopts = StreamOptions {
            tty,
            stdin: attach_stdin,
            stdout: attach_stdout,
            stderr: attach_stderr,
            detach_keys: opts.detach_keys,
        };
        streamer = Some(tokio::spawn(stream(conn, sopts, cancel_rx)));
    }
    let condition = if auto_remove {
        WaitCondition::Removed
    } else {
        WaitCondition::NextExit
    };
    // A detached run needs the status only to see an auto-removed container whose start
    // failed go before it exits. docker registers the wait in every case and drops it unread;
    // skipping it saves a request on `run -d`'s path.
    let mut status = if attach || auto_remove {
        Some(wait_status(client, &id, condition, true).await)
    } else {
        None
    };
    if let Err(e) = client.container_start(&id).await {
        if let Some(s) = streamer.take() {
            let _ = cancel_tx.send(true);
            let _ = s.await;
        }
        if let (true, Some(status)) = (auto_remove, status.as_mut()) {
            let _ = status.await;
        }
        return Err(to_status_error(&e.to_string(), "run"));
    }
    let (Some(mut streamer), Some(mut status)) = (streamer, status) else {
        return Ok(());
    };
    if tty && stdout_is_tty() {
        monitor_tty_size(client, &id).await;
    }
    let code = tokio::select! {
        r = &mut streamer => {
            match r.map_err(|e| CliError::new(e.to_string()))?? {
                StreamEnd::Detached => return Ok(()),
                _ => status.await.unwrap_or(125),
            }
        }
        code = &mut status => {
            // Output may still be in flight; keep streaming until it is all read, unless
            // nothing but stdin was attached.
            if !attach_stdout && !attach_stderr {
                let _ = cancel_tx.send(true);
            }
            let _ = streamer.await;
            code.unwrap_or(125)
        }
    };
    if code != 0 {
        return Err(CliError::exit(code as i32));
    }
    Ok(())
}

/// docker's `CheckTty`: a TTY session reading stdin needs a terminal on this side.
pub fn check_tty(attach_stdin: bool, tty: bool) -> Result<(), CliError> {
    if tty && attach_stdin && !stdin_is_tty() {
        return Err(CliError::new("the input device is not a TTY"));
    }
    Ok(())
}

/// Registers a wait now and resolves to the exit status later. Failures give 125 and, when
/// `report`, are logged as docker's logrus does (`run` and `start` report them, `attach`
/// does not).
pub async fn wait_status(
    client: &Client,
    id: &str,
    condition: WaitCondition,
    report: bool,
) -> tokio::task::JoinHandle<i64> {
    let registered = client.container_wait(id, condition).await;
    tokio::spawn(async move {
        let fail = |msg: String| {
            if report {
                log_error(&msg);
            }
            125
        };
        let handle = match registered {
            Ok(h) => h,
            Err(e) => return fail(format!("error waiting for container: {e}")),
        };
        match handle.result().await {
            Ok(r) => match r.error {
                Some(err) if !err.message.is_empty() => {
                    fail(format!("Error waiting for container: {}", err.message))
                }
                _ => r.status_code,
            },
            Err(e) => fail(format!("error waiting for container: {e}")),
        }
    })
}

/// An error line as logrus writes it: `ERRO[0000] msg` on a terminal, key=value otherwise.
pub fn log_error(msg: &str) {
    if crate::stream::terminal::stderr_is_tty() {
        eprintln(&format!("ERRO[0000] {msg}"));
    } else {
        let t = api_types::time::rfc3339_nano(super::now() as i64, 0, crate::format::local_zone());
        eprintln(&format!("time={t:?} level=error msg={msg:?}"));
    }
}
