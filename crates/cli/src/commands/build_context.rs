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

fn header(path: &str, m: &fs::Metadata, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(m.permissions().mode() & 0o7777);
    h.set_mtime(m.mtime().max(0) as u64);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    let _ = path;
    h
}

/// Whether `.dockerignore` `set` excludes `rel`, the build's own files excepted.
fn excluded(set: &IgnoreSet, rel: &str, dockerfile: &str) -> bool {
    rel != ".dockerignore" && rel != dockerfile && set.excludes(rel)
}

/// Writes the tar of directory `root` to `out`.
pub fn write_dir<W: Write>(
    root: &Path,
    dockerfile: &str,
    extra: Option<&ExtraDockerfile>,
    out: W,
    counter: &Counter,
) -> Result<(), CliError> {
    let ignore_text = fs::read_to_string(root.join(".dockerignore")).ok();
    let set = match &ignore_text {
        Some(t) => IgnoreSet::parse(t)
            .map_err(|e| CliError::new(format!("error reading .dockerignore: {e}")))?,
        None => IgnoreSet::default(),
    };
    let mut b = tar::Builder::new(Counting {
        inner: io::BufWriter::with_capacity(1 << 20, out),
        n: counter.clone(),
    });
    b.follow_symlinks(false);
    fn err(p: &Path) -> impl Fn(io::Error) -> CliError + '_ {
        move |e: io::Error| CliError::new(format!("{}: {e}", p.display()))
    }
    let mut stack: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let mut entries: Vec<fs::DirEntry> = fs::read_dir(&dir)
            .map_err(err(&dir))?
            .collect::<io::Result<_>>()
            .map_err(err(&dir))?;
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
            if extra.is_some() && crel == ".dockerignore" {
                continue; // written below with the extra Dockerfile's name added
            }
            let m = fs::symlink_metadata(&path).map_err(err(&path))?;
            let skip = excluded(&set, &crel, dockerfile);
            if m.is_dir() {
                if !skip {
                    let mut h = header(&crel, &m, tar::EntryType::Directory, 0);
                    b.append_data(&mut h, format!("{crel}/"), io::empty())
                        .map_err(err(&path))?;
                }
                // An excluded directory is still walked when `!` patterns may bring back
                // something below it.
                if !skip || set.has_exceptions() {
                    subdirs.push((path, crel));
                }
                continue;
            }
            if skip {
                continue;
            }
            if m.file_type().is_symlink() {
                let target = fs::read_link(&path).map_err(err(&path))?;
                let mut h = header(&crel, &m, tar::EntryType::Symlink, 0);
                b.append_link(&mut h, &crel, &target).map_err(err(&path))?;
            } else if m.is_file() {
                let f = fs::File::open(&path).map_err(err(&path))?;
                let mut h = header(&crel, &m, tar::EntryType::Regular, m.len());
                b.append_data(&mut h, &crel, f.take(m.len()))
                    .map_err(err(&path))?;
            } else {
                crate::commands::eprintln(&format!(
                    "skipping {crel}: not a file, directory or link"
                ));
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    if let Some(x) = extra {
        let mut ignore = ignore_text.unwrap_or_default();
        ignore.push_str(&format!("\n{}\n", x.name));
        append_bytes(&mut b, ".dockerignore", ignore.as_bytes())?;
        append_bytes(&mut b, &x.name, &x.content)?;
    }
    b.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(|e| CliError::new(format!("writing the build context: {e}")))
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
