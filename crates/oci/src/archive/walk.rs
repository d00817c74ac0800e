//! Reading an image archive's tar entry by entry, as `docker load` does: the tar may be plain
//! or compressed (gzip, bzip2, xz or zstd, detected by magic — `docker save x | gzip` loads),
//! directories are skipped, paths are cleaned, and anything pointing outside the archive is
//! refused. What to do with each file is the caller's: it sees its cleaned path, its size and
//! a reader of its bytes.

use std::io::{self, Read};
use std::ops::ControlFlow;

use super::{clean_path, resolve_link, ArchiveError};
use crate::compression;

/// One entry of the archive.
pub enum Entry<'a> {
    /// A regular file: its cleaned path, its size and its bytes.
    File {
        /// Cleaned path.
        path: String,
        /// Size in bytes.
        size: u64,
        /// The bytes (read them or not; the walk skips what is left).
        reader: &'a mut dyn Read,
    },
    /// A symbolic or hard link, its target resolved to a cleaned archive path.
    Link {
        /// Cleaned path of the link.
        path: String,
        /// Cleaned path it points at.
        target: String,
    },
}

/// Walks the archive read from `r`, handing each file and link to `visit` in order, until
/// the end or until `visit` breaks. Fails on an archive that is not a (possibly compressed)
/// tar, is empty, or has an entry pointing outside it.
pub fn walk<R, E>(
    r: R,
    mut visit: impl FnMut(Entry<'_>) -> Result<ControlFlow<()>, E>,
) -> Result<(), E>
where
    R: Read + Send,
    E: From<ArchiveError>,
{
    let (_, dec) = compression::decompress(r).map_err(ArchiveError::Compression)?;
    let mut ar = tar::Archive::new(io::BufReader::with_capacity(1 << 20, dec));
    let entries = ar.entries().map_err(ArchiveError::tar)?;
    let mut seen = false;
    for entry in entries {
        let mut entry = entry.map_err(ArchiveError::tar)?;
        seen = true;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        let Some(path) = clean_path(&raw) else {
            if raw.trim_matches(['.', '/']).is_empty() {
                continue;
            }
            return Err(
                ArchiveError::invalid(format!("entry {raw:?} points outside the archive")).into(),
            );
        };
        let flow = if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            let resolved = if kind.is_symlink() {
                resolve_link(&path, &target)
            } else {
                clean_path(&target)
            };
            let Some(target) = resolved else {
                return Err(ArchiveError::invalid(format!(
                    "link {path} points outside the archive"
                ))
                .into());
            };
            visit(Entry::Link { path, target })?
        } else if kind.is_file() {
            let size = entry.size();
            visit(Entry::File {
                path,
                size,
                reader: &mut entry,
            })?
        } else {
            ControlFlow::Continue(())
        };
        if flow.is_break() {
            return Ok(());
        }
    }
    if !seen {
        return Err(ArchiveError::invalid("the archive is empty (is it a tar?)").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tar_with(entries: &[(&str, &[u8])], link: Option<(&str, &str)>) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (p, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, p, *data).unwrap();
        }
        if let Some((p, t)) = link {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, p, t).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn listing(archive: &[u8]) -> Result<Vec<String>, ArchiveError> {
        let mut out = Vec::new();
        walk(archive, |e| {
            match e {
                Entry::File { path, reader, .. } => {
                    let mut s = String::new();
                    reader.read_to_string(&mut s).unwrap();
                    out.push(format!("{path}={s}"));
                }
                Entry::Link { path, target } => out.push(format!("{path}->{target}")),
            }
            Ok::<_, ArchiveError>(ControlFlow::Continue(()))
        })?;
        Ok(out)
    }

    #[test]
    fn plain_and_compressed_archives_read_the_same() {
        let tar = tar_with(&[("./manifest.json", b"[]")], Some(("l", "manifest.json")));
        let want = vec!["manifest.json=[]".to_string(), "l->manifest.json".into()];
        assert_eq!(listing(&tar).unwrap(), want);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        assert_eq!(listing(&gz.finish().unwrap()).unwrap(), want);
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&tar).unwrap();
        assert_eq!(listing(&bz.finish().unwrap()).unwrap(), want);
        assert_eq!(
            listing(&zstd::encode_all(&tar[..], 1).unwrap()).unwrap(),
            want
        );
    }

    #[test]
    fn escapes_and_empty_archives_are_refused() {
        let e = listing(&tar_with(&[], Some(("l", "../../etc/passwd")))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid archive: link l points outside the archive"
        );
        let e = listing(&[0u8; 1024]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid archive: the archive is empty (is it a tar?)"
        );
        let e =
            listing(b"definitely not a tar, but long enough to be read as a header").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid archive: reading the tar: "),
            "{e}"
        );
    }
}
