//! `version` and `events`. (`info` lives in `info.rs`.)

use std::io::Write;

use api_types::SystemVersion;
use client::EventsOptions;
use serde_json::json;

use super::{now, print, Ctx};
use crate::args::{EventsArgs, VersionArgs};
use crate::error::CliError;
use crate::format::table::go_tabwriter;
use crate::opts::filters;
use api_types::time::{civil_from_days, get_timestamp, rfc3339_nano, Zone};
use gotemplate::{Funcs, ObjKind, Template, Value};

pub use super::info::info;

/// docker's default `version` template, with the client's toolchain line naming Rust.
const VERSION_TEMPLATE: &str = r#"{{with .Client -}}
Client:{{if ne .Platform nil}}{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}{{end}}
 Version:	{{.Version}}
 API version:	{{.APIVersion}}{{if ne .APIVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}
 Rust version:	{{.GoVersion}}
 Git commit:	{{.GitCommit}}
 Built:	{{.BuildTime}}
 OS/Arch:	{{.Os}}/{{.Arch}}
 Context:	{{.Context}}
{{- end}}

{{- if ne .Server nil}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:	{{.Version}}
  API version:	{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:	{{index .Details "GoVersion"}}
  Git commit:	{{index .Details "GitCommit"}}
  Built:	{{index .Details "BuildTime"}}
  OS/Arch:	{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:	{{index .Details "Experimental"}}
  {{- else }}
  Version:	{{$component.Version}}
  {{- $detailsOrder := getDetailsOrder $component}}
  {{- range $key := $detailsOrder}}
  {{$key}}:	{{index $component.Details $key}}
   {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}"#;

/// The client half of `version`, with Go's field names (what templates use).
fn client_value(api_version: &str) -> Value {
    let s = |v: &str| Value::Str(v.to_string());
    Value::Obj(
        ObjKind::Struct,
        vec![
            ("Platform".into(), Value::Nil),
            ("Version".into(), s(env!("CARGO_PKG_VERSION"))),
            ("APIVersion".into(), s(api_version)),
            ("DefaultAPIVersion".into(), s(client::CLIENT_API_VERSION)),
            (
                "GitCommit".into(),
                s(option_env!("BERTH_GIT_COMMIT").unwrap_or("unknown")),
            ),
            (
                "GoVersion".into(),
                s(concat!("rust", env!("BERTH_RUSTC_VERSION"))),
            ),
            ("Os".into(), s(std::env::consts::OS)),
            ("Arch".into(), s(go_arch())),
            (
                "BuildTime".into(),
                s(option_env!("BERTH_BUILD_TIME").unwrap_or("")),
            ),
            ("Context".into(), s("default")),
        ],
    )
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

/// `time.ANSIC` of an RFC 3339 time (`Mon Jan  2 15:04:05 2006`), or the input unchanged.
fn reformat_date(t: &str) -> String {
    let Ok(secs) = get_timestamp(t, 0.0, Zone::utc_static())
        .map(|s| s.split('.').next().unwrap_or("").parse::<i64>())
    else {
        return t.to_string();
    };
    let Ok(secs) = secs else { return t.to_string() };
    if !t.contains('T') {
        return t.to_string();
    }
    // Shown in the offset the string carried; RFC 3339 from a daemon is normally UTC.
    let days = secs.div_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    let rem = secs.rem_euclid(86400);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {y}",
        WD[days.rem_euclid(7) as usize],
        MO[m as usize - 1],
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The server half, with Go field names; an `Engine` component is synthesised when absent.
fn server_value(v: &SystemVersion) -> Value {
    let s = |v: &str| Value::Str(v.to_string());
    let mut components: Vec<Value> = v
        .components
        .iter()
        .map(|c| {
            let mut details: Vec<(String, Value)> = match &c.details {
                Some(serde_json::Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            Value::Str(
                                v.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string()),
                            ),
                        )
                    })
                    .collect(),
                _ => vec![],
            };
            if c.name == "Engine" {
                for (k, val) in details.iter_mut() {
                    if k == "BuildTime" {
                        *val = Value::Str(reformat_date(&val.to_go_string()));
                    }
                }
            }
            Value::Obj(
                ObjKind::Struct,
                vec![
                    ("Name".into(), s(&c.name)),
                    ("Version".into(), s(&c.version)),
                    ("Details".into(), Value::Obj(ObjKind::Map, details)),
                ],
            )
        })
        .collect();
    if !v.components.iter().any(|c| c.name == "Engine") {
        let d = |k: &str, val: String| (k.to_string(), Value::Str(val));
        let details = vec![
            d("ApiVersion", v.api_version.clone()),
            d("MinAPIVersion", v.min_api_version.clone()),
            d("GitCommit", v.git_commit.clone()),
            d("GoVersion", v.go_version.clone()),
            d("Os", v.os.clone()),
            d("Arch", v.arch.clone()),
            d("BuildTime", reformat_date(&v.build_time)),
            d("Experimental", v.experimental.to_string()),
        ];
        components.push(Value::Obj(
            ObjKind::Struct,
            vec![
                ("Name".into(), s("Engine")),
                ("Version".into(), s(&v.version)),
                ("Details".into(), Value::Obj(ObjKind::Map, details)),
            ],
        ));
    }
    Value::Obj(
        ObjKind::Struct,
        vec![
            (
                "Platform".into(),
                Value::Obj(ObjKind::Struct, vec![("Name".into(), s(&v.platform.name))]),
            ),
            ("Components".into(), Value::List(components)),
            ("Version".into(), s(&v.version)),
            ("APIVersion".into(), s(&v.api_version)),
            ("MinAPIVersion".into(), s(&v.min_api_version)),
            ("GitCommit".into(), s(&v.git_commit)),
            ("GoVersion".into(), s(&v.go_version)),
            ("Os".into(), s(&v.os)),
            ("Arch".into(), s(&v.arch)),
            ("KernelVersion".into(), s(&v.kernel_version)),
            ("Experimental".into(), Value::Bool(v.experimental)),
            ("BuildTime".into(), s(&v.build_time)),
        ],
    )
}

fn details_order(a: &[Value]) -> Result<Value, String> {
    let mut keys: Vec<String> = match a.first().and_then(|c| c.get("Details")) {
        Some(Value::Obj(_, m)) => m.iter().map(|(k, _)| k.clone()).collect(),
        _ => vec![],
    };
    keys.sort();
    Ok(Value::List(keys.into_iter().map(Value::Str).collect()))
}

/// `berth version`.
pub async fn version(ctx: &Ctx, args: VersionArgs) -> Result<(), CliError> {
    let format = args.format.clone().unwrap_or_default();
    let api = ctx
        .client
        .api_version()
        .await
        .unwrap_or_else(|_| client::CLIENT_API_VERSION.to_string());
    let server = ctx.client.version().await;
    if format == "json" || format == "{{json .}}" {
        let client_json = json!({"Version": env!("CARGO_PKG_VERSION"), "ApiVersion": api, "DefaultAPIVersion": client::CLIENT_API_VERSION,
            "GoVersion": concat!("rust", env!("BERTH_RUSTC_VERSION")), "Os": std::env::consts::OS, "Arch": go_arch(), "Context": "default"});
        let server_json = server
            .as_ref()
            .ok()
            .map(|s| serde_json::to_value(s).unwrap_or_default());
        println!("{}", json!({"Client": client_json, "Server": server_json}));
        return server.map(|_| ()).map_err(CliError::from);
    }
    let src = if format.is_empty() {
        VERSION_TEMPLATE
    } else {
        &format
    };
    let tmpl = Template::parse(src, Funcs::docker().with("getDetailsOrder", details_order))
        .map_err(|e| CliError::status(format!("template parsing error: {e}"), 64))?;
    let server_v = server.as_ref().map(server_value).unwrap_or(Value::Nil);
    let data = Value::Obj(
        ObjKind::Struct,
        vec![
            ("Client".into(), client_value(&api)),
            ("Server".into(), server_v),
        ],
    );
    let rendered = tmpl.execute(&data);
    let mut tw = go_tabwriter(20, 1);
    if let Ok(out) = &rendered {
        let _ = tw.write_all(out.as_bytes());
    }
    let _ = tw.write_all(b"\n");
    let _ = tw.flush();
    print(&String::from_utf8_lossy(
        &tw.into_inner().unwrap_or_default(),
    ));
    server.map_err(CliError::from)?;
    rendered
        .map(|_| ())
        .map_err(|e| CliError::new(format!("template: {e}")))
}

/// `berth events`: one line per event until interrupted or `--until`.
pub async fn events(ctx: &Ctx, args: EventsArgs) -> Result<(), CliError> {
    let zone = crate::format::local_zone();
    let ts = |v: &Option<String>| {
        v.as_deref()
            .map(|s| get_timestamp(s, now(), zone).map_err(CliError::new))
            .transpose()
    };
    let opts = EventsOptions {
        since: ts(&args.since)?,
        until: ts(&args.until)?,
        filters: filters(&args.filter).map_err(CliError::new)?,
    };
    let tmpl = match args.format.as_deref() {
        None | Some("") => None,
        Some("json") => {
            Some(Template::docker("{{json .}}").map_err(|e| CliError::new(e.to_string()))?)
        }
        Some(f) => Some(
            Template::docker(f)
                .map_err(|e| CliError::status(format!("template parsing error: {e}"), 64))?,
        ),
    };
    let mut stream = ctx.client.events(&opts).await?;
    while let Some(ev) = stream.next().await {
        let ev = ev?;
        let line = match &tmpl {
            Some(t) => t
                .execute(&event_value(&ev))
                .map_err(|e| CliError::new(e.to_string()))?,
            None => event_line(&ev, zone),
        };
        print(&format!("{line}\n"));
    }
    Ok(())
}

fn event_value(ev: &client::EventMessage) -> Value {
    let s = |v: &str| Value::Str(v.to_string());
    let attrs = ev
        .actor
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), s(v)))
        .collect();
    Value::Obj(
        ObjKind::Struct,
        vec![
            ("Status".into(), s(&ev.status)),
            ("ID".into(), s(&ev.id)),
            ("From".into(), s(&ev.from)),
            ("Type".into(), s(&ev.r#type)),
            ("Action".into(), s(&ev.action)),
            (
                "Actor".into(),
                Value::Obj(
                    ObjKind::Struct,
                    vec![
                        ("ID".into(), s(&ev.actor.id)),
                        ("Attributes".into(), Value::Obj(ObjKind::Map, attrs)),
                    ],
                ),
            ),
            ("Scope".into(), s(&ev.scope)),
            ("Time".into(), Value::Int(ev.time)),
            ("TimeNano".into(), Value::Int(ev.time_nano)),
        ],
    )
}

/// docker's default event line: `<time> <type> <action> <id> (k=v, …)`.
pub fn event_line(ev: &client::EventMessage, zone: &Zone) -> String {
    let mut out = String::new();
    let (secs, nanos) = if ev.time_nano != 0 {
        (
            ev.time_nano.div_euclid(1_000_000_000),
            ev.time_nano.rem_euclid(1_000_000_000) as u32,
        )
    } else {
        (ev.time, 0)
    };
    if secs != 0 || nanos != 0 {
        let t = rfc3339_nano(secs, 0, zone);
        // RFC3339NanoFixed: always nine fractional digits.
        let (date, zone_part) = t.split_at(19);
        out.push_str(&format!("{date}.{nanos:09}{zone_part} "));
    }
    out.push_str(&format!("{} {} {}", ev.r#type, ev.action, ev.actor.id));
    if !ev.actor.attributes.is_empty() {
        let attrs: Vec<String> = ev
            .actor
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push_str(&format!(" ({})", attrs.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_like_docker() {
        let ev: client::EventMessage = serde_json::from_str(
            r#"{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"web","image":"busybox"}},"time":1700000000,"timeNano":1700000000000000123}"#,
        )
        .unwrap();
        assert_eq!(
            event_line(&ev, Zone::utc_static()),
            "2023-11-14T22:13:20.000000123Z container start abc (image=busybox, name=web)"
        );
    }

    #[test]
    fn dates_in_ansic() {
        assert_eq!(
            reformat_date("2023-11-14T22:13:20.000000000Z"),
            "Tue Nov 14 22:13:20 2023"
        );
        assert_eq!(
            reformat_date("2024-03-05T01:02:03Z"),
            "Tue Mar  5 01:02:03 2024"
        );
        assert_eq!(reformat_date("not a date"), "not a date");
    }

    #[test]
    fn version_output_is_aligned_like_docker() {
        let server: SystemVersion = serde_json::from_value(json!({
            "Platform": {"Name": "berth"}, "Components": [{"Name": "Engine", "Version": "0.1.0",
              "Details": {"ApiVersion": "1.47", "MinAPIVersion": "1.24", "GoVersion": "rust", "GitCommit": "abc",
                          "BuildTime": "2023-11-14T22:13:20Z", "Os": "linux", "Arch": "amd64", "Experimental": "false"}},
              {"Name": "berth-shim", "Version": "0.1.0", "Details": {"GitCommit": "def"}}],
            "Version": "0.1.0", "ApiVersion": "1.47", "MinAPIVersion": "1.24", "GitCommit": "abc", "GoVersion": "rust",
            "Os": "linux", "Arch": "amd64", "KernelVersion": "6.1", "BuildTime": "2023-11-14T22:13:20Z"}))
        .unwrap();
        let tmpl = Template::parse(
            VERSION_TEMPLATE,
            Funcs::docker().with("getDetailsOrder", details_order),
        )
        .unwrap();
        let data = Value::Obj(
            ObjKind::Struct,
            vec![
                ("Client".into(), client_value("1.47")),
                ("Server".into(), server_value(&server)),
            ],
        );
        let out = tmpl.execute(&data).unwrap();
        let mut tw = go_tabwriter(20, 1);
        tw.write_all(out.as_bytes()).unwrap();
        tw.write_all(b"\n").unwrap();
        tw.flush().unwrap();
        let text = String::from_utf8(tw.into_inner().unwrap()).unwrap();
        let server_part = text.split("\n\n").nth(1).unwrap();
        assert_eq!(
            server_part,
            "Server: berth\n Engine:\n  Version:          0.1.0\n  API version:      1.47 (minimum version 1.24)\n  Go version:       rust\n  Git commit:       abc\n  Built:            Tue Nov 14 22:13:20 2023\n  OS/Arch:          linux/amd64\n  Experimental:     false\n berth-shim:\n  Version:          0.1.0\n  GitCommit:        def\n"
        );
        assert!(text.starts_with("Client:\n Version:           "));
    }
}
