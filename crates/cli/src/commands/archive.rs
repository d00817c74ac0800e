//! `save` and `load`: images to and from a tar archive.

use super::{import::show_progress, outfile, Ctx};
use crate::args::{LoadArgs, SaveArgs};
use crate::error::CliError;
use crate::stream::terminal::{stdin_is_tty, stdout_is_tty};
use client::Upload;

/// `berth save`: the archive to `-o FILE` or to stdout (never a terminal).
pub async fn save(ctx: &Ctx, args: SaveArgs) -> Result<(), CliError> {
    if let Some(p) = args.platform.as_deref() {
        check_platform(p)?;
    }
    let what = "failed to save image";
    outfile::check(args.output.as_deref(), what)?;
    let body = ctx.client.image_save(&args.images).await?;
    outfile::write(body, args.output.as_deref(), what).await
}

/// `berth load`: from `-i FILE` or stdin (never a terminal); quiet unless stdout is one.
pub async fn load(ctx: &Ctx, args: LoadArgs) -> Result<(), CliError> {
    if let Some(p) = args.platform.as_deref() {
        check_platform(p)?;
    }
    let quiet = args.quiet || !stdout_is_tty();
    let stream = match args.input.as_deref() {
        None | Some("") => {
            if stdin_is_tty() {
                return Err(CliError::new(
                    "requested load from stdin, but stdin is empty",
                ));
            }
            ctx.client
                .image_load(Upload::reader(tokio::io::stdin()), quiet)
                .await?
        }
        Some(path) => {
            let f = super::import::open_upload(path)?;
            ctx.client.image_load(Upload::file(f), quiet).await?
        }
    };
    show_progress(stream).await
}

/// berth keeps one platform per image (the host's): only a linux platform is accepted.
fn check_platform(p: &str) -> Result<(), CliError> {
    if p.split('/').next() != Some("linux") {
        return Err(CliError::new(format!(
            "invalid platform: {p}: only linux images are kept by this daemon"
        )));
    }
    Ok(())
}
