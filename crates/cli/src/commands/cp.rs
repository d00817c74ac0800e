//! `berth cp` (docker's `cli/command/container/cp.go` and go-archive's `copy.go`): which
//! side is the container, how the source is named in the tar so that it lands where the
//! destination says (a directory that exists receives the source; a path that does not
//! exist becomes it), and the transfer both ways through the archive endpoints. Extraction
//! on this side goes through the layer applier, so a hostile tar from a container cannot
//! write outside the destination.

use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::path::Path;

use bytes::Bytes;
use tokio::io::AsyncReadExt;

use super::{eprintln, Ctx};
use crate::args::CpArgs;
use crate::error::CliError;
use crate::format::units::human_size_with_precision;

/// docker's `splitCpArg`: `CONTAINER:PATH`, unless the argument is an absolute path or
/// starts with `.` (a local path with a colon in it).
fn split_cp_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.starts_with('.') => (Some(c), p),
        _ => (None, arg),
    }
}

fn has_trailing_sep(p: &str) -> bool {
    p.ends_with('/')
}

fn specifies_current_dir(p: &str) -> bool {
    base(p) == "."
}

/// Go's `filepath.Base`.
fn base(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return if p.is_empty() { "." } else { "/" }.into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

/// Go's `filepath.Clean`.
fn clean(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." if out.last().is_some_and(|l| *l != "..") => {
                out.pop();
            }
            ".." if abs => {}
            c => out.push(c),
        }
    }
    let j = out.join("/");
    match (abs, j.is_empty()) {
        (true, _) => format!("/{j}"),
        (false, true) => ".".into(),
        (false, false) => j,
    }
}

/// go-archive's `PreserveTrailingDotOrSeparator`.
fn preserve_trailing(cleaned: &str, original: &str) -> String {
    let mut c = cleaned.to_string();
    if !specifies_current_dir(&c) && specifies_current_dir(original) {
        if !has_trailing_sep(&c) {
            c.push('/');
        }
        c.push('.');
    }
    if !has_trailing_sep(&c) && has_trailing_sep(original) {
        c.push('/');
    }
    c
}

/// go-archive's `SplitPathDirEntry`.
fn split_path_dir_entry(p: &str) -> (String, String) {
    let mut cleaned = clean(p);
    if specifies_current_dir(p) {
        cleaned.push_str("/.");
    }
    let dir = match cleaned.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => cleaned[..i].to_string(),
        None => ".".to_string(),
    };
    (dir, base(&cleaned))
}

fn join(a: &str, b: &str) -> String {
    clean(&format!("{a}/{b}"))
}

/// An absolute local path, keeping a trailing `/` or `/.`.
fn resolve_local_path(p: &str) -> Result<String, CliError> {
    let abs = std::path::absolute(p).map_err(|e| CliError::new(e.to_string()))?;
    Ok(preserve_trailing(&clean(&abs.display().to_string()), p))
}

/// go-archive's `GetRebaseName`.
fn rebase_name(path: &str, resolved: &str) -> (String, String) {
    let mut r = resolved.to_string();
    if specifies_current_dir(path) && !specifies_current_dir(&r) {
        r.push_str("/.");
    }
    if has_trailing_sep(path) && !has_trailing_sep(&r) {
        r.push('/');
    }
    let name = if base(path) != base(&r) {
        base(path)
    } else {
        String::new()
    };
    (r, name)
}

/// What one side of a copy is.
#[derive(Debug, Clone, Default)]
struct CopyInfo {
    path: String,
    exists: bool,
    is_dir: bool,
    rebase: String,
}

