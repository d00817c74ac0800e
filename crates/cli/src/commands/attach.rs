//! `berth attach` (docker's `RunAttach`): wait registered first, state checked, signals
//! forwarded without a TTY, a resize nudge so a shell redraws its prompt, and the exit
//! status of the container when it ends. Detaching prints `read escape sequence`.

use api_types::ContainerInspect;
use client::{AttachOptions, WaitCondition};
use tokio::sync::watch;

use super::run::{check_tty, wait_status};
use super::Ctx;
use crate::args::AttachArgs;
use crate::error::CliError;
use crate::stream::hijack::{stream, StreamEnd, StreamOptions};
use crate::stream::signals::{forward_all, monitor_tty_size, resize};
use crate::stream::terminal::stdout_is_tty;

async fn running(ctx: &Ctx, id: &str) -> Result<ContainerInspect, CliError> {
    let c = ctx.client.container_inspect(id, false).await?;
    if !c.state.running {
        return Err(CliError::new(
            "You cannot attach to a stopped container, start it first",
        ));
    }
    if c.state.paused {
        return Err(CliError::new(
            "You cannot attach to a paused container, unpause it first",
        ));
    }
    if c.state.restarting {
        return Err(CliError::new(
            "You cannot attach to a restarting container, wait until it is running",
        ));
    }
    Ok(c)
}

/// `berth attach`.
pub async fn attach(ctx: &Ctx, args: AttachArgs) -> Result<(), CliError> {
    let client = &ctx.client;
    let status = wait_status(client, &args.container, WaitCondition::NotRunning, false).await;
    let c = running(ctx, &args.container).await?;
    check_tty(!args.no_stdin, c.config.tty)?;
    let detach_keys = args
        .detach_keys
        .clone()
        .or_else(|| ctx.config.detach_keys.clone());
    let stdin = !args.no_stdin && c.config.open_stdin;
    if args.sig_proxy.unwrap_or(true) && !c.config.tty {
        forward_all(client, &args.container);
    }
    let opts = AttachOptions {
        stream: true,
        stdin,
        stdout: true,
        stderr: true,
        logs: false,
        detach_keys: detach_keys.clone(),
    };
    let conn = client.container_attach(&args.container, &opts).await?;
    // It may have stopped between the check and the attach.
    running(ctx, &args.container).await?;
    if c.config.tty && stdout_is_tty() {
        let _ = resize(client, &args.container, 1).await;
        monitor_tty_size(client, &args.container).await;
    }
    let (_cancel, rx) = watch::channel(false);
    let sopts = StreamOptions {
        tty: c.config.tty,
        stdin,
        stdout: true,
        stderr: true,
        detach_keys,
    };
    if stream(conn, sopts, rx).await? == StreamEnd::Detached {
        return Err(CliError::new("read escape sequence"));
    }
    match status.await.unwrap_or(125) {
        0 => Ok(()),
        code => Err(CliError::exit(code as i32)),
    }
}
