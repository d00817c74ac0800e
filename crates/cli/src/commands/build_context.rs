//! The build context as docker's CLI sends it: a directory's files (minus what
//! `.dockerignore` excludes; the Dockerfile and `.dockerignore` always kept) as a tar owned by
//! root, streamed while it is made; a tar (or a bare Dockerfile) read from stdin; and a
//! Dockerfile from outside the context or from stdin added under a random name, which the
//! context's `.dockerignore` then hides (docker's `AddDockerfileToBuildContext`).

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use api_types::build::{ContextEntry, ContextKind, ContextManifest};
use dockerfile::ignore::IgnoreSet;

use crate::error::CliError;

/// Counts the bytes that went through (for "Sending build context …").
#[derive(Debug, Default, Clone)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Bytes so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts `n` more bytes.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
}

/// A writer that counts.
struct Counting<W> {
    inner: W,
    n: Counter,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(b)?;
        self.n.0.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A Dockerfile to add to the context (from stdin or outside the context).
#[derive(Clone)]
pub struct ExtraDockerfile {
    /// Its name in the context (`.dockerfile.<random>`).
    pub name: String,
    /// Its content.
    pub content: Vec<u8>,
}

impl ExtraDockerfile {
    /// A Dockerfile with a fresh random name.
    pub fn new(content: Vec<u8>) -> ExtraDockerfile {
        let r: [u8; 10] = rand::random();
        let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
        ExtraDockerfile {
            name: format!(".dockerfile.{hex}"),
            content,
        }
    }
}

fn header(m: &fs::Metadata, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(m.permissions().mode() & 0o7777);
    h.set_mtime(m.mtime().max(0) as u64);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// Whether `.dockerignore` `set` excludes `rel`, the build's own files excepted.
fn excluded(set: &IgnoreSet, rel: &str, dockerfile: &str) -> bool {
    rel != ".dockerignore" && rel != dockerfile && set.excludes(rel)
}

/// One entry of a context directory, as the walk finds it.
struct Found {
    /// Slash-separated, relative.
    rel: String,
    /// On disk.
    path: PathBuf,
    /// `symlink_metadata`.
    meta: fs::Metadata,
}

fn io_err(p: &Path) -> impl Fn(io::Error) -> CliError + '_ {
    move |e: io::Error| CliError::new(format!("{}: {e}", p.display()))
}

/// `root`'s `.dockerignore`, as text and as patterns.
fn ignore_of(root: &Path) -> Result<(Option<String>, IgnoreSet), CliError> {
    let text = fs::read_to_string(root.join(".dockerignore")).ok();
    let set = match &text {
        Some(t) => IgnoreSet::parse(t)
            .map_err(|e| CliError::new(format!("error reading .dockerignore: {e}")))?,
        None => IgnoreSet::default(),
    };
    Ok((text, set))
}

/// Every entry of directory `root` the context holds, in tar order (a directory before its
/// children, names sorted), `.dockerignore` applied; with `extra`, the context's own
/// `.dockerignore` is left out (the caller writes it with the extra Dockerfile's name added).
fn walk(
    root: &Path,
    dockerfile: &str,
    set: &IgnoreSet,
    extra: bool,
) -> Result<Vec<Found>, CliError> {
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let mut entries: Vec<fs::DirEntry> = fs::read_dir(&dir)
            .map_err(io_err(&dir))?
            .collect::<io::Result<_>>()
            .map_err(io_err(&dir))?;
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let crel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let path = e.path();
            if extra && crel == ".dockerignore" {
                continue;
            }
            let meta = fs::symlink_metadata(&path).map_err(io_err(&path))?;
            let skip = excluded(set, &crel, dockerfile);
            if meta.is_dir() {
                // An excluded directory is still walked when `!` patterns may bring back
                // something below it.
                if !skip || set.has_exceptions() {
                    subdirs.push((path.clone(), crel.clone()));
                }
            } else if !meta.is_file() && !meta.file_type().is_symlink() {
                if !skip {
                    crate::commands::eprintln(&format!(
                        "skipping {crel}: not a file, directory or link"
                    ));
                }
                continue;
            }
            if !skip {
                out.push(Found {
                    rel: crel,
                    path,
                    meta,
                });
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(out)
}

/// Appends one found entry to the tar.
fn append_found<W: Write>(b: &mut tar::Builder<W>, f: &Found) -> Result<(), CliError> {
    let (m, crel, path) = (&f.meta, &f.rel, &f.path);
    if m.is_dir() {
        let mut h = header(m, tar::EntryType::Directory, 0);
        b.append_data(&mut h, format!("{crel}/"), io::empty())
            .map_err(io_err(path))
    } else if m.file_type().is_symlink() {
        let target = fs::read_link(path).map_err(io_err(path))?;
        let mut h = header(m, tar::EntryType::Symlink, 0);
        b.append_link(&mut h, crel, &target).map_err(io_err(path))
    } else {
        let file = fs::File::open(path).map_err(io_err(path))?;
        let mut h = header(m, tar::EntryType::Regular, m.len());
        b.append_data(&mut h, crel, file.take(m.len()))
            .map_err(io_err(path))
    }
}

fn counting_tar<W: Write>(out: W, counter: &Counter) -> tar::Builder<Counting<io::BufWriter<W>>> {
    let mut b = tar::Builder::new(Counting {
        inner: io::BufWriter::with_capacity(1 << 20, out),
        n: counter.clone(),
    });
    b.follow_symlinks(false);
    b
}

/// The extra Dockerfile and the `.dockerignore` that hides it.
fn append_extra<W: Write>(
    b: &mut tar::Builder<W>,
    x: &ExtraDockerfile,
    ignore_text: Option<String>,
) -> Result<(), CliError> {
    let mut ignore = ignore_text.unwrap_or_default();
    ignore.push_str(&format!("\n{}\n", x.name));
    append_bytes(b, ".dockerignore", ignore.as_bytes())?;
    append_bytes(b, &x.name, &x.content)
}

fn finish<W: Write>(b: tar::Builder<W>) -> Result<(), CliError> {
    b.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(|e| CliError::new(format!("writing the build context: {e}")))
}

/// Writes the tar of directory `root` to `out`.
pub fn write_dir<W: Write>(
    root: &Path,
    dockerfile: &str,
    extra: Option<&ExtraDockerfile>,
    out: W,
    counter: &Counter,
) -> Result<(), CliError> {
    let (ignore_text, set) = ignore_of(root)?;
    let mut b = counting_tar(out, counter);
    for f in walk(root, dockerfile, &set, extra.is_some())? {
        append_found(&mut b, &f)?;
    }
    if let Some(x) = extra {
        append_extra(&mut b, x, ignore_text)?;
    }
    finish(b)
}

/// A context directory prepared for a sync (see `api_types::build`): its entry list for the
/// daemon, then the tar of the files the daemon asks for.
pub struct Synced {
    /// The list sent to the daemon.
    pub manifest: ContextManifest,
    found: Vec<Found>,
    ignore_text: Option<String>,
}

/// What identifies a version of a file on this machine: a change to its content, mode or
/// owner changes its ctime (or its size, mtime, inode).
fn stat_of(m: &fs::Metadata) -> String {
    format!(
        "{}:{}:{}.{}:{}.{}:{}",
        m.dev(),
        m.ino(),
        m.ctime(),
        m.ctime_nsec(),
        m.mtime(),
        m.mtime_nsec(),
        m.len()
    )
}

/// Lists directory `root` for a sync; the extra Dockerfile and its `.dockerignore` are
/// listed without a stat (always sent).
pub fn list_dir(
    root: &Path,
    dockerfile: &str,
    extra: Option<&ExtraDockerfile>,
) -> Result<Synced, CliError> {
    let (ignore_text, set) = ignore_of(root)?;
    let found = walk(root, dockerfile, &set, extra.is_some())?;
    let mut entries: Vec<ContextEntry> = Vec::with_capacity(found.len() + 2);
    for f in &found {
        let m = &f.meta;
        let (kind, link) = if m.is_dir() {
            (ContextKind::Dir, String::new())
        } else if m.file_type().is_symlink() {
            let t = fs::read_link(&f.path).map_err(io_err(&f.path))?;
            (ContextKind::Symlink, t.to_string_lossy().into_owned())
        } else {
            (ContextKind::File, String::new())
        };
        entries.push(ContextEntry {
            path: f.rel.clone(),
            kind,
            mode: m.permissions().mode() & 0o7777,
            size: if kind == ContextKind::File {
                m.len()
            } else {
                0
            },
            mtime: m.mtime().max(0) as u64,
            link,
            stat: if kind == ContextKind::File {
                stat_of(m)
            } else {
                String::new()
            },
        });
    }
    if let Some(x) = extra {
        for (path, size) in [
            (".dockerignore".to_string(), 0),
            (x.name.clone(), x.content.len() as u64),
        ] {
            entries.push(ContextEntry {
                path,
                kind: ContextKind::File,
                mode: 0o600,
                size,
                mtime: 0,
                link: String::new(),
                stat: String::new(),
            });
        }
    }
    // The daemon wants the list in path order (the walk's order puts `a/b` before `a.txt`).
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Synced {
        manifest: ContextManifest { entries },
        found,
        ignore_text,
    })
}

impl Synced {
    /// Writes the tar of the files in `want` (the daemon's answer) to `out`.
    pub fn write_wanted<W: Write>(
        self,
        extra: Option<&ExtraDockerfile>,
        want: &[String],
        out: W,
        counter: &Counter,
    ) -> Result<(), CliError> {
        let want: std::collections::BTreeSet<&str> = want.iter().map(String::as_str).collect();
        let mut b = counting_tar(out, counter);
        for f in self.found.iter().filter(|f| want.contains(f.rel.as_str())) {
            if f.meta.is_file() {
                append_found(&mut b, f)?;
            }
        }
        if let Some(x) = extra {
            append_extra(&mut b, x, self.ignore_text)?;
        }
        finish(b)
    }
}

fn append_bytes<W: Write>(
    b: &mut tar::Builder<W>,
    name: &str,
    data: &[u8],
) -> Result<(), CliError> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o600);
    h.set_size(data.len() as u64);
    h.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    );
    b.append_data(&mut h, name, data)
        .map_err(|e| CliError::new(format!("writing the build context: {e}")))
}

