//! `berth ps` (docker's `runPs`): list options, `.Size` detection in custom formats, and
//! rendering through the container formatter.

use std::cell::Cell;
use std::rc::Rc;

use api_types::ContainerSummary;
use client::ListContainersOptions;

use super::{eprintln, now, print, Ctx};
use crate::args::PsArgs;
use crate::error::CliError;
use crate::format::container::{container_format, container_header, ContainerContext};
use crate::format::table::render;
use crate::opts::filters;
use api_types::time::Zone;
use gotemplate::{Template, Value};

/// `berth ps`.
pub async fn ps(ctx: &Ctx, args: PsArgs) -> Result<(), CliError> {
    let mut format = args.format.clone().unwrap_or_default();
    if format.is_empty() {
        format = ctx.config.ps_format.clone().unwrap_or_default();
    } else if args.quiet {
        eprintln("WARNING: Ignoring custom format, because both --format and --quiet are set.");
    }
    let mut opts = ListContainersOptions {
        all: args.all,
        limit: Some(args.last).filter(|n| *n > 0),
        size: args.size.unwrap_or(false),
        filters: filters(&args.filter).map_err(|e| {
            CliError::usage(
                format!(
                    "invalid argument {:?} for \"-f, --filter\" flag: {e}",
                    args.filter.join(",")
                ),
                "berth ps [OPTIONS]",
                "berth ps",
            )
        })?,
    };
    if args.latest && args.last == -1 {
        opts.limit = Some(1);
    }
    if !format.is_empty() {
        // Validate the template, and ask for sizes if it uses `.Size` (docker's behaviour).
        let tmpl = Template::docker(&format)
            .map_err(|e| CliError::new(format!("failed to parse template: {e}")))?;
        let probe = probe_context();
        let used = probe.size_used.clone();
        tmpl.execute(&Value::Object(Rc::new(probe)))
            .map_err(|e| CliError::new(format!("failed to execute template: {e}")))?;
        if !args.quiet && !opts.size && args.size.is_none() && used.get() {
            opts.size = true;
        }
    }
    let containers = ctx.client.container_list(&opts).await?;
    let out = render_containers(
        &container_format(&format, args.quiet, opts.size),
        &containers,
        !args.no_trunc,
        now(),
        crate::format::local_zone(),
    )?;
    print(&out);
    Ok(())
}

fn probe_context() -> ContainerContext {
    ContainerContext {
        c: ContainerSummary::default(),
        trunc: true,
        now: 0.0,
        zone: Zone::utc_static(),
        size_used: Rc::new(Cell::new(false)),
    }
}

/// Renders containers with a prepared format.
pub fn render_containers(
    format: &str,
    containers: &[ContainerSummary],
    trunc: bool,
    now: f64,
    zone: &'static Zone,
) -> Result<String, CliError> {
    let rows: Vec<Value> = containers
        .iter()
        .map(|c| {
            Value::Object(Rc::new(ContainerContext {
                c: c.clone(),
                trunc,
                now,
                zone,
                size_used: Rc::new(Cell::new(false)),
            }))
        })
        .collect();
    render(format, &container_header(), &rows).map_err(|e| CliError::new(e.to_string()))
}
