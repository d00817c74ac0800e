//! `stats`, `pause`, `unpause`, `update`: operating running containers, with the docker
//! CLI's output (the `stats` table it computes from the daemon's samples, each name that
//! succeeded, errors one per line).

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_types::UpdateConfig;
use client::ListContainersOptions;
use gotemplate::Value;

use super::lifecycle::{parallel, report};
use super::{join_errors, print, Ctx};
use crate::args::{PauseArgs, StatsArgs, UpdateArgs};
use crate::error::CliError;
use crate::format::stats::{stats_header, StatsContext, StatsEntry, DEFAULT_TABLE};
use crate::format::table::render;
use crate::format::units::ram_in_bytes;
use crate::opts::values::{int, parse_cpus, parse_restart};

/// `berth pause` / `berth unpause`.
pub async fn pause(ctx: &Ctx, args: PauseArgs, unpause: bool) -> Result<(), CliError> {
    let results = parallel(&args.containers, |c| async move {
        let r = if unpause {
            ctx.client.container_unpause(&c).await
        } else {
            ctx.client.container_pause(&c).await
        };
        r.map_err(CliError::from)
    })
    .await;
    report(&args.containers, results)
}

/// A flag's value with pflag's wording on error.
fn flag<T>(
    v: &Option<String>,
    name: &str,
    f: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, CliError> {
    v.as_deref()
        .map(|s| {
            f(s).map_err(|reason| {
                CliError::usage(
                    format!("invalid argument {s:?} for \"{name}\" flag: {reason}"),
                    "berth update [OPTIONS] CONTAINER [CONTAINER...]",
                    "berth update",
                )
            })
        })
        .transpose()
}

/// The update body of the flags given; `Err` when none is.
fn update_config(a: &UpdateArgs) -> Result<UpdateConfig, CliError> {
    let given = [
        &a.blkio_weight,
        &a.cpu_period,
        &a.cpu_quota,
        &a.cpu_rt_period,
        &a.cpu_rt_runtime,
        &a.cpu_shares,
        &a.cpus,
        &a.cpuset_cpus,
        &a.cpuset_mems,
        &a.memory,
        &a.memory_reservation,
        &a.memory_swap,
        &a.pids_limit,
        &a.restart,
        &a.kernel_memory,
    ];
    if given.iter().all(|v| v.is_none()) {
        return Err(CliError::new(
            "you must provide one or more flags when using this command",
        ));
    }
    let mut u = UpdateConfig {
        blkio_weight: flag(&a.blkio_weight, "--blkio-weight", |s| {
            s.parse::<u16>()
                .map_err(|_| format!("strconv.ParseUint: parsing {s:?}: invalid syntax"))
        })?
        .unwrap_or(0),
        cpu_period: flag(&a.cpu_period, "--cpu-period", int)?.unwrap_or(0),
        cpu_quota: flag(&a.cpu_quota, "--cpu-quota", int)?.unwrap_or(0),
        cpu_shares: flag(&a.cpu_shares, "-c, --cpu-shares", int)?.unwrap_or(0),
        nano_cpus: flag(&a.cpus, "--cpus", parse_cpus)?.unwrap_or(0),
        cpuset_cpus: a.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: a.cpuset_mems.clone().unwrap_or_default(),
        memory: flag(&a.memory, "-m, --memory", ram_in_bytes)?.unwrap_or(0),
        memory_reservation: flag(&a.memory_reservation, "--memory-reservation", ram_in_bytes)?
            .unwrap_or(0),
        memory_swap: flag(&a.memory_swap, "--memory-swap", |s| {
            if s == "-1" {
                Ok(-1)
            } else {
                ram_in_bytes(s)
            }
        })?
        .unwrap_or(0),
        pids_limit: flag(&a.pids_limit, "--pids-limit", int)?,
        ..Default::default()
    };
    // Sent as the docker CLI sends them; the daemon refuses what it does not apply.
    for (field, v, name) in [
        ("CpuRealtimePeriod", &a.cpu_rt_period, "--cpu-rt-period"),
        ("CpuRealtimeRuntime", &a.cpu_rt_runtime, "--cpu-rt-runtime"),
    ] {
        if let Some(n) = flag(v, name, int)? {
            u.extra.insert(field.into(), n.into());
        }
    }
    if let Some(k) = flag(&a.kernel_memory, "--kernel-memory", ram_in_bytes)? {
        u.extra.insert("KernelMemory".into(), k.into());
    }
    if let Some(r) = &a.restart {
        u.restart_policy = parse_restart(r).map_err(CliError::new)?;
    }
    Ok(u)
}

/// `berth update`.
pub async fn update(ctx: &Ctx, args: UpdateArgs) -> Result<(), CliError> {
    let cfg = update_config(&args)?;
    let results = parallel(&args.containers, |c| {
        let cfg = cfg.clone();
        async move {
            let resp = ctx.client.container_update(&c, &cfg).await?;
            for w in resp.warnings {
                super::eprintln(&w);
            }
            Ok(())
        }
    })
    .await;
    report(&args.containers, results)
}

/// The containers `stats` shows: the ones named, else the running (or all) ones.
async fn stats_targets(ctx: &Ctx, args: &StatsArgs) -> Result<Vec<String>, CliError> {
    if !args.containers.is_empty() {
        return Ok(args.containers.clone());
    }
    let list = ctx
        .client
        .container_list(&ListContainersOptions {
            all: args.all,
            ..Default::default()
        })
        .await?;
    Ok(list.into_iter().map(|c| c.id).collect())
}

fn render_entries(format: &str, entries: &[StatsEntry], trunc: bool) -> Result<String, CliError> {
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| {
            Value::Object(Rc::new(StatsContext {
                e: e.clone(),
                trunc,
            }))
        })
        .collect();
    render(format, &stats_header(), &rows).map_err(|e| CliError::new(e.to_string()))
}