/// Whether `head` (the first bytes of stdin) starts a tar or a compressed stream (docker's
/// `IsArchive`): otherwise stdin is a Dockerfile.
pub fn looks_like_archive(head: &[u8]) -> bool {
    const MAGICS: [&[u8]; 4] = [
        &[0x1f, 0x8b],
        b"BZh",
        &[0xfd, b'7', b'z', b'X', b'Z', 0],
        &[0x28, 0xb5, 0x2f, 0xfd],
    ];
    if MAGICS.iter().any(|m| head.starts_with(m)) {
        return true;
    }
    head.len() >= 262 && &head[257..262] == b"ustar"
}

/// A context made of a Dockerfile alone (stdin was not an archive).
pub fn dockerfile_only<W: Write>(content: &[u8], out: W) -> Result<(), CliError> {
    let mut b = tar::Builder::new(out);
    append_bytes(&mut b, "Dockerfile", content)?;
    b.into_inner()
        .map(drop)
        .map_err(|e| CliError::new(format!("writing the build context: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: &[u8]) -> Vec<String> {
        let mut a = tar::Archive::new(t);
        let mut v: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn dockerignore_applies_but_keeps_the_build_files() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("node_modules/x")).unwrap();
        fs::write(r.join("node_modules/x/big.js"), "x").unwrap();
        fs::write(r.join("a.txt"), "a").unwrap();
        fs::write(r.join("secret.key"), "s").unwrap();
        fs::write(r.join("Dockerfile"), "FROM scratch").unwrap();
        fs::write(
            r.join(".dockerignore"),
            "node_modules\n*.key\nDockerfile\n.dockerignore\n",
        )
        .unwrap();
        let mut out = Vec::new();
        write_dir(r, "Dockerfile", None, &mut out, &Counter::default()).unwrap();
        assert_eq!(names(&out), [".dockerignore", "Dockerfile", "a.txt"]);
        let extra = ExtraDockerfile::new(b"FROM busybox".to_vec());
        let mut out = Vec::new();
        write_dir(r, "Dockerfile", Some(&extra), &mut out, &Counter::default()).unwrap();
        assert!(names(&out).contains(&extra.name));
    }

    #[test]
    fn archives_are_told_from_dockerfiles() {
        assert!(looks_like_archive(&[0x1f, 0x8b, 8]));
        assert!(!looks_like_archive(b"FROM busybox\n"));
        let mut t = Vec::new();
        dockerfile_only(b"FROM x", &mut t).unwrap();
        assert!(looks_like_archive(&t));
    }
}
