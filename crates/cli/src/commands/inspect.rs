//! `inspect`, `container inspect`, `image inspect` (docker's `inspect.Inspect`): the raw
//! JSON re-indented, compact with `-f json`, or a template per object. Without `--type`,
//! each name is tried as a container, an image, a network, a volume and a plugin.

use bytes::Bytes;

use super::{eprintln, print, Ctx};
use crate::args::{InspectArgs, TypedInspectArgs};
use crate::error::CliError;
use crate::format::json_indent::{compact, indent};
use gotemplate::{Template, Value};

/// Object kinds `--type` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Container,
    Image,
    Network,
    Volume,
    Plugin,
}

const ALL_TYPES: &str = "config\", \"container\", \"image\", \"network\", \"node\", \"plugin\", \"secret\", \"service\", \"task\", \"volume";

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Container => "container",
            Kind::Image => "image",
            Kind::Network => "network",
            Kind::Volume => "volume",
            Kind::Plugin => "plugin",
        }
    }
}

/// `berth inspect`.
pub async fn inspect(ctx: &Ctx, args: InspectArgs) -> Result<(), CliError> {
    let kinds: Vec<Kind> = match args.object_type.as_deref() {
        None => vec![Kind::Container, Kind::Image, Kind::Network, Kind::Volume, Kind::Plugin],
        Some("") => return Err(CliError::new(format!("type is empty: must be one of \"{ALL_TYPES}\""))),
        Some("container") => vec![Kind::Container],
        Some("image") => vec![Kind::Image],
        Some("network") => vec![Kind::Network],
        Some("volume") => vec![Kind::Volume],
        Some("plugin") => vec![Kind::Plugin],
        Some(t @ ("config" | "node" | "secret" | "service" | "task")) => {
            return Err(CliError::new(format!("Error response from daemon: This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again. ({t})")))
        }
        Some(t) => return Err(CliError::new(format!("unknown type: {t:?}: must be one of \"{ALL_TYPES}\""))),
    };
    let autodetect = args.object_type.is_none();
    let size = args.size;
    run_inspect(&args.names, args.format.as_deref(), |name| {
        let kinds = kinds.clone();
        async move {
            for k in &kinds {
                match fetch(ctx, *k, &name, size).await {
                    Ok(raw) => {
                        if size && *k != Kind::Container {
                            eprintln(&format!("WARNING: --size ignored for {}", k.name()));
                        }
                        return Ok(raw);
                    }
                    Err(e) if autodetect && skippable(&e) => continue,
                    Err(e) => return Err(CliError::from(e)),
                }
            }
            Err(CliError::new(format!("Error: No such object: {name}")))
        }
    })
    .await
}

/// `berth container inspect` / `berth image inspect`.
pub async fn inspect_typed(ctx: &Ctx, args: TypedInspectArgs, kind: Kind) -> Result<(), CliError> {
    let size = args.size;
    run_inspect(&args.names, args.format.as_deref(), |name| async move {
        fetch(ctx, kind, &name, size).await.map_err(CliError::from)
    })
    .await
}

/// `berth volume inspect`.
pub async fn inspect_volumes(
    ctx: &Ctx,
    names: &[String],
    format: Option<&str>,
) -> Result<(), CliError> {
    run_inspect(names, format, |name| async move {
        fetch(ctx, Kind::Volume, &name, false)
            .await
            .map_err(CliError::from)
    })
    .await
}

fn skippable(e: &client::Error) -> bool {
    let m = e.to_string();
    e.is_not_found() || m.contains("not supported") || m.contains("invalid reference format")
}

async fn fetch(ctx: &Ctx, kind: Kind, name: &str, size: bool) -> Result<Bytes, client::Error> {
    let c = &ctx.client;
    match kind {
        Kind::Container => c.container_inspect_raw(name, size).await,
        Kind::Image => c.image_inspect_raw(name).await,
        Kind::Network => c.get_raw(&format!("/networks/{name}")).await,
        Kind::Volume => c.get_raw(&format!("/volumes/{name}")).await,
        Kind::Plugin => c.get_raw(&format!("/plugins/{name}/json")).await,
    }
}

/// Fetches every name and prints them as docker does; errors are collected and reported
/// after the output, with exit status 1.
pub(crate) async fn run_inspect<F, Fut>(
    names: &[String],
    format: Option<&str>,
    get: F,
) -> Result<(), CliError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Bytes, CliError>>,
{
    let format = format.unwrap_or("");
    let tmpl = match format {
        "" | "json" => None,
        f => Some(
            Template::docker(f)
                .map_err(|e| CliError::status(format!("template parsing error: {e}"), 64))?,
        ),
    };
    let mut raws: Vec<Bytes> = Vec::new();
    let mut out = String::new();
    let mut errs = Vec::new();
    for name in names {
        let raw = match get(name.clone()).await {
            Ok(r) => r,
            Err(e) => {
                errs.push(e.message);
                continue;
            }
        };
        match &tmpl {
            None => raws.push(raw),
            Some(t) => match render_one(t, &raw) {
                Ok(s) => {
                    out.push_str(&s);
                    out.push('\n');
                }
                Err(e) => errs.push(e),
            },
        }
    }
    match format {
        "" | "json" if raws.is_empty() => print("[]\n"),
        "" | "json" => {
            let mut joined = Vec::from(&b"["[..]);
            for (i, r) in raws.iter().enumerate() {
                if i > 0 {
                    joined.push(b',');
                }
                joined.extend_from_slice(r);
            }
            joined.push(b']');
            let body = if format == "json" {
                compact(&joined)
            } else {
                indent(&joined, "    ")
            };
            print(&format!("{body}\n"));
        }
        _ if out.is_empty() => print("\n"),
        _ => print(&out),
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(errs.join("\n")))
    }
}

/// Executes the template over one object: docker tries the typed value, then the raw map
/// with `missingkey=error`; a missing key of a struct is an error in both.
fn render_one(t: &Template, raw: &[u8]) -> Result<String, String> {
    let v = Value::from_json_slice(raw).map_err(|e| format!("unable to read inspect data: {e}"))?;
    match t.execute(&v) {
        Ok(s) => Ok(s),
        Err(_) => t
            .clone()
            .strict()
            .execute(&v)
            .map_err(|e| format!("template parsing error: {e}")),
    }
}