/// `berth stats`: one table with `--no-stream`, else the table redrawn every second.
pub async fn stats(ctx: &Ctx, args: StatsArgs) -> Result<(), CliError> {
    let format = match args.format.as_deref() {
        None | Some("") | Some("table") => DEFAULT_TABLE.to_string(),
        Some(f) => f.to_string(),
    };
    let names = stats_targets(ctx, &args).await?;
    let latest: Arc<Mutex<HashMap<String, StatsEntry>>> = Arc::default();
    let trunc = !args.no_trunc;
    if args.no_stream {
        let results = parallel(&names, |c| {
            let latest = latest.clone();
            async move {
                let mut s = ctx.client.container_stats(&c, false).await?;
                let entry = match tokio::time::timeout(Duration::from_secs(2), s.next()).await {
                    Ok(Some(Ok(sample))) => StatsEntry::from_sample(&c, &sample),
                    _ => StatsEntry {
                        container: c.clone(),
                        invalid: true,
                        ..Default::default()
                    },
                };
                latest
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(c, entry);
                Ok(())
            }
        })
        .await;
        let errs: Vec<CliError> = results.into_iter().filter_map(Result::err).collect();
        if !errs.is_empty() {
            return join_errors(errs);
        }
        let map = latest.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let rows: Vec<StatsEntry> = names.iter().filter_map(|n| map.get(n).cloned()).collect();
        print(&render_entries(&format, &rows, trunc)?);
        return Ok(());
    }
    for c in &names {
        let (client, c, latest) = (ctx.client.clone(), c.clone(), latest.clone());
        tokio::spawn(async move {
            let Ok(mut s) = client.container_stats(&c, true).await else {
                return;
            };
            while let Some(Ok(sample)) = s.next().await {
                let e = StatsEntry::from_sample(&c, &sample);
                latest
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(c.clone(), e);
            }
        });
    }
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let map = latest.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let rows: Vec<StatsEntry> = names
            .iter()
            .map(|n| {
                map.get(n).cloned().unwrap_or(StatsEntry {
                    container: n.clone(),
                    id: n.clone(),
                    invalid: true,
                    ..Default::default()
                })
            })
            .collect();
        // Clear the screen and draw from the top, as the docker CLI does.
        print(&format!(
            "\x1b[2J\x1b[H{}",
            render_entries(&format, &rows, trunc)?
        ));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
