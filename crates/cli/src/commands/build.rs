//! `berth build [OPTIONS] PATH | -`: docker's classic `docker build`. The context (a
//! directory, or a tar or Dockerfile on stdin) is streamed to the daemon while it is made;
//! the daemon's output is shown as docker shows it (`Sending build context …`,
//! `Step 1/9 : …`, ` ---> …`), `-q` prints only the image id, `--iidfile` writes it, and a
//! failed RUN's exit code is the command's.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use client::ImageBuildOptions;
use tokio::io::AsyncWriteExt;

use super::build_context::{self, Counter, ExtraDockerfile, Synced};
use super::{print, println, Ctx};
use crate::args::BuildArgs;
use crate::error::CliError;
use crate::format::jsonmessage::Display;
use crate::format::units::human_size;
use crate::opts::values::{int, parse_ulimit, validate_label};
use crate::stream::terminal::stdout_is_tty;

const USAGE: &str = "berth build [OPTIONS] PATH | URL | -";

fn flag_error(flag: &str, value: &str, reason: impl std::fmt::Display) -> CliError {
    CliError::usage(
        format!("invalid argument {value:?} for \"{flag}\" flag: {reason}"),
        USAGE,
        "berth build",
    )
}

fn bytes(v: &Option<String>, flag: &str) -> Result<i64, CliError> {
    match v.as_deref() {
        None => Ok(0),
        Some("-1") if flag == "--memory-swap" => Ok(-1),
        Some(s) => api_types::units::ram_in_bytes(s).map_err(|e| flag_error(flag, s, e)),
    }
}

fn number(v: &Option<String>, flag: &str) -> Result<i64, CliError> {
    v.as_deref()
        .map(|s| int(s).map_err(|e| flag_error(flag, s, e)))
        .transpose()
        .map(|n| n.unwrap_or(0))
}

/// `--build-arg K=V` or `K` (then the client's environment value, else no value).
fn build_args(list: &[String]) -> BTreeMap<String, Option<String>> {
    list.iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (a.clone(), std::env::var(a).ok()),
        })
        .collect()
}

