//! `berth search [--limit N] [-f is-official=true|stars=N] [--format T] [--no-trunc] TERM`.

use std::rc::Rc;

use client::SearchOptions;

use super::pull::registry_auth;
use super::{print, Ctx};
use crate::args::SearchArgs;
use crate::error::CliError;
use crate::format::container::Header;
use crate::format::table::render;
use crate::opts::filters;
use gotemplate::{ObjKind, Value};

const DEFAULT_FORMAT: &str = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}";

/// docker's `formatter.Ellipsis`: at most `max` characters, the last one `…` when cut.
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `berth search`.
pub async fn search(ctx: &Ctx, args: SearchArgs) -> Result<(), CliError> {
    let f = filters(&args.filter).map_err(CliError::new)?;
    let (domain, _) = distribution_term(&args.term);
    let auth = registry_auth(ctx, domain)?;
    let hits = ctx
        .client
        .image_search(&SearchOptions {
            term: args.term.clone(),
            limit: args.limit,
            filters: f,
            registry_auth: Some(auth),
        })
        .await?;
    let rows: Vec<Value> = hits
        .iter()
        .map(|h| {
            let desc = h.description.replace(['\n', '\r'], " ");
            let desc = if args.no_trunc {
                desc
            } else {
                ellipsis(&desc, 45)
            };
            Value::Obj(
                ObjKind::Struct,
                vec![
                    ("Name".into(), Value::Str(h.name.clone())),
                    ("Description".into(), Value::Str(desc)),
                    ("StarCount".into(), Value::Str(h.star_count.to_string())),
                    (
                        "IsOfficial".into(),
                        Value::Str(if h.is_official {
                            "[OK]".into()
                        } else {
                            String::new()
                        }),
                    ),
                    (
                        "IsAutomated".into(),
                        Value::Str(if h.is_automated {
                            "[OK]".into()
                        } else {
                            String::new()
                        }),
                    ),
                ],
            )
        })
        .collect();
    let format = match args.format.as_deref() {
        None | Some("") | Some("table") => DEFAULT_FORMAT,
        Some(f) => f,
    };
    let header = Value::Object(Rc::new(Header {
        names: vec![
            ("Name", "NAME"),
            ("Description", "DESCRIPTION"),
            ("StarCount", "STARS"),
            ("IsOfficial", "OFFICIAL"),
            ("IsAutomated", "AUTOMATED"),
        ],
    }));
    let out = render(format, &header, &rows).map_err(|e| CliError::new(e.to_string()))?;
    print(&out);
    Ok(())
}

/// The registry a search term names (`host/query`), Docker Hub otherwise.
fn distribution_term(term: &str) -> (&str, &str) {
    if let Some((first, rest)) = term.split_once('/') {
        if first.contains(['.', ':']) || first == "localhost" {
            return (first, rest);
        }
    }
    ("docker.io", term)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_and_terms() {
        assert_eq!(ellipsis("short", 45), "short");
        let long = "x".repeat(50);
        let e = ellipsis(&long, 45);
        assert_eq!(e.chars().count(), 45);
        assert!(e.ends_with('…'));
        assert_eq!(
            distribution_term("127.0.0.1:5000/bu"),
            ("127.0.0.1:5000", "bu")
        );
        assert_eq!(distribution_term("busybox"), ("docker.io", "busybox"));
    }
}
