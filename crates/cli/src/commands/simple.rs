//! `top` and `rename`.

use std::io::Write;

use super::{eprintln, print, Ctx};
use crate::args::{RenameArgs, TopArgs};
use crate::error::CliError;
use crate::format::table::go_tabwriter;

/// `berth top CONTAINER [ps OPTIONS]`: the daemon's `ps` table, realigned.
pub async fn top(ctx: &Ctx, args: TopArgs) -> Result<(), CliError> {
    let ps_args = args.ps_args.join(" ");
    let ps_args = (!ps_args.is_empty()).then_some(ps_args);
    let top = ctx
        .client
        .container_top(&args.container, ps_args.as_deref())
        .await?;
    let mut tw = go_tabwriter(20, 3);
    let _ = writeln!(tw, "{}", top.titles.join("\t"));
    for p in &top.processes {
        let _ = writeln!(tw, "{}", p.join("\t"));
    }
    let _ = tw.flush();
    print(&String::from_utf8_lossy(
        &tw.into_inner().unwrap_or_default(),
    ));
    Ok(())
}

/// `berth rename CONTAINER NEW_NAME`.
pub async fn rename(ctx: &Ctx, args: RenameArgs) -> Result<(), CliError> {
    let (old, new) = (args.container.trim(), args.new_name.trim());
    if old.is_empty() || new.is_empty() {
        return Err(CliError::new(
            "Error: Neither old nor new names may be empty",
        ));
    }
    if let Err(e) = ctx.client.container_rename(old, new).await {
        eprintln(&e.to_string());
        return Err(CliError::new(format!(
            "Error: failed to rename container named {old}"
        )));
    }
    Ok(())
}
