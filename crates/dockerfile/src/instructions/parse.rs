//! Node → [`Instruction`]: argument counts, flags, and per-instruction rules, checked in the
//! order BuildKit checks them so the first error reported is BuildKit's.
//!
//! Stricter than BuildKit on purpose: ARG, STOPSIGNAL and `HEALTHCHECK NONE` refuse flags
//! (BuildKit ignores them silently), and an ONBUILD trigger is parsed and checked now rather
//! than when a later build uses the image.

use super::flags::{self, FlagKind, Flags};
use super::mount::{parse_device, parse_mount};
use super::*;
use crate::error::{Error, Reason};
use crate::go::{parse_duration, parse_int32, suggest, trim_space};
use crate::syntax::{chomp, must_parse_heredoc, Node};

/// Every instruction keyword, upper case.
pub(crate) const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

use FlagKind::{Bool, String as Str, Strings};

/// Turns one node into a typed instruction; errors carry the node's lines.
pub(crate) fn parse_node(node: Node) -> Result<Instruction, Error> {
    let kind = kind_of(&node).map_err(|r| Error::instruction(node.lines, r))?;
    Ok(Instruction {
        keyword: node.keyword,
        lines: node.lines,
        flags: node.flags,
        args: node.args,
        json: node.json,
        heredocs: node.heredocs,
        original: node.original,
        comments: node.comments,
        kind,
    })
}

fn no_flags(node: &Node) -> Result<Flags, Reason> {
    flags::parse(&node.flags, &[])
}

fn exactly_one(node: &Node, name: &'static str) -> Result<String, Reason> {
    if node.args.len() != 1 {
        return Err(Reason::ExactlyOneArgument(name));
    }
    no_flags(node)?;
    Ok(node.args[0].clone())
}

fn kind_of(node: &Node) -> Result<Kind, Reason> {
    let a = &node.args;
    Ok(match node.command().as_str() {
        "env" => {
            no_flags(node)?;
            Kind::Env(Env {
                vars: key_values(a, "ENV")?,
            })
        }
        "label" => {
            no_flags(node)?;
            Kind::Label(Label {
                labels: key_values(a, "LABEL")?,
            })
        }
        "maintainer" => Kind::Maintainer(Maintainer {
            maintainer: exactly_one(node, "MAINTAINER")?,
        }),
        "workdir" => Kind::Workdir(Workdir {
            path: exactly_one(node, "WORKDIR")?,
        }),
        "user" => Kind::User(User {
            user: exactly_one(node, "USER")?,
        }),
        "stopsignal" => Kind::Stopsignal(StopSignal {
            signal: exactly_one(node, "STOPSIGNAL")?,
        }),
        "add" => Kind::Add(add(node)?),
        "copy" => Kind::Copy(copy(node)?),
        "from" => Kind::From(from(node)?),
        "onbuild" => Kind::Onbuild(onbuild(node)?),
        "run" => Kind::Run(run(node)?),
        "cmd" => {
            no_flags(node)?;
            Kind::Cmd(command_line(node))
        }
        "entrypoint" => {
            no_flags(node)?;
            Kind::Entrypoint(command_line(node))
        }
        "healthcheck" => Kind::Healthcheck(healthcheck(node)?),
        "expose" => {
            if a.is_empty() {
                return Err(Reason::AtLeastOneArgument("EXPOSE"));
            }
            no_flags(node)?;
            let mut ports = a.clone();
            ports.sort();
            Kind::Expose(Expose { ports })
        }
        "volume" => {
            if a.is_empty() {
                return Err(Reason::AtLeastOneArgument("VOLUME"));
            }
            no_flags(node)?;
            let volumes: Vec<String> = a.iter().map(|v| trim_space(v).to_string()).collect();
            if volumes.iter().any(String::is_empty) {
                return Err(Reason::EmptyVolume);
            }
            Kind::Volume(Volume { volumes })
        }
        "arg" => Kind::Arg(arg(node)?),
        "shell" => {
            no_flags(node)?;
            let cmd = command_line(node);
            if cmd.args.is_empty() {
                return Err(Reason::AtLeastOneArgument("SHELL"));
            }
            if !node.json {
                return Err(Reason::NotJson("SHELL"));
            }
            Kind::Shell(Shell { shell: cmd.args })
        }
        _ => {
            let suggestion = suggest(&node.keyword, KEYWORDS, false);
            return Err(Reason::UnknownInstruction {
                name: node.keyword.clone(),
                suggestion,
            });
        }
    })
}

/// ENV/LABEL triples → key/value pairs.
fn key_values(args: &[String], name: &'static str) -> Result<Vec<KeyValue>, Reason> {
    if args.is_empty() {
        return Err(Reason::AtLeastOneArgument(name));
    }
    if !args.len().is_multiple_of(3) {
        return Err(Reason::TooManyArguments(name));
    }
    args.chunks(3)
        .map(|t| {
            if t[0].is_empty() {
                return Err(Reason::BlankName(name));
            }
            Ok(KeyValue {
                key: t[0].clone(),
                value: t[1].clone(),
                legacy: t[2].is_empty(),
            })
        })
        .collect()
}

