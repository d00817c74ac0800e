//! Context sync (berth's CLI): a context kept by the daemon between builds of the same
//! directory is brought up to date from the client's list of entries — unchanged files (same
//! client `stat`: device, inode, change and modification time, size) are kept with their
//! hash, files gone are removed, and only new or changed files travel, in a tar the upload
//! must match exactly. What the client sends is checked as a full context tar is: clean
//! names, no symlink leading out, nothing through a symlink.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use api_types::build::{ContextEntry, ContextKind};
use sha2::Digest as _;

use super::receive::{
    check_symlink, clean_name, header_hasher, write_err, Limits, Received, Writer,
};
use super::{Entry, EntryKind, Index};
use crate::error::ContextError;

/// The files of `manifest` a context last synced as `cached` lacks or has another version of.
pub fn wanted(manifest: &[ContextEntry], cached: &Index) -> Vec<String> {
    manifest
        .iter()
        .filter(|e| e.kind == ContextKind::File)
        .filter(|e| {
            let keep = cached.entries.get(&e.path).is_some_and(|c| {
                !e.stat.is_empty()
                    && c.stat == e.stat
                    && c.size == e.size
                    && matches!(c.kind, EntryKind::File)
            });
            !keep
        })
        .map(|e| e.path.clone())
        .collect()
}

/// Checks the list: clean, sorted names, each once.
fn check(manifest: &[ContextEntry]) -> Result<(), ContextError> {
    let mut last: Option<&str> = None;
    for e in manifest {
        let clean = clean_name(e.path.as_bytes())?.ok_or_else(|| ContextError::BadName {
            path: e.path.clone(),
        })?;
        if clean != e.path || last.is_some_and(|l| l >= e.path.as_str()) {
            return Err(ContextError::Unsorted {
                path: e.path.clone(),
            });
        }
        if e.kind == ContextKind::Symlink {
            check_symlink(&e.path, &e.link)?;
        }
        last = Some(&e.path);
    }
    Ok(())
}

/// Removes whatever is at `path` (not following a symlink).
fn remove(root: &Path, path: &str) -> Result<(), ContextError> {
    let full = root.join(path);
    let r = match fs::symlink_metadata(&full) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(&full),
        Ok(_) => fs::remove_file(&full),
        Err(_) => Ok(()),
    };
    r.map_err(write_err(&full))
}

impl Writer<'_> {
    /// A directory or symlink of the list, or a kept file.
    fn listed(&mut self, e: &ContextEntry, kept: Option<&Entry>) -> Result<(), ContextError> {
        self.parents(&e.path)?;
        let full = self.root.join(&e.path);
        let (kind, size) = match e.kind {
            ContextKind::Dir => {
                if !full.is_dir() {
                    fs::DirBuilder::new()
                        .mode(0o755)
                        .create(&full)
                        .map_err(write_err(&full))?;
                }
                fs::set_permissions(&full, fs::Permissions::from_mode(e.mode & 0o7777))
                    .map_err(write_err(&full))?;
                self.dir_times.push((e.path.clone(), e.mtime));
                (EntryKind::Dir, 0)
            }
            ContextKind::Symlink => {
                let same = fs::read_link(&full).is_ok_and(|t| t.as_os_str() == e.link.as_str());
                if !same {
                    remove(self.root, &e.path)?;
                    std::os::unix::fs::symlink(&e.link, &full).map_err(write_err(&full))?;
                }
                (EntryKind::Symlink(e.link.clone()), 0)
            }
            ContextKind::File => {
                if let Some(k) = kept {
                    self.out.index.entries.insert(e.path.clone(), k.clone());
                }
                return Ok(());
            }
        };
        let h = header_hasher(&e.path, &kind, e.mode & 0o7777, 0, 0, size);
        let mut entry = Entry::new(
            kind,
            e.mode & 0o7777,
            0,
            0,
            size,
            h.finalize().into(),
            e.mtime,
        );
        entry.stat = e.stat.clone();
        self.out.index.entries.insert(e.path.clone(), entry);
        Ok(())
    }
}

