//! `volume create`, `ls`, `inspect`, `rm`, `prune` (docker's `cli/command/volume`).

use std::collections::BTreeMap;
use std::rc::Rc;

use api_types::{Volume, VolumeCreateOptions};

use super::rm::confirm;
use super::{join_errors, print, println, Ctx};
use crate::args::volume::{
    VolumeCreateArgs, VolumeInspectArgs, VolumeLsArgs, VolumePruneArgs, VolumeRmArgs,
};
use crate::args::VolumeCommand;
use crate::error::CliError;
use crate::format::container::Header;
use crate::format::row;
use crate::format::table::render;
use crate::format::units::human_size;
use crate::opts::filters;
use gotemplate::{Object, Value};

/// Runs one `volume` subcommand.
pub async fn volume(ctx: &Ctx, cmd: VolumeCommand) -> Result<(), CliError> {
    match cmd {
        VolumeCommand::Create(a) => create(ctx, a).await,
        VolumeCommand::Inspect(a) => inspect(ctx, a).await,
        VolumeCommand::Ls(a) => ls(ctx, a).await,
        VolumeCommand::Prune(a) => prune(ctx, a).await,
        VolumeCommand::Rm(a) => rm(ctx, a).await,
    }
}

/// `--opt`/`--label` values as docker's `MapOpts`: `null` when none were given.
fn map_of(values: &[String]) -> Option<BTreeMap<String, String>> {
    (!values.is_empty()).then(|| super::kv_map(values))
}

/// `berth volume create [OPTIONS] [VOLUME]`: prints the volume's name.
async fn create(ctx: &Ctx, args: VolumeCreateArgs) -> Result<(), CliError> {
    let name = match (&args.name, &args.volume) {
        (Some(n), Some(v)) if n != v => {
            return Err(CliError::new(
                "conflicting options: cannot specify a volume-name through both --name and as a positional arg",
            ))
        }
        (Some(n), _) => n.clone(),
        (None, v) => v.clone().unwrap_or_default(),
    };
    let opts = VolumeCreateOptions {
        name,
        driver: args.driver.clone(),
        driver_opts: map_of(&args.opt),
        labels: map_of(&args.label),
        cluster_volume_spec: None,
    };
    let v = ctx.client.volume_create(&opts).await?;
    println(&v.name);
    Ok(())
}

/// `berth volume inspect`.
async fn inspect(ctx: &Ctx, args: VolumeInspectArgs) -> Result<(), CliError> {
    super::inspect::inspect_volumes(ctx, &args.names, args.format.as_deref()).await
}

/// One displayed row of `volume ls` (docker's `volumeContext`).
struct VolumeContext(Volume);

const FIELDS: &[&str] = &[
    "Availability",
    "Driver",
    "Group",
    "Labels",
    "Links",
    "Mountpoint",
    "Name",
    "Scope",
    "Size",
    "Status",
];

impl VolumeContext {
    fn get(&self, name: &str) -> Option<String> {
        let v = &self.0;
        Some(match name {
            "Name" => v.name.clone(),
            "Driver" => v.driver.clone(),
            "Scope" => v.scope.clone(),
            "Mountpoint" => v.mountpoint.clone(),
            "Labels" => v
                .labels
                .iter()
                .flatten()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
            "Links" => v
                .usage_data
                .as_ref()
                .map_or("N/A".into(), |u| u.ref_count.to_string()),
            "Size" => v
                .usage_data
                .as_ref()
                .map_or("N/A".into(), |u| human_size(u.size as f64)),
            "Group" | "Availability" | "Status" => "N/A".into(),
            _ => return None,
        })
    }
}

impl Object for VolumeContext {
    fn type_name(&self) -> &'static str {
        "*formatter.volumeContext"
    }

    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        if name == "Label" {
            return Some(row::label(self.0.labels.as_ref(), args));
        }
        Some(row::no_args(name, args, self.get(name)?))
    }

    fn to_json(&self) -> Value {
        row::fields_json(FIELDS, |f| self.get(f))
    }
}

