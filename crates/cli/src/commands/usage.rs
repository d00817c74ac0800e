//! `image prune`, `system df` and `system prune`: what takes space and reclaiming it, with
//! docker's prompts, tables and reports.

use std::cell::Cell;
use std::rc::Rc;

use api_types::{DiskUsage, Filters};

use super::rm::confirm;
use super::{now, print, println, Ctx};
use crate::args::{BuilderPruneArgs, DfArgs, ImagePruneArgs, SystemPruneArgs};
use crate::error::CliError;
use crate::format::container::{container_header, ContainerContext, Header};
use crate::format::image::{image_header, ImageContext};
use crate::format::table::render;
use crate::format::units::human_size;
use crate::opts::filters;
use gotemplate::{ObjKind, Object, Value};
use oci::Reference;

const DANGLING_WARNING: &str =
    "WARNING! This will remove all dangling images.\nAre you sure you want to continue?";
const ALL_IMAGES_WARNING: &str = "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?";

/// `berth image prune`.
pub async fn image_prune(ctx: &Ctx, args: ImagePruneArgs) -> Result<(), CliError> {
    let f = filters(&args.filter).map_err(|e| CliError::new(e.to_string()))?;
    let warning = if args.all {
        ALL_IMAGES_WARNING
    } else {
        DANGLING_WARNING
    };
    if !args.force && !confirm(warning) {
        return Err(CliError::exit(1));
    }
    let (reclaimed, output) = prune_images(ctx, args.all, &f).await?;
    if !output.is_empty() {
        println(&output);
    }
    println(&format!(
        "Total reclaimed space: {}",
        human_size(reclaimed as f64)
    ));
    Ok(())
}

async fn prune_images(ctx: &Ctx, all: bool, f: &Filters) -> Result<(u64, String), CliError> {
    let mut f = f.clone();
    f.add("dangling", if all { "false" } else { "true" });
    let report = ctx.client.images_prune(&f).await?;
    let deleted = report.images_deleted.unwrap_or_default();
    if deleted.is_empty() {
        return Ok((0, String::new()));
    }
    let mut out = String::from("Deleted Images:\n");
    for d in deleted {
        match (d.untagged, d.deleted) {
            (Some(u), _) if !u.is_empty() => out.push_str(&format!("untagged: {u}\n")),
            (_, d) => out.push_str(&format!("deleted: {}\n", d.unwrap_or_default())),
        }
    }
    Ok((report.space_reclaimed, out))
}

/// `berth builder prune`.
pub async fn builder_prune(ctx: &Ctx, args: BuilderPruneArgs) -> Result<(), CliError> {
    if args
        .keep_storage
        .as_deref()
        .is_some_and(|k| !k.is_empty() && k != "0")
    {
        return Err(CliError::new(
            "--keep-storage is not supported by berth: builder prune removes the cache it selects, whatever its size",
        ));
    }
    let f = filters(&args.filter).map_err(CliError::new)?;
    let warning = if args.all {
        "WARNING! This will remove all build cache.\nAre you sure you want to continue?"
    } else {
        "WARNING! This will remove all dangling build cache.\nAre you sure you want to continue?"
    };
    if !args.force && !confirm(warning) {
        return Err(CliError::exit(1));
    }
    let b = ctx.client.build_cache_prune(&f, args.all).await?;
    let caches = b.caches_deleted.unwrap_or_default();
    if !caches.is_empty() {
        println(&format!(
            "Deleted build cache objects:\n{}\n",
            caches.join("\n")
        ));
    }
    println(&format!(
        "Total reclaimed space: {}",
        human_size(b.space_reclaimed as f64)
    ));
    Ok(())
}