/// go-archive's `PrepareArchiveCopy`: the directory to extract into, and the name the
/// source's entries must take (`None`: as they are).
fn prepare(src: &CopyInfo, dst: &CopyInfo) -> Result<(String, Option<String>), CliError> {
    let (dst_dir, dst_base) = split_path_dir_entry(&dst.path);
    if dst.exists && dst.is_dir {
        return Ok((dst.path.clone(), None));
    }
    if dst.exists && src.is_dir {
        return Err(CliError::new("cannot copy directory"));
    }
    if !dst.exists
        && !src.is_dir
        && (has_trailing_sep(&dst.path) || specifies_current_dir(&dst.path))
    {
        return Err(CliError::new("no such directory"));
    }
    Ok((dst_dir, Some(dst_base)))
}

/// `newNameRebaser`: `old` at the start of a name becomes `new`.
fn rebase(name: &str, old: &str, new: &str) -> String {
    let (old, new) = (old.trim_end_matches('/'), new.trim_end_matches('/'));
    if old.is_empty() {
        let n = name.trim_start_matches('/');
        return if new.is_empty() {
            n.into()
        } else {
            format!("{new}/{n}")
        };
    }
    match name.strip_prefix(old) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{new}{rest}"),
        _ => name.into(),
    }
}

/// A blocking reader over chunks sent from the async side.
struct ChanReader {
    rx: std::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    cur: Bytes,
}

impl Read for ChanReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.recv() {
                Ok(Ok(b)) => self.cur = b,
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur.split_to(n));
        Ok(n)
    }
}

/// Extracts `tar` into the local directory `dir`, renaming `old` to `new` first if asked.
fn extract_local(
    tar: impl Read + Send + 'static,
    dir: &str,
    names: Option<(String, String)>,
) -> Result<(), String> {
    let opts = oci::layer::ApplyOptions {
        whiteouts: oci::layer::WhiteoutMode::Keep,
        same_owner: false,
        xattrs: true,
        chown: None,
        no_overwrite_dir_non_dir: true,
    };
    let Some((old, new)) = names else {
        return oci::layer::apply(tar, Path::new(dir), &opts)
            .map(drop)
            .map_err(|e| e.to_string());
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Bytes>>(16);
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut src = tar::Archive::new(tar);
        let mut out = tar::Builder::new(ChanWriter(tx));
        for e in src.entries()? {
            let mut e = e?;
            let mut h = e.header().clone();
            let name = rebase(&String::from_utf8_lossy(&e.path_bytes()), &old, &new);
            match e.header().entry_type() {
                tar::EntryType::Link | tar::EntryType::Symlink => {
                    let link = e.link_name_bytes().unwrap_or_default().into_owned();
                    let link = String::from_utf8_lossy(&link).into_owned();
                    let link = if h.entry_type() == tar::EntryType::Link {
                        rebase(&link, &old, &new)
                    } else {
                        link
                    };
                    out.append_link(&mut h, &name, &link)?;
                }
                _ => out.append_data(&mut h, &name, &mut e)?,
            }
        }
        out.finish()
    });
    let res = oci::layer::apply(
        ChanReader {
            rx,
            cur: Bytes::new(),
        },
        Path::new(dir),
        &opts,
    );
    let w = writer
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("tar rewriter died")));
    res.map(drop).map_err(|e| e.to_string())?;
    w.map_err(|e| e.to_string())
}

struct ChanWriter(std::sync::mpsc::SyncSender<std::io::Result<Bytes>>);

impl Write for ChanWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "reader gone"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `berth cp`.
pub async fn cp(ctx: &Ctx, args: CpArgs) -> Result<(), CliError> {
    if args.source.is_empty() {
        return Err(CliError::new("source can not be empty"));
    }
    if args.destination.is_empty() {
        return Err(CliError::new("destination can not be empty"));
    }
    let quiet = args.quiet || !std::io::stdout().is_terminal();
    match (split_cp_arg(&args.source), split_cp_arg(&args.destination)) {
        ((Some(_), _), (Some(_), _)) => {
            Err(CliError::new("copying between containers is not supported"))
        }
        ((Some(c), src), (None, dst)) => copy_from(ctx, c, src, dst, args.follow_link, quiet).await,
        ((None, src), (Some(c), dst)) => {
            copy_to(ctx, c, src, dst, args.follow_link, args.archive, quiet).await
        }
        _ => Err(CliError::new("must specify at least one container source")),
    }
}

