//! `images`, `tag`, `rmi`, `history`.

use std::rc::Rc;

use api_types::HistoryResponseItem;
use client::ListImagesOptions;

use super::{eprintln, join_errors, now, print, println, Ctx};
use crate::args::{HistoryArgs, ImagesArgs, RmiArgs, TagArgs};
use crate::error::CliError;
use crate::format::container::{ellipsis, Header};
use crate::format::ids::{is_id_or_digest, truncate_id};
use crate::format::image::{image_format, image_header, ImageRows};
use crate::format::table::render;
use crate::format::units::{human_duration, human_size_with_precision};
use crate::opts::filters;
use api_types::time::{rfc3339_nano, Zone};
use gotemplate::{ObjKind, Object, Value};
use oci::Reference;

/// `berth images` (`top_level` is the legacy command, which hints at `image ls` mix-ups).
pub async fn images(ctx: &Ctx, args: ImagesArgs, top_level: bool) -> Result<(), CliError> {
    let mut f = filters(&args.filter).map_err(|e| CliError::new(e.to_string()))?;
    if let Some(r) = &args.reference {
        f.add("reference", r);
    }
    let list = ctx
        .client
        .image_list(&ListImagesOptions {
            all: args.all,
            filters: f,
            shared_size: false,
        })
        .await?;
    let mut format = args.format.clone().unwrap_or_default();
    if format.is_empty() {
        format = match &ctx.config.images_format {
            Some(f) if !args.quiet && !f.is_empty() => f.clone(),
            _ => "table".into(),
        };
    }
    let format = image_format(&format, args.quiet, args.digests);
    let rows = ImageRows {
        trunc: !args.no_trunc,
        digest: args.digests,
        format_has_digest: format.contains("{{.Digest}}"),
        now: now(),
        zone: crate::format::local_zone(),
    };
    let out = render(&format, &image_header(), &rows.rows(&list))
        .map_err(|e| CliError::new(e.to_string()))?;
    print(&out);
    const SUBCOMMANDS: &[&str] = &[
        "build", "history", "import", "inspect", "list", "load", "ls", "prune", "pull", "push",
        "rm", "save", "tag",
    ];
    if let Some(r) = &args.reference {
        if top_level && list.is_empty() && SUBCOMMANDS.contains(&r.as_str()) {
            eprintln(&format!(
                "\nNo images found matching {r:?}: did you mean \"berth image {r}\"?"
            ));
        }
    }
    Ok(())
}

/// `berth tag SOURCE TARGET` (the target is normalised and defaults to `:latest`).
pub async fn tag(ctx: &Ctx, args: TagArgs) -> Result<(), CliError> {
    let bad = |s: &str, e: oci::reference::ReferenceError| {
        CliError::new(format!(
            "Error parsing reference: {s:?} is not a valid repository/tag: {e}"
        ))
    };
    if !is_id_or_digest(&args.source) {
        Reference::parse(&args.source).map_err(|e| bad(&args.source, e))?;
    }
    let target = Reference::parse(&args.target).map_err(|e| bad(&args.target, e))?;
    if target.digest().is_some() {
        return Err(CliError::new(
            "refusing to create a tag with a digest reference",
        ));
    }
    let target = target.with_default_tag();
    ctx.client
        .image_tag(&args.source, &target.repository(), target.tag())
        .await?;
    Ok(())
}

/// `berth rmi`: prints `Untagged:`/`Deleted:` lines; with `-f`, missing images are reported
/// but only other failures fail the command.
pub async fn rmi(ctx: &Ctx, args: RmiArgs) -> Result<(), CliError> {
    let mut errs = Vec::new();
    let mut fatal = false;
    for img in &args.images {
        match ctx
            .client
            .image_remove(img, args.force, args.no_prune)
            .await
        {
            Ok(items) => {
                for i in items {
                    match (i.deleted, i.untagged) {
                        (Some(d), _) if !d.is_empty() => println(&format!("Deleted: {d}")),
                        (_, u) => println(&format!("Untagged: {}", u.unwrap_or_default())),
                    }
                }
            }
            Err(e) => {
                fatal |= !e.is_not_found();
                errs.push(CliError::from(e));
            }
        }
    }
    match join_errors(errs) {
        Err(e) if args.force && !fatal => {
            eprintln(&e.message);
            Ok(())
        }
        r => r,
    }
}