/// The confirmation text of `system prune` (docker's template, rendered).
fn system_prune_warning(args: &SystemPruneArgs, f: &Filters) -> String {
    let mut warnings = vec![
        "all stopped containers",
        "all networks not used by at least one container",
    ];
    if args.volumes {
        warnings.push("all anonymous volumes not used by at least one container");
    }
    warnings.push(if args.all {
        "all images without at least one container associated to them"
    } else {
        "all dangling images"
    });
    warnings.push(if args.all {
        "all build cache"
    } else {
        "unused build cache"
    });
    let mut s = String::from("WARNING! This will remove:");
    for w in warnings {
        s.push_str(&format!("\n  - {w}"));
    }
    s.push('\n');
    let mut shown: Vec<String> = Vec::new();
    for name in ["label", "label!", "until"] {
        for v in f.get(name) {
            shown.push(format!("{name}={v}"));
        }
    }
    if !shown.is_empty() {
        shown.sort();
        s.push_str("\n  Items to be pruned will be filtered with:");
        for x in shown {
            s.push_str(&format!("\n  - {x}"));
        }
        s.push('\n');
    }
    s.push_str("\nAre you sure you want to continue?");
    s
}

/// `berth system prune`: containers, networks, (volumes,) images, build cache.
pub async fn system_prune(ctx: &Ctx, args: SystemPruneArgs) -> Result<(), CliError> {
    let f = filters(&args.filter).map_err(|e| CliError::new(e.to_string()))?;
    if args.volumes && f.contains("until") {
        return Err(CliError::new(
            "ERROR: The \"until\" filter is not supported with \"--volumes\"",
        ));
    }
    if !args.force && !confirm(&system_prune_warning(&args, &f)) {
        return Err(CliError::exit(1));
    }
    let mut total = 0u64;
    let mut outputs = Vec::new();
    let c = ctx.client.containers_prune(&f).await?;
    let ids = c.containers_deleted.unwrap_or_default();
    if !ids.is_empty() {
        outputs.push(format!("Deleted Containers:\n{}\n", ids.join("\n")));
        total += c.space_reclaimed;
    }
    let n = ctx.client.networks_prune(&f).await?;
    let nets = n.networks_deleted.unwrap_or_default();
    if !nets.is_empty() {
        outputs.push(format!("Deleted Networks:\n{}\n", nets.join("\n")));
    }
    if args.volumes {
        let r = ctx.client.volume_prune(&f).await?;
        let out = r.volumes_deleted.unwrap_or_default();
        if !out.is_empty() {
            total += r.space_reclaimed;
            outputs.push(format!("Deleted Volumes:\n{}\n", out.join("\n")));
        }
    }
    let (space, out) = prune_images(ctx, args.all, &f).await?;
    total += space;
    if !out.is_empty() {
        outputs.push(out);
    }
    let b = ctx.client.build_cache_prune(&f, args.all).await?;
    let caches = b.caches_deleted.unwrap_or_default();
    if !caches.is_empty() {
        outputs.push(format!(
            "Deleted build cache objects:\n{}\n",
            caches.join("\n")
        ));
    }
    total += b.space_reclaimed;
    for o in outputs {
        println(&o);
    }
    println(&format!(
        "Total reclaimed space: {}",
        human_size(total as f64)
    ));
    Ok(())
}

/// One row of the `system df` summary.
struct DfRow {
    kind: &'static str,
    total: usize,
    active: usize,
    size: String,
    reclaimable: String,
}

impl Object for DfRow {
    fn type_name(&self) -> &'static str {
        "*formatter.diskUsageContext"
    }

    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let v = match name {
            "Type" => self.kind.to_string(),
            "TotalCount" => self.total.to_string(),
            "Active" => self.active.to_string(),
            "Size" => self.size.clone(),
            "Reclaimable" => self.reclaimable.clone(),
            _ => return None,
        };
        Some(if args.is_empty() {
            Ok(Value::Str(v))
        } else {
            Err(format!(
                "wrong number of args for {name}: want 0 got {}",
                args.len()
            ))
        })
    }

    fn to_json(&self) -> Value {
        let f = |k: &str, v: String| (k.to_string(), Value::Str(v));
        Value::Obj(
            ObjKind::Map,
            vec![
                f("Active", self.active.to_string()),
                f("Reclaimable", self.reclaimable.clone()),
                f("Size", self.size.clone()),
                f("TotalCount", self.total.to_string()),
                f("Type", self.kind.to_string()),
            ],
        )
    }
}

fn with_percent(part: i64, total: i64) -> String {
    if total > 0 {
        format!("{} ({}%)", human_size(part as f64), part * 100 / total)
    } else {
        human_size(part as f64)
    }
}