/// docker's `ValidateOutputPath`.
fn validate_output_path(p: &str) -> Result<(), CliError> {
    let (dir, _) = split_path_dir_entry(&clean(p));
    if dir != "." && !Path::new(&dir).exists() {
        return Err(CliError::new(format!(
            "invalid output path: directory {dir:?} does not exist"
        )));
    }
    if let Ok(m) = std::fs::metadata(p) {
        if !m.is_dir() && !m.is_file() {
            return Err(CliError::new(format!(
                "invalid output path: {p:?} must be a directory or a regular file"
            )));
        }
    }
    Ok(())
}

async fn copy_from(
    ctx: &Ctx,
    container: &str,
    src: &str,
    dst: &str,
    follow: bool,
    quiet: bool,
) -> Result<(), CliError> {
    let dst = if dst == "-" {
        dst.to_string()
    } else {
        resolve_local_path(dst)?
    };
    if dst != "-" {
        validate_output_path(&dst)?;
    }
    let mut src = src.to_string();
    let mut rebase_to = String::new();
    if follow {
        if let Ok(st) = ctx.client.container_stat_path(container, &src).await {
            if st.mode & api_types::volume::go_mode::SYMLINK != 0 {
                let mut target = st.link_target.clone();
                if !target.starts_with('/') {
                    target = join(&split_path_dir_entry(&src).0, &target);
                }
                let (t, r) = rebase_name(&src, &target);
                src = t;
                rebase_to = r;
            }
        }
    }
    let (stat, mut body) = ctx.client.copy_from_container(container, &src).await?;
    if dst == "-" {
        let mut out = tokio::io::stdout();
        tokio::io::copy(&mut body, &mut out)
            .await
            .map_err(|e| CliError::new(e.to_string()))?;
        return Ok(());
    }
    let src_info = CopyInfo {
        path: src.clone(),
        exists: true,
        is_dir: stat.mode & api_types::volume::go_mode::DIR != 0,
        rebase: rebase_to,
    };
    let dst_info = destination_info(&dst)?;
    let (dst_dir, new_name) = prepare(&src_info, &dst_info)?;
    let (_, src_base) = split_path_dir_entry(&src_info.path);
    let mut names =
        (!src_info.rebase.is_empty()).then(|| (src_base.clone(), src_info.rebase.clone()));
    if let Some(n) = new_name {
        let old = if src_info.rebase.is_empty() {
            src_base
        } else {
            src_info.rebase.clone()
        };
        names = Some(match names {
            // Both renames compose: the first name's entries go straight to the last.
            Some((first, _)) => (first, n),
            None => (old, n),
        });
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(16);
    let extract = tokio::task::spawn_blocking(move || {
        extract_local(
            ChanReader {
                rx,
                cur: Bytes::new(),
            },
            &dst_dir,
            names,
        )
    });
    let mut copied = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = body
            .read(&mut buf)
            .await
            .map_err(|e| CliError::new(e.to_string()))?;
        if n == 0 {
            break;
        }
        copied += n as u64;
        if tx.send(Ok(Bytes::copy_from_slice(&buf[..n]))).is_err() {
            break;
        }
    }
    drop(tx);
    extract
        .await
        .map_err(|e| CliError::new(e.to_string()))?
        .map_err(CliError::new)?;
    if !quiet {
        let size = if src_info.is_dir {
            copied
        } else {
            stat.size.max(0) as u64
        };
        eprintln(&format!(
            "Successfully copied {} to {dst}",
            human_size_with_precision(size as f64, 3)
        ));
    }
    Ok(())
}