/// `berth history`.
pub async fn history(ctx: &Ctx, args: HistoryArgs) -> Result<(), CliError> {
    let items = ctx.client.image_history(&args.image).await?;
    let human = args.human.unwrap_or(true);
    let format = match args.format.as_deref().unwrap_or("table") {
        "table" if args.quiet => "{{.ID}}".to_string(),
        "table" if !human => {
            "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}".to_string()
        }
        "table" => {
            "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}".to_string()
        }
        f => f.to_string(),
    };
    let (now, zone) = (now(), crate::format::local_zone());
    let rows: Vec<Value> = items
        .into_iter()
        .map(|h| {
            Value::Object(Rc::new(HistoryContext {
                h,
                trunc: !args.no_trunc,
                human,
                now,
                zone,
            }))
        })
        .collect();
    let header = Value::Object(Rc::new(Header {
        names: vec![
            ("ID", "IMAGE"),
            ("CreatedSince", "CREATED"),
            ("CreatedAt", "CREATED AT"),
            ("CreatedBy", "CREATED BY"),
            ("Size", "SIZE"),
            ("Comment", "COMMENT"),
        ],
    }));
    print(&render(&format, &header, &rows).map_err(|e| CliError::new(e.to_string()))?);
    Ok(())
}

/// One layer of `history`.
struct HistoryContext {
    h: HistoryResponseItem,
    trunc: bool,
    human: bool,
    now: f64,
    zone: &'static Zone,
}

/// Before 2000-01-01 a creation date is shown as `N/A`.
const EPOCH_2000: i64 = 946_684_800;

impl HistoryContext {
    fn get(&self, name: &str) -> Option<String> {
        let h = &self.h;
        let created_at = || rfc3339_nano(h.created, 0, self.zone);
        Some(match name {
            "ID" => {
                if self.trunc {
                    truncate_id(&h.id).to_string()
                } else {
                    h.id.clone()
                }
            }
            "CreatedAt" => created_at(),
            "CreatedSince" if !self.human => created_at(),
            "CreatedSince" if h.created <= EPOCH_2000 => "N/A".into(),
            "CreatedSince" => format!("{} ago", human_duration(self.now - h.created as f64)),
            "CreatedBy" => {
                let c = h.created_by.replace('\t', " ");
                if self.trunc {
                    ellipsis(&c, 45)
                } else {
                    c
                }
            }
            "Size" if self.human => human_size_with_precision(h.size as f64, 3),
            "Size" => h.size.to_string(),
            "Comment" => h.comment.clone(),
            _ => return None,
        })
    }
}

impl Object for HistoryContext {
    fn type_name(&self) -> &'static str {
        "*image.historyContext"
    }

    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let v = self.get(name)?;
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
        let fields = [
            "Comment",
            "CreatedAt",
            "CreatedBy",
            "CreatedSince",
            "ID",
            "Size",
        ];
        Value::Obj(
            ObjKind::Map,
            fields
                .iter()
                .filter_map(|f| Some((f.to_string(), Value::Str(self.get(f)?))))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_table_like_docker_golden() {
        let h = HistoryResponseItem {
            id: "1234567890123456789".into(),
            created: 1_700_000_000,
            comment: "none".into(),
            ..Default::default()
        };
        let row = Value::Object(Rc::new(HistoryContext {
            h,
            trunc: true,
            human: true,
            now: 1_700_000_000.5,
            zone: Zone::utc_static(),
        }));
        let header = Value::Object(Rc::new(Header {
            names: vec![
                ("ID", "IMAGE"),
                ("CreatedSince", "CREATED"),
                ("CreatedBy", "CREATED BY"),
                ("Size", "SIZE"),
                ("Comment", "COMMENT"),
            ],
        }));
        let out = render(
            "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
            &header,
            &[row],
        )
        .unwrap();
        assert_eq!(
            out,
            "IMAGE          CREATED                  CREATED BY   SIZE      COMMENT\n123456789012   Less than a second ago                0B        none\n"
        );
    }
}
