//! `berth pull [-a] [-q] [--platform P] NAME[:TAG|@DIGEST]`: asks the daemon to pull, with the
//! credentials of `config.json` for the image's registry, and draws docker's per-layer bars.

use client::{encode_auth, PullOptions};

use super::{println, Ctx};
use crate::args::PullArgs;
use crate::credentials;
use crate::error::CliError;
use crate::format::jsonmessage::Display;
use crate::stream::terminal::stdout_is_tty;
use oci::Reference;

/// `berth pull`.
pub async fn pull(ctx: &Ctx, args: PullArgs) -> Result<(), CliError> {
    let r = Reference::parse(&args.name).map_err(|e| CliError::new(e.to_string()))?;
    if args.all_tags && (r.tag().is_some() || r.digest().is_some()) {
        return Err(CliError::new("tag can't be used with --all-tags/-a"));
    }
    let defaulted = !args.all_tags && r.tag().is_none() && r.digest().is_none();
    let r = if args.all_tags {
        r
    } else {
        r.with_default_tag()
    };
    if defaulted && !args.quiet {
        println("Using default tag: latest");
    }
    let auth = registry_auth(ctx, r.domain())?;
    let opts = PullOptions {
        from_image: r.repository(),
        tag: r
            .digest()
            .map(|d| d.to_string())
            .or_else(|| r.tag().map(str::to_string)),
        platform: args.platform.clone(),
        registry_auth: Some(auth),
    };
    let stream = ctx.client.image_pull(&opts).await?;
    show(stream, args.quiet).await?;
    let shown = if args.all_tags {
        r.repository()
    } else {
        r.to_string()
    };
    println(&shown);
    Ok(())
}

/// `X-Registry-Auth` for `domain`, from the stored credentials (anonymous when none).
pub fn registry_auth(ctx: &Ctx, domain: &str) -> Result<String, CliError> {
    let dir = credentials::config_dir(ctx.config.dir.as_ref().and_then(|d| d.to_str()));
    let auth = credentials::get(&dir, domain)?;
    Ok(encode_auth(auth.as_ref()))
}

/// Draws a progress stream on stdout (nothing but errors when `quiet`).
pub async fn show(
    stream: client::JsonStream<api_types::JsonMessage>,
    quiet: bool,
) -> Result<(), CliError> {
    let width = crate::stream::terminal::stdout_size().1 as usize;
    let width = if width == 0 { 80 } else { width };
    draw(stream, std::io::stdout(), stdout_is_tty(), width, quiet).await
}

/// Draws a progress stream on `out`, `width` columns wide, with bars when `tty` (nothing but
/// errors when `quiet`); the stream's error message becomes the command's error.
pub async fn draw<W: std::io::Write>(
    mut stream: client::JsonStream<api_types::JsonMessage>,
    out: W,
    tty: bool,
    width: usize,
    quiet: bool,
) -> Result<(), CliError> {
    let mut display = Display::new(out, tty, width);
    while let Some(msg) = stream.next().await {
        let msg = msg?;
        if quiet {
            if let Some(e) = msg
                .error_detail
                .as_ref()
                .map(|d| d.message.clone())
                .or(msg.error.clone())
            {
                return Err(CliError::new(e));
            }
            continue;
        }
        if let Err(e) = display.show(&msg)? {
            return Err(CliError::new(e));
        }
    }
    Ok(())
}
