//! `start`, `stop`, `restart`, `kill`, `wait`. Commands on several containers run up to 50
//! at a time and report in argument order, printing each name that succeeded.

use client::{AttachOptions, StopOptions, WaitCondition};
use futures_util::stream::{self, StreamExt};
use tokio::sync::watch;

use super::run::wait_status;
use super::{eprintln, join_errors, println, Ctx};
use crate::args::{KillArgs, StartArgs, StopArgs, WaitArgs};
use crate::error::CliError;
use crate::stream::hijack::{stream as stream_io, StreamEnd, StreamOptions};
use crate::stream::signals::{forward_all, monitor_tty_size};
use crate::stream::terminal::stdout_is_tty;

/// Runs `op` on each name, at most 50 at once, yielding results in argument order.
pub async fn parallel<F, Fut>(names: &[String], op: F) -> Vec<Result<(), CliError>>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), CliError>>,
{
    stream::iter(names.iter().cloned().map(op))
        .buffered(50)
        .collect()
        .await
}

/// Prints each name whose operation succeeded and joins the errors.
pub(super) fn report(names: &[String], results: Vec<Result<(), CliError>>) -> Result<(), CliError> {
    let mut errs = Vec::new();
    for (name, r) in names.iter().zip(results) {
        match r {
            Ok(()) => println(name),
            Err(e) => errs.push(e),
        }
    }
    join_errors(errs)
}

/// `berth stop` / `berth restart`.
pub async fn stop(ctx: &Ctx, args: StopArgs, restart: bool) -> Result<(), CliError> {
    let opts = StopOptions {
        signal: args.signal.clone(),
        timeout: args.timeout,
    };
    if restart {
        // docker restarts one after another.
        let mut results = Vec::new();
        for c in &args.containers {
            results.push(
                ctx.client
                    .container_restart(c, &opts)
                    .await
                    .map_err(CliError::from),
            );
        }
        return report(&args.containers, results);
    }
    let results = parallel(&args.containers, |c| {
        let opts = opts.clone();
        async move {
            ctx.client
                .container_stop(&c, &opts)
                .await
                .map_err(CliError::from)
        }
    })
    .await;
    report(&args.containers, results)
}

/// `berth kill`.
pub async fn kill(ctx: &Ctx, args: KillArgs) -> Result<(), CliError> {
    let signal = args.signal.clone();
    let results = parallel(&args.containers, |c| {
        let signal = signal.clone();
        async move {
            ctx.client
                .container_kill(&c, signal.as_deref())
                .await
                .map_err(CliError::from)
        }
    })
    .await;
    report(&args.containers, results)
}

/// `berth wait`: prints each container's exit status.
pub async fn wait(ctx: &Ctx, args: WaitArgs) -> Result<(), CliError> {
    let mut errs = Vec::new();
    for c in &args.containers {
        let r = async {
            let h = ctx
                .client
                .container_wait(c, WaitCondition::NotRunning)
                .await?;
            h.result().await
        }
        .await;
        match r {
            Ok(r) => println(&r.status_code.to_string()),
            Err(e) => errs.push(e.into()),
        }
    }
    join_errors(errs)
}

/// `berth start`: plain starts, or with `-a`/`-i` a single attached start (docker's
/// `RunStart`).
pub async fn start(ctx: &Ctx, args: StartArgs) -> Result<(), CliError> {
    if !(args.attach || args.interactive) {
        let mut failed = Vec::new();
        for c in &args.containers {
            match ctx.client.container_start(c).await {
                Ok(()) => println(c),
                Err(e) => {
                    eprintln(&e.to_string());
                    failed.push(c.clone());
                }
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        return Err(CliError::new(format!(
            "Error: failed to start containers: {}",
            failed.join(", ")
        )));
    }
    if args.containers.len() > 1 {
        return Err(CliError::new(
            "you cannot start and attach multiple containers at once",
        ));
    }
    start_attached(ctx, &args).await
}

async fn start_attached(ctx: &Ctx, args: &StartArgs) -> Result<(), CliError> {
    let client = &ctx.client;
    let c = client.container_inspect(&args.containers[0], false).await?;
    let tty = c.config.tty;
    if !tty {
        forward_all(client, &c.id);
    }
    let detach_keys = args
        .detach_keys
        .clone()
        .or_else(|| ctx.config.detach_keys.clone());
    let stdin = args.interactive && c.config.open_stdin;
    let opts = AttachOptions {
        stream: true,
        stdin,
        stdout: true,
        stderr: true,
        logs: false,
        detach_keys: detach_keys.clone(),
    };
    let conn = client.container_attach(&c.id, &opts).await?;
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let sopts = StreamOptions {
        tty,
        stdin,
        stdout: true,
        stderr: true,
        detach_keys,
    };
    let streamer = tokio::spawn(stream_io(conn, sopts, cancel_rx));
    let condition = if c.host_config.auto_remove {
        WaitCondition::Removed
    } else {
        WaitCondition::NextExit
    };
    let status = wait_status(client, &c.id, condition, true).await;
    if let Err(e) = client.container_start(&c.id).await {
        let _ = cancel_tx.send(true);
        let _ = streamer.await;
        if c.host_config.auto_remove {
            let _ = status.await;
        }
        return Err(e.into());
    }
    if tty && stdout_is_tty() {
        monitor_tty_size(client, &c.id).await;
    }
    match streamer.await.map_err(|e| CliError::new(e.to_string()))?? {
        StreamEnd::Detached => return Ok(()),
        StreamEnd::Finished | StreamEnd::Cancelled => {}
    }
    match status.await.unwrap_or(125) {
        0 => Ok(()),
        code => Err(CliError::exit(code as i32)),
    }
}