/// The header docker renders `volume ls` tables with.
pub fn volume_header() -> Value {
    Value::Object(Rc::new(Header {
        names: vec![
            ("ID", "ID"),
            ("Name", "VOLUME NAME"),
            ("Group", "GROUP"),
            ("Driver", "DRIVER"),
            ("Scope", "SCOPE"),
            ("Availability", "AVAILABILITY"),
            ("Mountpoint", "MOUNTPOINT"),
            ("Labels", "LABELS"),
            ("Links", "LINKS"),
            ("Size", "SIZE"),
            ("Status", "STATUS"),
        ],
    }))
}

/// docker's `NewVolumeFormat`.
pub fn volume_format(source: &str, quiet: bool) -> String {
    match (source, quiet) {
        ("table", true) => "{{.Name}}".into(),
        ("table", false) => "table {{.Driver}}\t{{.Name}}".into(),
        ("raw", true) => "name: {{.Name}}".into(),
        ("raw", false) => "name: {{.Name}}\\ndriver: {{.Driver}}\\n".into(),
        (f, _) => f.to_string(),
    }
}

/// The rows of `volumes`, in the order given.
pub fn volume_rows(volumes: Vec<Volume>) -> Vec<Value> {
    volumes
        .into_iter()
        .map(|v| Value::Object(Rc::new(VolumeContext(v))))
        .collect()
}

/// `sortorder.NaturalLess`: runs of digits compare as numbers.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let na = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let nb = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (da, db) = (&a[..na], &b[..nb]);
                let ta = std::str::from_utf8(da)
                    .unwrap_or("")
                    .trim_start_matches('0');
                let tb = std::str::from_utf8(db)
                    .unwrap_or("")
                    .trim_start_matches('0');
                let ord = ta.len().cmp(&tb.len()).then(ta.cmp(tb)).then(na.cmp(&nb));
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
                a = &a[na..];
                b = &b[nb..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

/// `berth volume ls`.
async fn ls(ctx: &Ctx, args: VolumeLsArgs) -> Result<(), CliError> {
    let f = filters(&args.filter).map_err(CliError::new)?;
    let list = ctx.client.volume_list(&f).await?;
    let mut format = args.format.clone().unwrap_or_default();
    if format.is_empty() {
        format = match &ctx.config.volumes_format {
            Some(f) if !args.quiet && !f.is_empty() => f.clone(),
            _ => "table".into(),
        };
    }
    let mut volumes = list.volumes;
    volumes.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let out = render(
        &volume_format(&format, args.quiet),
        &volume_header(),
        &volume_rows(volumes),
    )
    .map_err(|e| CliError::new(e.to_string()))?;
    print(&out);
    Ok(())
}

/// `berth volume rm`: prints each removed name; failures are reported together.
async fn rm(ctx: &Ctx, args: VolumeRmArgs) -> Result<(), CliError> {
    let mut errs = Vec::new();
    for name in &args.names {
        match ctx.client.volume_remove(name, args.force).await {
            Ok(()) => println(name),
            Err(e) => errs.push(CliError::from(e)),
        }
    }
    join_errors(errs)
}

/// `berth volume prune`.
async fn prune(ctx: &Ctx, args: VolumePruneArgs) -> Result<(), CliError> {
    let mut f = filters(&args.filter).map_err(CliError::new)?;
    let mut warning = "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?";
    if args.all {
        if f.contains("all") {
            return Err(CliError::new(
                "conflicting options: cannot specify both --all and --filter all=1",
            ));
        }
        f.add("all", "true");
        warning = "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?";
    }
    if !args.force && !confirm(warning) {
        return Err(CliError::exit(1));
    }
    let report = ctx.client.volume_prune(&f).await?;
    let deleted = report.volumes_deleted.unwrap_or_default();
    super::rm::print_prune_report("Volumes", &deleted, report.space_reclaimed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["v10", "v2", "a", "v1"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["a", "v1", "v2", "v10"]);
    }
}