/// Brings the context at `root`, last synced as `cached`, to `manifest`, reading the new and
/// changed files from the tar `upload`. On error the directory is left half updated: the
/// caller forgets it (and its index) so the next sync starts over.
pub fn apply<R: Read>(
    upload: R,
    root: &Path,
    manifest: &[ContextEntry],
    cached: &Index,
    limits: Limits,
) -> Result<Received, ContextError> {
    check(manifest)?;
    let want: BTreeSet<String> = wanted(manifest, cached).into_iter().collect();
    let listed: BTreeMap<&str, &ContextEntry> =
        manifest.iter().map(|e| (e.path.as_str(), e)).collect();
    // What is gone, changed kind, or comes again goes first, deepest first.
    let mut stale: Vec<&String> = cached
        .entries
        .iter()
        .filter(|(k, c)| {
            let now = listed.get(k.as_str());
            let same_kind = now.is_some_and(|n| {
                matches!(
                    (n.kind, &c.kind),
                    (ContextKind::Dir, EntryKind::Dir)
                        | (ContextKind::Symlink, EntryKind::Symlink(_))
                        | (ContextKind::File, EntryKind::File | EntryKind::Hardlink(_))
                )
            });
            !same_kind || want.contains(k.as_str())
        })
        .map(|(k, _)| k)
        .collect();
    stale.sort_by_key(|k| std::cmp::Reverse(k.len()));
    for k in stale {
        remove(root, k)?;
    }
    let expected = manifest
        .iter()
        .filter(|e| want.contains(&e.path))
        .map(|e| (e.path.clone(), e.stat.clone()))
        .collect();
    let mut w = Writer::new(root, limits, Some(expected));
    for e in manifest {
        let kept = (!want.contains(&e.path))
            .then(|| cached.entries.get(&e.path))
            .flatten();
        w.listed(e, kept)?;
    }
    let (_, reader) = oci::compression::decompress_local(upload)?;
    let mut archive = tar::Archive::new(reader);
    w.read_tar(&mut archive)?;
    if let Some(missing) = want.iter().find(|p| !w.out.index.entries.contains_key(*p)) {
        return Err(ContextError::Missing {
            path: missing.clone(),
        });
    }
    w.finish_dirs();
    Ok(w.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: ContextKind, stat: &str, link: &str) -> ContextEntry {
        ContextEntry {
            path: path.into(),
            kind,
            mode: 0o644,
            size: if kind == ContextKind::File { 3 } else { 0 },
            mtime: 1,
            link: link.into(),
            stat: stat.into(),
        }
    }

    fn upload(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (n, d) in files {
            let mut h = tar::Header::new_gnu();
            h.set_path(n).unwrap();
            h.set_size(d.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, *d).unwrap();
        }
        b.into_inner().unwrap()
    }

    const BIG: Limits = Limits { max_bytes: 1 << 20 };

    #[test]
    fn only_changed_files_travel() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let m1 = vec![
            entry("a.txt", ContextKind::File, "s1", ""),
            entry("dir", ContextKind::Dir, "", ""),
            entry("dir/b.txt", ContextKind::File, "s2", ""),
            entry("gone.txt", ContextKind::File, "s3", ""),
        ];
        assert_eq!(wanted(&m1, &Index::default()).len(), 3);
        let first = apply(
            &upload(&[
                ("a.txt", b"aaa"),
                ("dir/b.txt", b"bbb"),
                ("gone.txt", b"ggg"),
            ])[..],
            root,
            &m1,
            &Index::default(),
            BIG,
        )
        .unwrap();
        let m2 = vec![
            entry("a.txt", ContextKind::File, "s1", ""),
            entry("dir", ContextKind::Dir, "", ""),
            entry("dir/b.txt", ContextKind::File, "s2-changed", ""),
            entry("link", ContextKind::Symlink, "", "a.txt"),
        ];
        assert_eq!(wanted(&m2, &first.index), ["dir/b.txt"]);
        let second = apply(
            &upload(&[("dir/b.txt", b"BBB")])[..],
            root,
            &m2,
            &first.index,
            BIG,
        )
        .unwrap();
        assert_eq!(fs::read(root.join("dir/b.txt")).unwrap(), b"BBB");
        assert!(!root.join("gone.txt").exists());
        assert_eq!(
            second.index.entries["a.txt"].hash,
            first.index.entries["a.txt"].hash
        );
        assert_ne!(
            second.index.entries["dir/b.txt"].hash,
            first.index.entries["dir/b.txt"].hash
        );
        assert_eq!(
            fs::read_link(root.join("link")).unwrap().to_str(),
            Some("a.txt")
        );
        assert_eq!(second.bytes, 3, "only the changed file was read");
    }

    #[test]
    fn uploads_must_match_the_list() {
        let d = tempfile::tempdir().unwrap();
        let m = vec![entry("a.txt", ContextKind::File, "", "")];
        let extra = apply(
            &upload(&[("a.txt", b"aaa"), ("b.txt", b"x")])[..],
            d.path(),
            &m,
            &Index::default(),
            BIG,
        );
        assert!(
            matches!(extra, Err(ContextError::Unexpected { .. })),
            "{extra:?}"
        );
        let missing = apply(&upload(&[])[..], d.path(), &m, &Index::default(), BIG);
        assert!(
            matches!(missing, Err(ContextError::Missing { .. })),
            "{missing:?}"
        );
        let bad = vec![entry("../x", ContextKind::File, "", "")];
        assert!(apply(&upload(&[])[..], d.path(), &bad, &Index::default(), BIG).is_err());
        let out = vec![entry("l", ContextKind::Symlink, "", "../../etc")];
        assert!(matches!(
            apply(&upload(&[])[..], d.path(), &out, &Index::default(), BIG),
            Err(ContextError::SymlinkEscapes { .. })
        ));
        let unsorted = vec![
            entry("b", ContextKind::Dir, "", ""),
            entry("a", ContextKind::Dir, "", ""),
        ];
        assert!(matches!(
            apply(
                &upload(&[])[..],
                d.path(),
                &unsorted,
                &Index::default(),
                BIG
            ),
            Err(ContextError::Unsorted { .. })
        ));
    }
}
