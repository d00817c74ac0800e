//! `berth push [-a] [-q] NAME[:TAG]`: asks the daemon to push, with the credentials of
//! `config.json` for the repository's registry, and draws docker's per-layer bars.

use super::pull::{registry_auth, show};
use super::{println, Ctx};
use crate::args::PushArgs;
use crate::error::CliError;
use oci::Reference;

/// `berth push`.
pub async fn push(ctx: &Ctx, args: PushArgs) -> Result<(), CliError> {
    let r = Reference::parse(&args.name).map_err(|e| CliError::new(e.to_string()))?;
    if args.all_tags && (r.tag().is_some() || r.digest().is_some()) {
        return Err(CliError::new("tag can't be used with --all-tags/-a"));
    }
    if r.digest().is_some() {
        return Err(CliError::new("cannot push a digest reference"));
    }
    let defaulted = !args.all_tags && r.tag().is_none();
    let r = if args.all_tags {
        r
    } else {
        r.with_default_tag()
    };
    if defaulted && !args.quiet {
        println("Using default tag: latest");
    }
    let auth = registry_auth(ctx, r.domain())?;
    let stream = ctx
        .client
        .image_push(&r.repository(), r.tag(), &auth)
        .await?;
    show(stream, args.quiet).await?;
    if args.quiet {
        println(&r.to_string());
    }
    Ok(())
}
