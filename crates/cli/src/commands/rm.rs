//! `rm` and `container prune`.

use std::io::BufRead;

use client::RemoveOptions;

use super::lifecycle::parallel;
use super::{eprintln, join_errors, print, println, Ctx};
use crate::args::{PruneArgs, RmArgs};
use crate::error::CliError;
use crate::format::units::human_size;
use crate::opts::filters;

/// `berth rm`: with `-f`, a container that does not exist is reported but not an error.
pub async fn rm(ctx: &Ctx, args: RmArgs) -> Result<(), CliError> {
    let opts = RemoveOptions {
        force: args.force,
        volumes: args.volumes,
        link: args.link,
    };
    let results = parallel(&args.containers, |c| async move {
        let id = c.trim_matches('/');
        if id.is_empty() {
            return Err(CliError::new("container name cannot be empty"));
        }
        ctx.client
            .container_remove(id, opts)
            .await
            .map_err(CliError::from)
    })
    .await;
    let mut errs = Vec::new();
    for (name, r) in args.containers.iter().zip(results) {
        match r {
            Ok(()) => println(name),
            Err(e) if args.force && e.kind() == client::ErrorKind::NotFound => eprintln(&e.message),
            Err(e) => errs.push(e),
        }
    }
    join_errors(errs)
}

/// `berth container prune`.
pub async fn prune(ctx: &Ctx, args: PruneArgs) -> Result<(), CliError> {
    let f = filters(&args.filter).map_err(CliError::new)?;
    if !args.force
        && !confirm(
            "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?",
        )
    {
        // docker's cancelled error is not printed.
        return Err(CliError::exit(1));
    }
    let report = ctx.client.containers_prune(&f).await?;
    let deleted = report.containers_deleted.unwrap_or_default();
    print_prune_report("Containers", &deleted, report.space_reclaimed);
    Ok(())
}

/// What `container prune` and `volume prune` print: the deleted list (if any) and the space
/// reclaimed (counted only when something was deleted).
pub(crate) fn print_prune_report(what: &str, deleted: &[String], space: u64) {
    let mut reclaimed = 0;
    if !deleted.is_empty() {
        let mut out = format!("Deleted {what}:\n");
        for id in deleted {
            out.push_str(id);
            out.push('\n');
        }
        println(&out);
        reclaimed = space;
    }
    println(&format!(
        "Total reclaimed space: {}",
        human_size(reclaimed as f64)
    ));
}

/// docker's `prompt.Confirm`: `[y/N]`, only `y`/`Y` accepts.
pub(crate) fn confirm(message: &str) -> bool {
    print(&format!("{message} [y/N] "));
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    line.trim().eq_ignore_ascii_case("y")
}