/// `--secret id=X[,src=FILE]` or `id=X,env=VAR` → the encoded header value.
fn secrets(list: &[String]) -> Result<Option<String>, CliError> {
    if list.is_empty() {
        return Ok(None);
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut map = BTreeMap::new();
    for s in list {
        let mut id = None;
        let mut src = None;
        let mut env = None;
        for field in s.split(',') {
            match field.split_once('=') {
                Some(("id", v)) => id = Some(v.to_string()),
                Some(("src" | "source", v)) => src = Some(v.to_string()),
                Some(("env", v)) => env = Some(v.to_string()),
                Some(("type", "file" | "env")) => {}
                _ => {
                    return Err(flag_error(
                        "--secret",
                        s,
                        "expected id=ID[,src=FILE|env=VAR]",
                    ))
                }
            }
        }
        let id = id.ok_or_else(|| flag_error("--secret", s, "the id is missing"))?;
        let data = match (src, env) {
            (Some(p), _) => std::fs::read(&p).map_err(|e| flag_error("--secret", s, e))?,
            (None, Some(v)) => std::env::var(&v)
                .map_err(|_| flag_error("--secret", s, format!("{v} is not set")))?
                .into_bytes(),
            (None, None) => std::env::var(&id)
                .map(String::into_bytes)
                .or_else(|_| std::fs::read(&id))
                .map_err(|_| flag_error("--secret", s, "no src= or env= given"))?,
        };
        map.insert(id, b64.encode(data));
    }
    Ok(Some(
        b64.encode(serde_json::to_vec(&map).unwrap_or_default()),
    ))
}

fn options(ctx: &Ctx, a: &BuildArgs) -> Result<ImageBuildOptions, CliError> {
    let mut labels = BTreeMap::new();
    for l in &a.label {
        validate_label(l).map_err(|e| flag_error("--label", l, e))?;
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        labels.insert(k.to_string(), v.to_string());
    }
    let mut ulimits = Vec::new();
    for u in &a.ulimit {
        let parsed = parse_ulimit(u).map_err(|e| flag_error("--ulimit", u, e))?;
        ulimits.push(serde_json::to_value(parsed).unwrap_or_default());
    }
    for t in &a.tag {
        if let Err(e) = oci::reference::Reference::parse(t) {
            return Err(flag_error("-t, --tag", t, e));
        }
    }
    let dir = crate::credentials::config_dir(ctx.config.dir.as_deref().and_then(Path::to_str));
    let creds = crate::credentials::all(&dir).unwrap_or_default();
    let registry_config = (!creds.is_empty()).then(|| {
        base64::engine::general_purpose::URL_SAFE
            .encode(serde_json::to_vec(&creds).unwrap_or_default())
    });
    Ok(ImageBuildOptions {
        tags: a.tag.clone(),
        build_args: build_args(&a.build_arg),
        labels,
        target: a.target.clone(),
        network_mode: a.network.clone(),
        no_cache: a.no_cache,
        remove: a.rm.unwrap_or(true),
        force_remove: a.force_rm,
        quiet: a.quiet,
        pull: a.pull,
        cache_from: a.cache_from.clone(),
        extra_hosts: a.add_host.clone(),
        platform: a.platform.clone().filter(|p| !p.is_empty()),
        memory: bytes(&a.memory, "-m, --memory")?,
        memory_swap: bytes(&a.memory_swap, "--memory-swap")?,
        shm_size: bytes(&a.shm_size, "--shm-size")?,
        cpu_shares: number(&a.cpu_shares, "-c, --cpu-shares")?,
        cpu_period: number(&a.cpu_period, "--cpu-period")?,
        cpu_quota: number(&a.cpu_quota, "--cpu-quota")?,
        cpuset_cpus: a.cpuset_cpus.clone(),
        cpuset_mems: a.cpuset_mems.clone(),
        cgroup_parent: a.cgroup_parent.clone(),
        isolation: a.isolation.clone(),
        ulimits,
        security_opt: a.security_opt.clone(),
        squash: a.squash,
        registry_config,
        secrets: secrets(&a.secret)?,
        ..Default::default()
    })
}

/// Where the context comes from.
enum Source {
    /// A directory and the Dockerfile's path relative to it.
    Dir(PathBuf, String, Option<ExtraDockerfile>),
    /// A directory synced with the daemon: only the files it asked for travel.
    Synced(Synced, Vec<String>, Option<ExtraDockerfile>),
    /// A tar (or a lone Dockerfile) from stdin, read in full.
    Stdin(Vec<u8>),
}

fn read_stdin() -> Result<Vec<u8>, CliError> {
    let mut v = Vec::new();
    std::io::stdin()
        .read_to_end(&mut v)
        .map_err(|e| CliError::new(format!("unable to prepare context from STDIN: {e}")))?;
    Ok(v)
}

fn source(a: &BuildArgs) -> Result<(Source, String), CliError> {
    let file = a.file.clone().filter(|f| !f.is_empty());
    if a.context == "-" {
        if file.as_deref() == Some("-") {
            return Err(CliError::new(
                "invalid argument: can't use stdin for both build context and dockerfile",
            ));
        }
        let data = read_stdin()?;
        if build_context::looks_like_archive(&data) {
            return Ok((
                Source::Stdin(data),
                file.unwrap_or_else(|| "Dockerfile".into()),
            ));
        }
        let mut tar = Vec::new();
        build_context::dockerfile_only(&data, &mut tar)?;
        return Ok((Source::Stdin(tar), "Dockerfile".into()));
    }
    if a.context.contains("://") || a.context.starts_with("git@") {
        return Err(CliError::new(format!(
            "unable to prepare context: remote contexts ({}) are not supported by berth: clone or download it and build the directory",
            a.context
        )));
    }
    let dir = PathBuf::from(&a.context);
    if !dir.is_dir() {
        return Err(CliError::new(format!(
            "unable to prepare context: path {:?} not found",
            a.context
        )));
    }
    match file {
        Some(f) if f == "-" => {
            let extra = ExtraDockerfile::new(read_stdin()?);
            let name = extra.name.clone();
            Ok((Source::Dir(dir, name.clone(), Some(extra)), name))
        }
        Some(f) => {
            let abs = std::path::absolute(&f).map_err(|e| CliError::new(e.to_string()))?;
            let root = std::path::absolute(&dir).map_err(|e| CliError::new(e.to_string()))?;
            match abs.strip_prefix(&root) {
                Ok(rel) => {
                    let rel = rel.to_string_lossy().into_owned();
                    Ok((Source::Dir(dir, rel.clone(), None), rel))
                }
                Err(_) => {
                    let content = std::fs::read(&abs)
                        .map_err(|e| CliError::new(format!("unable to open Dockerfile: {e}")))?;
                    let extra = ExtraDockerfile::new(content);
                    let name = extra.name.clone();
                    Ok((Source::Dir(dir, name.clone(), Some(extra)), name))
                }
            }
        }
        None => {
            let name = if !dir.join("Dockerfile").exists() && dir.join("dockerfile").exists() {
                "dockerfile"
            } else {
                "Dockerfile"
            };
            if !dir.join(name).exists() {
                return Err(CliError::new(format!(
                    "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory",
                    dir.join("Dockerfile").display()
                )));
            }
            Ok((Source::Dir(dir, name.into(), None), name.into()))
        }
    }
}

/// The context as a stream, produced on a thread of its own.
fn stream(src: Source, compress: bool, counter: Counter) -> tokio::io::DuplexStream {
    let (rx, mut tx) = tokio::io::duplex(4 << 20);
    let handle = tokio::runtime::Handle::current();
    std::thread::spawn(move || {
        let result = match src {
            Source::Stdin(data) => {
                counter.add(data.len() as u64);
                handle
                    .block_on(tx.write_all(&data))
                    .map_err(|e| CliError::new(e.to_string()))
            }
            Source::Synced(synced, want, extra) => {
                let sync = tokio_util_bridge(&mut tx, &handle);
                synced.write_wanted(extra.as_ref(), &want, sync, &counter)
            }
            Source::Dir(dir, dockerfile, extra) => {
                let sync = tokio_util_bridge(&mut tx, &handle);
                if compress {
                    let gz = flate2::write::GzEncoder::new(sync, flate2::Compression::fast());
                    build_context::write_dir(&dir, &dockerfile, extra.as_ref(), gz, &counter)
                } else {
                    build_context::write_dir(&dir, &dockerfile, extra.as_ref(), sync, &counter)
                }
            }
        };
        if let Err(e) = result {
            crate::commands::eprintln(&format!("berth: {}", e.message));
        }
    });
    rx
}

/// A blocking writer over the async duplex end (the producer thread is not a tokio task).
fn tokio_util_bridge<'a>(
    tx: &'a mut tokio::io::DuplexStream,
    handle: &'a tokio::runtime::Handle,
) -> impl std::io::Write + 'a {
    struct W<'a>(&'a mut tokio::io::DuplexStream, &'a tokio::runtime::Handle);
    impl std::io::Write for W<'_> {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.1.block_on(self.0.write(b))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.1.block_on(self.0.flush())
        }
    }
    W(tx, handle)
}