/// docker's `diskUsageVolumesContext`: a volume is active when a container refers to it;
/// sizes of `-1` (unknown) are left out.
fn volumes_row(du: &DiskUsage) -> DfRow {
    let usage = || du.volumes.iter().filter_map(|v| v.usage_data.as_ref());
    let known = || usage().filter(|u| u.size != -1);
    let size: i64 = known().map(|u| u.size).sum();
    let idle: i64 = known().filter(|u| u.ref_count == 0).map(|u| u.size).sum();
    DfRow {
        kind: "Local Volumes",
        total: du.volumes.len(),
        active: usage().filter(|u| u.ref_count > 0).count(),
        size: human_size(size as f64),
        reclaimable: with_percent(idle, size),
    }
}

fn summary_rows(du: &DiskUsage) -> Vec<Value> {
    let used: i64 = du
        .images
        .iter()
        .filter(|i| i.containers != 0 && i.size != -1 && i.shared_size != -1)
        .map(|i| i.size - i.shared_size)
        .sum();
    let active = |s: &str| matches!(s, "running" | "paused" | "restarting");
    let c_total: i64 = du.containers.iter().map(|c| c.size_rw.unwrap_or(0)).sum();
    let c_idle: i64 = du
        .containers
        .iter()
        .filter(|c| !active(&c.state))
        .map(|c| c.size_rw.unwrap_or(0))
        .sum();
    let cache = cache_records(du);
    let cache_size: i64 = cache.iter().filter(|c| !c.shared).map(|c| c.size).sum();
    let rows = vec![
        DfRow {
            kind: "Images",
            total: du.images.len(),
            active: du.images.iter().filter(|i| i.containers > 0).count(),
            size: human_size(du.layers_size as f64),
            reclaimable: with_percent(du.layers_size - used, du.layers_size),
        },
        DfRow {
            kind: "Containers",
            total: du.containers.len(),
            active: du.containers.iter().filter(|c| active(&c.state)).count(),
            size: human_size(c_total as f64),
            reclaimable: with_percent(c_idle, c_total),
        },
        volumes_row(du),
        DfRow {
            kind: "Build Cache",
            total: du.build_cache.len(),
            active: cache.iter().filter(|c| c.in_use).count(),
            size: human_size(cache_size as f64),
            reclaimable: human_size(
                (cache_size
                    - cache
                        .iter()
                        .filter(|c| c.in_use && !c.shared)
                        .map(|c| c.size)
                        .sum::<i64>()) as f64,
            ),
        },
    ];
    rows.into_iter()
        .map(|r| Value::Object(Rc::new(r)))
        .collect()
}

fn df_header() -> Value {
    Value::Object(Rc::new(Header {
        names: vec![
            ("Type", "TYPE"),
            ("TotalCount", "TOTAL"),
            ("Active", "ACTIVE"),
            ("Size", "SIZE"),
            ("Reclaimable", "RECLAIMABLE"),
        ],
    }))
}

/// `berth system df [-v]`.
pub async fn df(ctx: &Ctx, args: DfArgs) -> Result<(), CliError> {
    let du = ctx.client.disk_usage().await?;
    let format = args.format.clone().unwrap_or_default();
    let format = match format.as_str() {
        "" | "table" => "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
        "raw" => "type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\nreclaimable: {{.Reclaimable}}\n",
        f => f,
    };
    if args.verbose {
        return df_verbose(&du);
    }
    let out = render(format, &df_header(), &summary_rows(&du))
        .map_err(|e| CliError::new(e.to_string()))?;
    print(&out);
    Ok(())
}