/// The command of RUN/CMD/ENTRYPOINT/SHELL: JSON words as they are, shell form joined.
fn command_line(node: &Node) -> CommandLine {
    let args = if node.json || node.args.is_empty() {
        node.args.clone()
    } else {
        vec![node.args.join(" ")]
    };
    let files = node
        .heredocs
        .iter()
        .map(|h| InlineFile {
            name: h.name.clone(),
            data: h.content.clone(),
            chomp: h.chomp,
        })
        .collect();
    CommandLine {
        args,
        prepend_shell: !node.json,
        files,
    }
}

/// COPY/ADD arguments: sources (paths or heredocs) and the destination.
fn sources_and_dest(
    node: &Node,
    name: &'static str,
) -> Result<(Vec<String>, Vec<InlineSource>, String), Reason> {
    let (dest, srcs) = node.args.split_last().ok_or(Reason::NoDestination(name))?;
    if must_parse_heredoc(dest).is_some() {
        return Err(Reason::HeredocDestination(name));
    }
    let mut paths = Vec::new();
    let mut inline = Vec::new();
    for src in srcs {
        match must_parse_heredoc(src) {
            Some(doc) => {
                let body = node.heredocs.iter().rev().find(|h| h.name == doc.name);
                let data = body.map(|h| h.content.as_str()).unwrap_or_default();
                let data = if doc.chomp {
                    chomp(data)
                } else {
                    data.to_string()
                };
                inline.push(InlineSource {
                    path: doc.name,
                    data,
                    expand: doc.expand,
                });
            }
            None => paths.push(src.clone()),
        }
    }
    Ok((paths, inline, dest.clone()))
}

fn add(node: &Node) -> Result<Add, Reason> {
    if node.args.len() < 2 {
        return Err(Reason::NoDestination("ADD"));
    }
    let f = flags::parse(
        &node.flags,
        &[
            ("chown", Str),
            ("chmod", Str),
            ("link", Bool),
            ("keep-git-dir", Bool),
            ("checksum", Str),
            ("unpack", Bool),
            ("exclude", Strings),
        ],
    )?;
    let (sources, inline, dest) = sources_and_dest(node, "ADD")?;
    Ok(Add {
        sources,
        inline,
        dest,
        chown: f.string("chown"),
        chmod: f.string("chmod"),
        link: f.bool("link"),
        excludes: f.strings("exclude"),
        keep_git_dir: f.opt_bool("keep-git-dir"),
        checksum: f.string("checksum"),
        unpack: f.opt_bool("unpack"),
    })
}

fn copy(node: &Node) -> Result<Copy, Reason> {
    if node.args.len() < 2 {
        return Err(Reason::NoDestination("COPY"));
    }
    let f = flags::parse(
        &node.flags,
        &[
            ("chown", Str),
            ("from", Str),
            ("chmod", Str),
            ("link", Bool),
            ("exclude", Strings),
            ("parents", Bool),
        ],
    )?;
    let (sources, inline, dest) = sources_and_dest(node, "COPY")?;
    Ok(Copy {
        sources,
        inline,
        dest,
        from: f.string("from"),
        chown: f.string("chown"),
        chmod: f.string("chmod"),
        link: f.bool("link"),
        excludes: f.strings("exclude"),
        parents: f.bool("parents"),
    })
}

fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn from(node: &Node) -> Result<From, Reason> {
    let a = &node.args;
    let name = match a.len() {
        3 if a[1].eq_ignore_ascii_case("as") => {
            let name = a[2].to_lowercase();
            if !valid_stage_name(&name) {
                return Err(Reason::InvalidStageName(a[2].clone()));
            }
            Some(name)
        }
        1 => None,
        _ => return Err(Reason::FromArguments),
    };
    let f = flags::parse(&node.flags, &[("platform", Str)])?;
    Ok(From {
        image: a[0].clone(),
        name,
        platform: f.string("platform"),
    })
}

fn onbuild(node: &Node) -> Result<Onbuild, Reason> {
    let Some(sub) = node.sub.as_deref() else {
        return Err(Reason::AtLeastOneArgument("ONBUILD"));
    };
    no_flags(node)?;
    let trigger = trim_space(&node.args[0]).to_uppercase();
    match trigger.as_str() {
        "ONBUILD" => return Err(Reason::OnbuildChain),
        "MAINTAINER" | "FROM" => return Err(Reason::OnbuildTrigger(trigger)),
        _ => {}
    }
    let mut expression = strip_onbuild(&node.original).to_string();
    for h in &node.heredocs {
        expression.push('\n');
        expression.push_str(&h.content);
        expression.push_str(&h.name);
    }
    let mut sub = sub.clone();
    sub.lines = node.lines;
    sub.heredocs = node.heredocs.clone();
    let trigger = Box::new(parse_node(sub).map_err(|e| e.reason)?);
    Ok(Onbuild {
        expression,
        trigger,
    })
}

