//! `commit`, `diff` and `export`: a container's filesystem as a new image, as a list of
//! changes, or as a tar.

use client::CommitOptions;

use super::{outfile, println, Ctx};
use crate::args::{CommitArgs, DiffArgs, ExportArgs};
use crate::error::CliError;
use oci::Reference;

/// `berth commit`: prints the new image's ID.
pub async fn commit(ctx: &Ctx, args: CommitArgs) -> Result<(), CliError> {
    let (mut repo, mut tag) = (None, None);
    if let Some(r) = &args.reference {
        let r = Reference::parse(r).map_err(|e| CliError::new(e.to_string()))?;
        if r.digest().is_some() {
            return Err(CliError::new(
                "refusing to create a tag with a digest reference",
            ));
        }
        let r = r.with_default_tag();
        tag = r.tag().map(str::to_string);
        repo = Some(r.repository());
    }
    let opts = CommitOptions {
        repo,
        tag,
        comment: args.message.unwrap_or_default(),
        author: args.author.unwrap_or_default(),
        changes: args.change,
        pause: args.pause.unwrap_or(true),
        config: None,
    };
    let id = ctx.client.container_commit(&args.container, &opts).await?;
    println(&id);
    Ok(())
}

/// `berth diff`: `C /etc`, `A /etc/new`, `D /gone`, one per line.
pub async fn diff(ctx: &Ctx, args: DiffArgs) -> Result<(), CliError> {
    if args.container.is_empty() {
        return Err(CliError::new("Container name cannot be empty"));
    }
    let changes = ctx.client.container_changes(&args.container).await?;
    let mut out = String::new();
    for c in changes {
        let kind = match c.kind {
            0 => "C",
            1 => "A",
            2 => "D",
            _ => "",
        };
        out.push_str(&format!("{kind} {}\n", c.path));
    }
    super::print(&out);
    Ok(())
}

/// `berth export`: the tar to `-o FILE` or to stdout (never a terminal).
pub async fn export(ctx: &Ctx, args: ExportArgs) -> Result<(), CliError> {
    let what = "failed to export container";
    outfile::check(args.output.as_deref(), what)?;
    let body = ctx.client.container_export(&args.container).await?;
    outfile::write(body, args.output.as_deref(), what).await
}