fn df_verbose(du: &DiskUsage) -> Result<(), CliError> {
    let err = |e: crate::format::table::FormatError| CliError::new(e.to_string());
    let (now, zone) = (now(), crate::format::local_zone());
    let images: Vec<Value> = du
        .images
        .iter()
        .map(|i| {
            let (mut repo, mut tag) = ("<none>".to_string(), "<none>".to_string());
            if let Some(Ok(r)) = i.repo_tags.first().map(|t| Reference::parse(t)) {
                if let Some(t) = r.tag().map(str::to_string) {
                    repo = r.familiar_name();
                    tag = t;
                }
            }
            Value::Object(Rc::new(ImageContext {
                i: i.clone(),
                repo,
                tag,
                digest: String::new(),
                trunc: true,
                now,
                zone,
            }))
        })
        .collect();
    let mut out = String::from("Images space usage:\n\n");
    out.push_str(&render(
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
        &image_header(),
        &images,
    ).map_err(err)?);
    let containers: Vec<Value> = du
        .containers
        .iter()
        .map(|c| {
            let mut c = c.clone();
            // The virtual size is not shown here.
            c.size_root_fs = Some(0);
            Value::Object(Rc::new(ContainerContext {
                c,
                trunc: true,
                now,
                zone,
                size_used: Rc::new(Cell::new(false)),
            }))
        })
        .collect();
    out.push_str("\nContainers space usage:\n\n");
    out.push_str(&render(
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
        &container_header(),
        &containers,
    ).map_err(err)?);
    out.push_str("\nLocal Volumes space usage:\n\n");
    out.push_str(
        &render(
            "table {{.Name}}\t{{.Links}}\t{{.Size}}",
            &super::volume::volume_header(),
            &super::volume::volume_rows(du.volumes.clone()),
        )
        .map_err(err)?,
    );
    let cache = cache_records(du);
    let total: i64 = cache.iter().filter(|c| !c.shared).map(|c| c.size).sum();
    out.push_str(&format!(
        "\nBuild cache usage: {}\n\n",
        human_size(total as f64)
    ));
    let rows: Vec<Value> = cache
        .into_iter()
        .map(|c| Value::Object(Rc::new(CacheRow { c, now })))
        .collect();
    out.push_str(
        &render(
            "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}",
            &cache_header(),
            &rows,
        )
        .map_err(err)?,
    );
    print(&out);
    Ok(())
}

/// One build cache record of `system df` (moby's `build.CacheRecord`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CacheRecord {
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(default)]
    r#type: String,
    #[serde(default)]
    in_use: bool,
    #[serde(default)]
    shared: bool,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    last_used_at: Option<String>,
    #[serde(default)]
    usage_count: i64,
}

fn cache_records(du: &DiskUsage) -> Vec<CacheRecord> {
    du.build_cache
        .iter()
        .filter_map(|v| serde_json::from_value(v.clone()).ok())
        .collect()
}

/// Seconds since the epoch of an RFC 3339 time (`2024-01-02T03:04:05…Z`).
fn unix_secs(s: &str) -> Option<i64> {
    api_types::time::parse_rfc3339(s).map(|n| (n / 1_000_000_000) as i64)
}

struct CacheRow {
    c: CacheRecord,
    now: f64,
}

impl Object for CacheRow {
    fn type_name(&self) -> &'static str {
        "*formatter.buildCacheContext"
    }

    fn call(&self, name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        let since = |t: &Option<String>| {
            t.as_deref()
                .and_then(unix_secs)
                .map(|u| {
                    format!(
                        "{} ago",
                        crate::format::units::human_duration(self.now - u as f64)
                    )
                })
                .unwrap_or_default()
        };
        let v = match name {
            "ID" => self.c.id.chars().take(12).collect(),
            "CacheType" => self.c.r#type.clone(),
            "Size" => human_size(self.c.size as f64),
            "CreatedSince" => since(&self.c.created_at),
            "LastUsedSince" => since(&self.c.last_used_at),
            "UsageCount" => self.c.usage_count.to_string(),
            "Shared" => self.c.shared.to_string(),
            _ => return None,
        };
        Some(Ok(Value::Str(v)))
    }

    fn to_json(&self) -> Value {
        Value::Str(self.c.id.clone())
    }
}

fn cache_header() -> Value {
    Value::Object(Rc::new(Header {
        names: vec![
            ("ID", "CACHE ID"),
            ("CacheType", "CACHE TYPE"),
            ("Size", "SIZE"),
            ("CreatedSince", "CREATED"),
            ("LastUsedSince", "LAST USED"),
            ("UsageCount", "USAGE"),
            ("Shared", "SHARED"),
        ],
    }))
}
