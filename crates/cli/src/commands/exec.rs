//! `berth exec` (docker's `RunExec`): the container is inspected first (so "no such
//! container" wins), the TTY checked, the exec created; `-d` starts it and returns, otherwise
//! the start is hijacked and streamed (TTY resized now and on SIGWINCH), and once the stream
//! ends the exit code is read from `GET /exec/{id}/json` and becomes the CLI's exit status.

use std::time::Duration;

use api_types::{ExecConfig, ExecStartConfig};
use client::Client;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use super::run::check_tty;
use super::Ctx;
use crate::args::ExecArgs;
use crate::error::{CliError, BIN};
use crate::opts::kvfile;
use crate::opts::values::validate_env;
use crate::stream::hijack::{stream, StreamEnd, StreamOptions};
use crate::stream::terminal::{stdin_is_tty, stdout_size};

const USAGE: &str = "exec [OPTIONS] CONTAINER COMMAND [ARG...]";

/// `--env-file` entries, then `-e` (docker's `ReadKVEnvStrings`).
fn env(args: &ExecArgs) -> Result<Vec<String>, CliError> {
    let mut out = Vec::new();
    for e in &args.env {
        // pflag validates `-e` while parsing flags: a usage error.
        validate_env(e).map_err(|reason| {
            CliError::usage(
                format!("invalid argument {e:?} for \"-e, --env\" flag: {reason}"),
                &format!("{BIN} {USAGE}"),
                &format!("{BIN} exec"),
            )
        })?;
    }
    let lookup = |k: &str| std::env::var(k).ok();
    for f in &args.env_file {
        out.extend(kvfile::parse_file(f, Some(&lookup)).map_err(CliError::new)?);
    }
    for e in &args.env {
        out.push(validate_env(e).unwrap_or_else(|_| e.clone()));
    }
    Ok(out)
}

/// The create body, as docker's `parseExec` fills it.
fn exec_config(ctx: &Ctx, args: &ExecArgs) -> Result<ExecConfig, CliError> {
    let detach = args.detach.unwrap_or(false);
    let tty = args.tty.unwrap_or(false);
    Ok(ExecConfig {
        user: args.user.clone().unwrap_or_default(),
        privileged: args.privileged.unwrap_or(false),
        tty,
        console_size: None,
        attach_stdin: !detach && args.interactive.unwrap_or(false),
        attach_stdout: !detach,
        attach_stderr: !detach,
        detach,
        detach_keys: args
            .detach_keys
            .clone()
            .or_else(|| ctx.config.detach_keys.clone())
            .unwrap_or_default(),
        env: Some(env(args)?),
        working_dir: args.workdir.clone().unwrap_or_default(),
        cmd: Some(args.args[1..].to_vec()),
    })
}

/// `[height, width]` of the terminal on stdout for a TTY exec (`[0, 0]` off a terminal, as
/// docker sends it).
fn console_size(tty: bool) -> Option<[u32; 2]> {
    tty.then(|| {
        let (h, w) = stdout_size();
        [h as u32, w as u32]
    })
}

/// `berth exec`.
pub async fn exec(ctx: &Ctx, args: ExecArgs) -> Result<(), CliError> {
    let client = &ctx.client;
    let container = args.args[0].clone();
    let mut cfg = exec_config(ctx, &args)?;
    client.container_inspect(&container, false).await?;
    if !cfg.detach {
        check_tty(cfg.attach_stdin, cfg.tty)?;
    }
    cfg.console_size = console_size(cfg.tty);
    let id = client.exec_create(&container, &cfg).await?;
    let start = ExecStartConfig {
        detach: cfg.detach,
        tty: cfg.tty,
        console_size: console_size(cfg.tty),
    };
    if cfg.detach {
        return Ok(client.exec_start_detached(&id, &start).await?);
    }
    let conn = client.exec_attach(&id, &start).await?;
    let sopts = StreamOptions {
        tty: cfg.tty,
        stdin: cfg.attach_stdin,
        stdout: cfg.attach_stdout,
        stderr: cfg.attach_stderr,
        detach_keys: (!cfg.detach_keys.is_empty()).then(|| cfg.detach_keys.clone()),
    };
    let (_cancel, rx) = watch::channel(false);
    let streamer = tokio::spawn(stream(conn, sopts, rx));
    if cfg.tty && stdin_is_tty() {
        monitor_exec_size(client, &id).await;
    }
    let end = streamer.await.map_err(|e| CliError::new(e.to_string()))??;
    if end == StreamEnd::Detached {
        return Err(CliError::new("read escape sequence"));
    }
    exit_status(client, &id).await
}

/// docker's `getExecExitStatus`: the exec's exit code becomes ours; -1 when the daemon is
/// gone (docker's `StatusError{StatusCode: -1}`, i.e. 255).
async fn exit_status(client: &Client, id: &str) -> Result<(), CliError> {
    match client.exec_inspect(id).await {
        Ok(i) => match i.exit_code.unwrap_or(0) {
            0 => Ok(()),
            code => Err(CliError::exit(code as i32)),
        },
        Err(client::Error::Connect { .. }) => Err(CliError::exit(-1)),
        Err(e) => Err(e.into()),
    }
}

/// Sizes the exec's TTY to the terminal now (retrying in the background, as docker does
/// while the process is still starting) and on every SIGWINCH.
async fn monitor_exec_size(client: &Client, id: &str) {
    if resize(client, id).await.is_err() {
        let (client, id) = (client.clone(), id.to_string());
        tokio::spawn(async move {
            for retry in 0..10u64 {
                tokio::time::sleep(Duration::from_millis((retry + 1) * 10)).await;
                if resize(&client, &id).await.is_ok() {
                    return;
                }
            }
            eprintln!("failed to resize tty, using default size");
        });
    }
    if let Ok(mut winch) = signal(SignalKind::window_change()) {
        let (client, id) = (client.clone(), id.to_string());
        tokio::spawn(async move {
            while winch.recv().await.is_some() {
                let _ = resize(&client, &id).await;
            }
        });
    }
}

async fn resize(client: &Client, id: &str) -> Result<(), client::Error> {
    let (h, w) = stdout_size();
    if h == 0 && w == 0 {
        return Ok(());
    }
    client.exec_resize(id, h, w).await
}
