//! `berth import file|URL|- [REPOSITORY[:TAG]]`: the tar is streamed as the request body
//! (or, for a URL, fetched by the daemon); progress and the new image ID go to stdout.

use client::{ImportOptions, Upload};

use super::Ctx;
use crate::args::ImportArgs;
use crate::error::CliError;
use crate::opts::kvfile::io_reason;
use crate::stream::terminal::stdout_is_tty;
use oci::Reference;

/// `berth import`.
pub async fn import(ctx: &Ctx, args: ImportArgs) -> Result<(), CliError> {
    if let Some(r) = &args.reference {
        Reference::parse(r).map_err(|e| CliError::new(e.to_string()))?;
    }
    let opts = |from_src: &str| ImportOptions {
        from_src: from_src.to_string(),
        repo: args.reference.clone(),
        tag: None,
        message: args.message.clone(),
        changes: args.change.clone(),
        platform: args.platform.clone(),
    };
    let stream = if args.source == "-" {
        ctx.client
            .image_import(&opts("-"), Upload::reader(tokio::io::stdin()))
            .await?
    } else if args.source.starts_with("http://") || args.source.starts_with("https://") {
        ctx.client
            .image_import(&opts(&args.source), Upload::reader(tokio::io::empty()))
            .await?
    } else {
        let file = open_upload(&args.source)?;
        ctx.client
            .image_import(&opts("-"), Upload::file(file))
            .await?
    };
    show_progress(stream).await
}

/// Opens a file to upload (import, load), refusing what cannot be read as one with the docker
/// CLI's words (`open PATH: …`, `read PATH: is a directory`).
pub fn open_upload(path: &str) -> Result<std::fs::File, CliError> {
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::new(format!("open {path}: {}", io_reason(&e))))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(CliError::new(format!("read {path}: is a directory")));
    }
    Ok(file)
}

/// Prints a progress stream on stdout; its error message becomes the command's error.
pub async fn show_progress(
    stream: client::JsonStream<api_types::JsonMessage>,
) -> Result<(), CliError> {
    super::pull::draw(stream, std::io::stdout(), stdout_is_tty(), 200, false).await
}
