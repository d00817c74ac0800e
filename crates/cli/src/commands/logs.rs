//! `berth logs`: the container is inspected first (its ID, and whether it has a TTY, which
//! decides between raw and multiplexed output), then its log is streamed.

use client::{Demux, LogsOptions};
use tokio::io::AsyncWriteExt;

use super::{now, Ctx};
use crate::args::LogsArgs;
use crate::error::CliError;
use api_types::time::get_timestamp;

/// `berth logs`.
pub async fn logs(ctx: &Ctx, args: LogsArgs) -> Result<(), CliError> {
    let c = ctx.client.container_inspect(&args.container, false).await?;
    let zone = crate::format::local_zone();
    let ts = |v: &Option<String>, what: &str| -> Result<Option<String>, CliError> {
        v.as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                get_timestamp(s, now(), zone)
                    .map_err(|e| CliError::new(format!("invalid value for \"{what}\": {e}")))
            })
            .transpose()
    };
    let opts = LogsOptions {
        stdout: true,
        stderr: true,
        follow: args.follow,
        timestamps: args.timestamps,
        details: args.details,
        since: ts(&args.since, "since")?,
        until: ts(&args.until, "until")?,
        tail: Some(args.tail.clone()),
    };
    let mut body = ctx.client.container_logs(&c.id, &opts).await?;
    let mut stdout = tokio::io::stdout();
    if c.config.tty {
        copy_raw(&mut body, &mut stdout).await
    } else {
        let mut stderr = tokio::io::stderr();
        match Demux::new(body).copy_to(&mut stdout, &mut stderr).await {
            Ok(_) => Ok(()),
            // `berth logs c | head`: end quietly, as a SIGPIPE death would.
            Err(client::Error::Io { source })
                if source.kind() == std::io::ErrorKind::BrokenPipe =>
            {
                std::process::exit(141)
            }
            Err(e) => Err(e.into()),
        }
    }
}

async fn copy_raw(
    body: &mut client::BodyReader,
    out: &mut tokio::io::Stdout,
) -> Result<(), CliError> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = body
            .read(&mut buf)
            .await
            .map_err(|e| CliError::new(format!("error reading from daemon: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        if let Err(e) = out.write_all(&buf[..n]).await.and(out.flush().await) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(141);
            }
            return Err(e.into());
        }
    }
}