/// go-archive's `CopyInfoDestinationPath` for a local destination.
fn destination_info(p: &str) -> Result<CopyInfo, CliError> {
    let mut path = p.to_string();
    let mut n = 0;
    loop {
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                n += 1;
                if n > 10 {
                    return Err(CliError::new(format!("too many symlinks in {p}")));
                }
                let t = std::fs::read_link(&path).map_err(|e| CliError::new(e.to_string()))?;
                let t = t.display().to_string();
                path = if t.starts_with('/') {
                    t
                } else {
                    join(&split_path_dir_entry(&path).0, &t)
                };
            }
            Ok(m) => {
                return Ok(CopyInfo {
                    path,
                    exists: true,
                    is_dir: m.is_dir(),
                    rebase: String::new(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (parent, _) = split_path_dir_entry(&path);
                let m = std::fs::metadata(&parent).map_err(|e| CliError::new(e.to_string()))?;
                if !m.is_dir() {
                    return Err(CliError::new("not a directory"));
                }
                return Ok(CopyInfo {
                    path,
                    ..Default::default()
                });
            }
            Err(e) => return Err(CliError::new(e.to_string())),
        }
    }
}

/// go-archive's `CopyInfoSourcePath` for a local source.
fn source_info(p: &str, follow: bool) -> Result<CopyInfo, CliError> {
    let io = |e: std::io::Error| CliError::new(format!("lstat {p}: {e}"));
    let (resolved, rebase) = if follow {
        let r = std::fs::canonicalize(p).map_err(io)?;
        rebase_name(p, &r.display().to_string())
    } else {
        let (dir, name) = match p.rfind('/') {
            Some(i) => (&p[..=i], &p[i + 1..]),
            None => ("", p),
        };
        let d = std::fs::canonicalize(if dir.is_empty() { "." } else { dir }).map_err(io)?;
        let resolved = format!("{}/{name}", d.display().to_string().trim_end_matches('/'));
        let rebase = if has_trailing_sep(p) && base(p) != base(&resolved) {
            base(p)
        } else {
            String::new()
        };
        (resolved, rebase)
    };
    let m = std::fs::symlink_metadata(resolved.trim_end_matches("/.")).map_err(io)?;
    if has_trailing_sep(&resolved) && !m.is_dir() {
        return Err(CliError::new(format!("lstat {p}: not a directory")));
    }
    Ok(CopyInfo {
        path: resolved,
        exists: true,
        is_dir: m.is_dir(),
        rebase,
    })
}

async fn copy_to(
    ctx: &Ctx,
    container: &str,
    src: &str,
    dst: &str,
    follow: bool,
    copy_uid_gid: bool,
    quiet: bool,
) -> Result<(), CliError> {
    let src = if src == "-" {
        src.to_string()
    } else {
        resolve_local_path(src)?
    };
    let mut dst_info = CopyInfo {
        path: dst.to_string(),
        ..Default::default()
    };
    if let Ok(mut st) = ctx.client.container_stat_path(container, dst).await {
        let mut ok = true;
        if st.mode & api_types::volume::go_mode::SYMLINK != 0 {
            let mut target = st.link_target.clone();
            if !target.starts_with('/') {
                target = join(&split_path_dir_entry(dst).0, &target);
            }
            dst_info.path = target.clone();
            match ctx.client.container_stat_path(container, &target).await {
                Ok(s) => st = s,
                Err(_) => ok = false,
            }
        }
        if ok {
            let m = api_types::volume::go_mode::to_unix(st.mode) & 0o170000;
            if m != 0o040000 && m != 0o100000 {
                return Err(CliError::new(format!(
                    "destination \"{container}:{dst}\" must be a directory or a regular file"
                )));
            }
            dst_info.exists = true;
            dst_info.is_dir = m == 0o040000;
        }
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
    let (resolved_dst, producer) = if src == "-" {
        if !dst_info.is_dir {
            return Err(CliError::new(format!(
                "destination \"{container}:{dst}\" must be a directory"
            )));
        }
        let p = tokio::spawn(async move {
            let mut stdin = tokio::io::stdin();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                match stdin.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx
                            .send(Ok(Bytes::copy_from_slice(&buf[..n])))
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        break;
                    }
                }
            }
            Ok::<u64, String>(0)
        });
        (dst_info.path.clone(), p)
    } else {
        let src_info = source_info(&src, follow)?;
        let (dst_dir, new_name) = prepare(&src_info, &dst_info)?;
        let (dir, base_name) = split_path_dir_entry(&src_info.path);
        let first = if src_info.rebase.is_empty() {
            base_name.clone()
        } else {
            src_info.rebase.clone()
        };
        let name = new_name.unwrap_or(first);
        let p = tokio::task::spawn_blocking(move || {
            let d = std::fs::File::open(&dir).map_err(|e| e.to_string())?;
            // Big chunks: the tar writer writes headers of 512 bytes and data by 8 KiB.
            let w = std::io::BufWriter::with_capacity(1 << 20, TokioChanWriter(tx));
            let (mut w, stats) =
                oci::layer::archive_entry(d.as_fd(), base_name.as_bytes(), name.as_bytes(), w)
                    .map_err(|e| e.to_string())?;
            w.flush().map_err(|e| e.to_string())?;
            drop(w);
            Ok::<u64, String>(stats.file_bytes)
        });
        (dst_dir, p)
    };
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async { rx.recv().await.map(|c| (c, rx)) });
    let body = tokio_util::io::StreamReader::new(stream);
    let sent = ctx
        .client
        .copy_to_container(container, &resolved_dst, body, copy_uid_gid)
        .await;
    let produced = producer.await.map_err(|e| CliError::new(e.to_string()))?;
    sent?;
    let size = produced.map_err(CliError::new)?;
    if !quiet {
        eprintln(&format!(
            "Successfully copied {} to {container}:{}",
            human_size_with_precision(size as f64, 3),
            dst_info.path
        ));
    }
    Ok(())
}