/// The key the daemon keeps context directory `dir` under: a hash of this machine's id and
/// the directory's absolute path.
fn context_key(dir: &Path) -> Result<String, CliError> {
    use sha2::Digest as _;
    let abs = std::path::absolute(dir).map_err(|e| CliError::new(e.to_string()))?;
    let mut h = sha2::Sha256::new();
    h.update(std::fs::read("/etc/machine-id").unwrap_or_default());
    h.update(abs.as_os_str().as_encoded_bytes());
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Syncs directory context `dir` with the daemon (see `api_types::build`): the build's body
/// then carries only the files the daemon lacks. A daemon without context sync (dockerd)
/// gets the whole directory.
async fn sync(
    ctx: &Ctx,
    opts: &mut ImageBuildOptions,
    dir: PathBuf,
    dockerfile: String,
    extra: Option<ExtraDockerfile>,
) -> Result<Source, CliError> {
    let key = context_key(&dir)?;
    let (d, f) = (dir.clone(), dockerfile.clone());
    let x = extra.clone();
    let synced = tokio::task::spawn_blocking(move || build_context::list_dir(&d, &f, x.as_ref()))
        .await
        .map_err(|e| CliError::new(format!("listing the build context: {e}")))??;
    match ctx.client.build_context_sync(&key, &synced.manifest).await {
        Ok(answer) => {
            opts.context_token = Some(answer.token);
            Ok(Source::Synced(synced, answer.want, extra))
        }
        Err(e) if matches!(e.status(), Some(404 | 405)) => Ok(Source::Dir(dir, dockerfile, extra)),
        Err(e) => Err(e.into()),
    }
}

/// `berth build`.
pub async fn build(ctx: &Ctx, a: BuildArgs) -> Result<(), CliError> {
    let mut opts = options(ctx, &a)?;
    if let Some(f) = &a.iidfile {
        if let Err(e) = std::fs::remove_file(f) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(CliError::new(format!("removing image ID file: {e}")));
            }
        }
    }
    let (src, dockerfile) = source(&a)?;
    opts.dockerfile = dockerfile;
    let counter = Counter::default();
    let src = match src {
        Source::Dir(dir, df, extra) if !a.compress => sync(ctx, &mut opts, dir, df, extra).await?,
        other => other,
    };
    let body = stream(src, a.compress, counter.clone());
    let mut messages = ctx.client.image_build(&opts, body).await?;
    if !a.quiet {
        println(&format!(
            "Sending build context to berth daemon  {}",
            human_size(counter.get() as f64)
        ));
    }
    let mut display = Display::new(std::io::stdout(), stdout_is_tty(), 200);
    let mut image_id = String::new();
    let mut quiet_text = String::new();
    while let Some(m) = messages.next().await {
        let m = m?;
        if let Some(aux) = m
            .aux
            .as_ref()
            .and_then(|v| v.get("ID"))
            .and_then(|v| v.as_str())
        {
            image_id = aux.to_string();
        }
        if let Some(d) = &m.error_detail {
            let code = d.code.filter(|c| *c != 0).unwrap_or(1) as i32;
            if a.quiet {
                crate::commands::eprintln(&quiet_text);
            }
            return Err(CliError::status(d.message.clone(), code));
        }
        if a.quiet {
            if let Some(s) = &m.stream {
                quiet_text.push_str(s);
            }
            continue;
        }
        if let Err(e) = display.show(&m)? {
            return Err(CliError::new(e));
        }
    }
    if a.quiet {
        image_id = quiet_text.trim().to_string();
        print(&quiet_text);
    }
    if let Some(f) = &a.iidfile {
        if image_id.is_empty() {
            return Err(CliError::new(format!(
                "server did not provide an image ID. Cannot write {f}"
            )));
        }
        std::fs::write(f, &image_id).map_err(|e| CliError::new(format!("{f}: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_arg_values() {
        std::env::set_var("BERTH_TEST_BUILD_ARG", "from-env");
        let m = build_args(&[
            "A=1".into(),
            "BERTH_TEST_BUILD_ARG".into(),
            "NOPE_NOT_SET_X".into(),
        ]);
        assert_eq!(m["A"].as_deref(), Some("1"));
        assert_eq!(m["BERTH_TEST_BUILD_ARG"].as_deref(), Some("from-env"));
        assert_eq!(m["NOPE_NOT_SET_X"], None);
    }

    #[test]
    fn secrets_are_encoded() {
        std::env::set_var("BERTH_TEST_SECRET", "s3cret");
        let v = secrets(&["id=tok,env=BERTH_TEST_SECRET".into()])
            .unwrap()
            .unwrap();
        let b64 = base64::engine::general_purpose::STANDARD;
        let map: BTreeMap<String, String> =
            serde_json::from_slice(&b64.decode(v).unwrap()).unwrap();
        assert_eq!(b64.decode(&map["tok"]).unwrap(), b"s3cret");
        assert!(secrets(&["src=x".into()]).is_err());
    }
}