/// `(?i)^\s*ONBUILD\s*` removed (RE2's `\s`).
fn strip_onbuild(original: &str) -> &str {
    let s = original.trim_start_matches(crate::go::is_re_space);
    match s.get(..7) {
        Some(k) if k.eq_ignore_ascii_case("onbuild") => {
            s[7..].trim_start_matches(crate::go::is_re_space)
        }
        _ => original,
    }
}

fn run(node: &Node) -> Result<Run, Reason> {
    let f = flags::parse(
        &node.flags,
        &[
            ("device", Strings),
            ("mount", Strings),
            ("network", Str),
            ("security", Str),
        ],
    )?;
    let devices = f
        .strings("device")
        .iter()
        .map(|d| parse_device(d))
        .collect::<Result<_, _>>()?;
    let mounts = f.strings("mount");
    for m in &mounts {
        parse_mount(m, None)?;
    }
    let network = match f.raw_string("network").as_deref() {
        None | Some("default") => NetworkMode::Default,
        Some("none") => NetworkMode::None,
        Some("host") => NetworkMode::Host,
        Some(other) => return Err(Reason::InvalidNetwork(other.to_string())),
    };
    let security = match f.raw_string("security").as_deref() {
        None | Some("sandbox") => Security::Sandbox,
        Some("insecure") => Security::Insecure,
        Some(other) => return Err(Reason::InvalidSecurity(other.to_string())),
    };
    Ok(Run {
        command: command_line(node),
        mounts,
        network,
        security,
        devices,
        flags_used: f.used(),
    })
}

/// A healthcheck duration: 0 or at least 1ms.
fn interval(f: &Flags, name: &str) -> Result<i64, Reason> {
    let Some(s) = f.string(name) else {
        return Ok(0);
    };
    let d = parse_duration(&s).map_err(Reason::Duration)?;
    if d != 0 && d < 1_000_000 {
        return Err(Reason::IntervalTooShort(name.to_string()));
    }
    Ok(d)
}

fn healthcheck(node: &Node) -> Result<Healthcheck, Reason> {
    let Some(first) = node.args.first() else {
        return Err(Reason::AtLeastOneArgument("HEALTHCHECK"));
    };
    let typ = first.to_uppercase();
    let rest = &node.args[1..];
    let mut hc = Healthcheck {
        test: Vec::new(),
        interval: 0,
        timeout: 0,
        start_period: 0,
        start_interval: 0,
        retries: 0,
    };
    if typ == "NONE" {
        if !rest.is_empty() {
            return Err(Reason::HealthcheckNoneArguments);
        }
        no_flags(node)?;
        hc.test = vec![typ];
        return Ok(hc);
    }
    let f = flags::parse(
        &node.flags,
        &[
            ("interval", Str),
            ("timeout", Str),
            ("start-period", Str),
            ("start-interval", Str),
            ("retries", Str),
        ],
    )?;
    if typ != "CMD" {
        return Err(Reason::HealthcheckType(typ));
    }
    let cmd: Vec<String> = match (node.json, rest.is_empty()) {
        (_, true) => return Err(Reason::HealthcheckMissingCommand),
        (true, false) => rest.to_vec(),
        (false, false) => vec![rest.join(" ")],
    };
    hc.test = vec![if node.json {
        "CMD".to_string()
    } else {
        "CMD-SHELL".to_string()
    }];
    hc.test.extend(cmd);
    hc.interval = interval(&f, "interval")?;
    hc.timeout = interval(&f, "timeout")?;
    hc.start_period = interval(&f, "start-period")?;
    hc.start_interval = interval(&f, "start-interval")?;
    if let Some(r) = f.string("retries") {
        let n = parse_int32(&r).map_err(Reason::Retries)?;
        if n < 0 {
            return Err(Reason::NegativeRetries(n));
        }
        hc.retries = n;
    }
    Ok(hc)
}

fn arg(node: &Node) -> Result<Arg, Reason> {
    if node.args.is_empty() {
        return Err(Reason::AtLeastOneArgument("ARG"));
    }
    let mut args = Vec::with_capacity(node.args.len());
    for a in &node.args {
        let def = match a.split_once('=') {
            Some(("", _)) => return Err(Reason::BlankName("ARG")),
            Some((k, v)) => ArgDef {
                key: k.to_string(),
                default: Some(v.to_string()),
            },
            None => ArgDef {
                key: a.clone(),
                default: None,
            },
        };
        args.push(def);
    }
    no_flags(node)?;
    Ok(Arg { args })
}