struct TokioChanWriter(tokio::sync::mpsc::Sender<std::io::Result<Bytes>>);

impl Write for TokioChanWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "upload ended"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_like_go_archive() {
        assert_eq!(split_cp_arg("c1:/etc"), (Some("c1"), "/etc"));
        assert_eq!(split_cp_arg("/abs:x"), (None, "/abs:x"));
        assert_eq!(split_cp_arg("./f:x"), (None, "./f:x"));
        assert_eq!(split_cp_arg("file"), (None, "file"));
        assert_eq!(split_path_dir_entry("/a/b/."), ("/a/b".into(), ".".into()));
        assert_eq!(split_path_dir_entry("/a/b/"), ("/a".into(), "b".into()));
        assert_eq!(split_path_dir_entry("/a"), ("/".into(), "a".into()));
        assert_eq!(preserve_trailing("/a/b", "a/b/."), "/a/b/.");
        assert_eq!(preserve_trailing("/a/b", "a/b/"), "/a/b/");
        assert_eq!(rebase("etc/passwd", "etc", "x"), "x/passwd");
        assert_eq!(rebase("etcx/p", "etc", "x"), "etcx/p");
        assert_eq!(rebase("/etc", "/", "out"), "out/etc");
        assert_eq!(rebase("./a", ".", "d"), "d/a");
    }

    #[test]
    fn prepare_like_go_archive() {
        let src = |d| CopyInfo {
            path: "/s/x".into(),
            exists: true,
            is_dir: d,
            rebase: String::new(),
        };
        let dst = |p: &str, e, d| CopyInfo {
            path: p.into(),
            exists: e,
            is_dir: d,
            rebase: String::new(),
        };
        assert_eq!(
            prepare(&src(true), &dst("/d", true, true)).unwrap(),
            ("/d".into(), None)
        );
        assert!(prepare(&src(true), &dst("/d/f", true, false)).is_err());
        assert_eq!(
            prepare(&src(false), &dst("/d/new", false, false)).unwrap(),
            ("/d".into(), Some("new".into()))
        );
        assert_eq!(
            prepare(&src(false), &dst("/d/new/", false, false))
                .unwrap_err()
                .message,
            "no such directory"
        );
    }
}
