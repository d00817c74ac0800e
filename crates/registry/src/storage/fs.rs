//! The filesystem driver: files under a root directory.
//!
//! Atomic writes go to `<root>/_tmp/<random>`, are fsynced, renamed into place and the directory
//! fsynced (rename(2) is atomic within one filesystem; the directory fsync makes the new entry
//! durable). Every directory it creates is made durable the same way, so a crash never leaves a
//! file whose parent entry vanished. All blocking I/O runs on tokio's blocking pool.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use super::{check_path, BoxFuture, ByteStream, DriverError, FileInfo, FileWriter, StorageDriver};

/// Driver paths below this prefix are the driver's own scratch space.
pub const TMP_DIR: &str = "_tmp";

/// Size of the chunks a read stream yields and of a writer's buffer: large enough that the
/// per-chunk cost (a blocking-pool hop, a syscall) is small next to the copy itself.
const CHUNK: usize = 1024 * 1024;

/// A writer fdatasyncs in the background after this many bytes.
const SYNC_EVERY: u64 = 4 * 1024 * 1024;

/// A driver storing files under `root`.
#[derive(Debug, Clone)]
pub struct FsDriver {
    root: Arc<PathBuf>,
}

impl FsDriver {
    /// Opens (creating if needed) a store under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Result<FsDriver, DriverError> {
        let root = root.into();
        fs::create_dir_all(root.join(TMP_DIR)).map_err(|source| DriverError::Io {
            op: "create root",
            path: root.display().to_string(),
            source,
        })?;
        Ok(FsDriver {
            root: Arc::new(root),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn full(&self, path: &str) -> Result<PathBuf, DriverError> {
        check_path(path)?;
        Ok(self.root.join(path))
    }
}

fn io_err<'a>(op: &'static str, path: &'a str) -> impl FnOnce(io::Error) -> DriverError + 'a {
    move |source| {
        if source.kind() == io::ErrorKind::NotFound {
            DriverError::NotFound {
                path: path.to_owned(),
            }
        } else {
            DriverError::Io {
                op,
                path: path.to_owned(),
                source,
            }
        }
    }
}

async fn blocking<T: Send + 'static>(
    op: &'static str,
    path: String,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<T, DriverError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(io_err(op, &path)),
        Err(join) => Err(DriverError::Io {
            op,
            path,
            source: io::Error::other(join.to_string()),
        }),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and its missing ancestors, fsyncing the parent of each one created so the new
/// entries survive a crash.
fn ensure_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        ensure_dir(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    }
    match dir.parent() {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

fn tmp_name(root: &Path) -> PathBuf {
    root.join(TMP_DIR)
        .join(format!("{:032x}", rand::random::<u128>()))
}

fn put_blocking(root: &Path, dest: &Path, data: &[u8]) -> io::Result<()> {
    if data.is_empty() {
        // An empty file has no torn state: create it in place and make the entry durable.
        let parent = dest.parent().ok_or_else(|| io::Error::other("no parent"))?;
        ensure_dir(parent)?;
        File::create(dest)?;
        return sync_dir(parent);
    }
    let tmp = tmp_name(root);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        rename_blocking(&tmp, dest)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn rename_blocking(from: &Path, to: &Path) -> io::Result<()> {
    let parent = to.parent().ok_or_else(|| io::Error::other("no parent"))?;
    ensure_dir(parent)?;
    fs::rename(from, to)?;
    // The destination entry is what must survive; the source entry vanishing is not needed
    // for consistency (a leftover would be garbage in a scratch or upload directory).
    sync_dir(parent)
}

fn list_blocking(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

fn delete_blocking(p: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(p)?;
    if meta.is_dir() {
        fs::remove_dir_all(p)?;
    } else {
        fs::remove_file(p)?;
    }
    match p.parent() {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// Reads up to `want` bytes at `offset` (positional, so chunks need no shared cursor).
fn read_chunk(f: &File, offset: u64, want: usize) -> io::Result<Bytes> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; want];
    let mut got = 0;
    while got < want {
        match f.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(Bytes::from(buf))
}

/// State of a read stream: the next chunk is read on the blocking pool while the current one
/// is being sent, and no thread is held while the client is slow.
struct ReadState {
    file: Arc<File>,
    offset: u64,
    left: u64,
    next: Option<JoinHandle<io::Result<Bytes>>>,
}

impl ReadState {
    fn spawn_next(&mut self) {
        if self.left == 0 {
            self.next = None;
            return;
        }
        let want = CHUNK.min(usize::try_from(self.left).unwrap_or(CHUNK));
        let (file, offset) = (Arc::clone(&self.file), self.offset);
        self.offset += want as u64;
        self.left -= want as u64;
        self.next = Some(tokio::task::spawn_blocking(move || {
            read_chunk(&file, offset, want)
        }));
    }

    async fn next_chunk(mut self) -> Option<(io::Result<Bytes>, ReadState)> {
        let handle = self.next.take()?;
        let chunk = match handle.await {
            Ok(r) => r,
            Err(e) => Err(io::Error::other(e.to_string())),
        };
        match chunk {
            Ok(b) if b.is_empty() => None,
            Ok(b) => {
                self.spawn_next();
                Some((Ok(b), self))
            }
            Err(e) => {
                self.left = 0;
                Some((Err(e), self))
            }
        }
    }
}

impl StorageDriver for FsDriver {
    fn name(&self) -> &'static str {
        "filesystem"
    }

    fn get_content<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Bytes, DriverError>> {
        Box::pin(async move {
            let p = self.full(path)?;
            blocking("read", path.to_owned(), move || {
                fs::read(p).map(Bytes::from)
            })
            .await
        })
    }

    fn put_content<'a>(
        &'a self,
        path: &'a str,
        data: Bytes,
    ) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(async move {
            let p = self.full(path)?;
            let root = Arc::clone(&self.root);
            blocking("write", path.to_owned(), move || {
                put_blocking(&root, &p, &data)
            })
            .await
        })
    }

    fn stat<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<FileInfo, DriverError>> {
        Box::pin(async move {
            let p = self.full(path)?;
            blocking("stat", path.to_owned(), move || {
                let m = fs::metadata(p)?;
                Ok(FileInfo {
                    size: if m.is_dir() { 0 } else { m.len() },
                    modified: m.modified()?,
                    is_dir: m.is_dir(),
                })
            })
            .await
        })
    }

    fn read_stream<'a>(
        &'a self,
        path: &'a str,
        offset: u64,
        len: Option<u64>,
    ) -> BoxFuture<'a, Result<ByteStream, DriverError>> {
        Box::pin(async move {
            let p = self.full(path)?;
            let (file, size) = blocking("open", path.to_owned(), move || {
                let f = File::open(p)?;
                let size = f.metadata()?.len();
                Ok((f, size))
            })
            .await?;
            let end = len.map_or(size, |l| offset.saturating_add(l).min(size));
            let mut state = ReadState {
                file: Arc::new(file),
                offset,
                left: end.saturating_sub(offset),
                next: None,
            };
            state.spawn_next();
            let s = futures_util::stream::unfold(state, ReadState::next_chunk);
            Ok(s.boxed())
        })
    }

    fn writer<'a>(
        &'a self,
        path: &'a str,
        append: bool,
    ) -> BoxFuture<'a, Result<Box<dyn FileWriter>, DriverError>> {
        Box::pin(async move {
            let p = self.full(path)?;
            let (file, size) = blocking("open for writing", path.to_owned(), move || {
                if let Some(parent) = p.parent() {
                    ensure_dir(parent)?;
                }
                let f = OpenOptions::new()
                    .create(true)
                    .append(append)
                    .write(true)
                    .truncate(!append)
                    .open(&p)?;
                let size = f.metadata()?.len();
                Ok((f, size))
            })
            .await?;
            Ok(Box::new(FsWriter {
                path: path.to_owned(),
                file: Arc::new(file),
                buf: Vec::with_capacity(CHUNK),
                size,
                unsynced: 0,
                pending: None,
                syncing: None,
            }) as Box<dyn FileWriter>)
        })
    }

    fn list<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Vec<String>, DriverError>> {
        Box::pin(async move {
            let p = self.full(path)?;
            blocking("list", path.to_owned(), move || list_blocking(&p)).await
        })
    }

    fn rename<'a>(&'a self, from: &'a str, to: &'a str) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(async move {
            let (f, t) = (self.full(from)?, self.full(to)?);
            blocking("rename", from.to_owned(), move || rename_blocking(&f, &t)).await
        })
    }

    fn delete<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(async move {
            let p = self.full(path)?;
            blocking("delete", path.to_owned(), move || delete_blocking(&p)).await
        })
    }
}

/// Exclusive use of a store root by one process: `serve` and `gc` take it, so a collection
/// cannot run beside a server (it could sweep a blob uploaded between its mark and its sweep)
/// and two servers cannot share one root. An advisory `flock(2)` on `<root>/.lock`; the kernel
/// drops it when the process dies, so a crash never leaves the root locked.
#[derive(Debug)]
pub struct RootLock {
    _lock: nix::fcntl::Flock<File>,
}

impl RootLock {
    /// Takes the lock, failing at once if another process holds it.
    pub fn acquire(root: &Path) -> Result<RootLock, DriverError> {
        let path = root.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err("open lock", &path.display().to_string()))?;
        match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(RootLock { _lock: lock }),
            Err((_, errno)) => Err(DriverError::Locked {
                path: path.display().to_string(),
                source: io::Error::from(errno),
            }),
        }
    }
}

/// An appending writer. Data is buffered up to [`CHUNK`] and written on the blocking pool while
/// the caller keeps receiving the next chunk (one write in flight at a time, so order holds).
struct FsWriter {
    path: String,
    file: Arc<File>,
    buf: Vec<u8>,
    size: u64,
    unsynced: u64,
    pending: Option<JoinHandle<io::Result<()>>>,
    syncing: Option<JoinHandle<io::Result<()>>>,
}

impl FsWriter {
    async fn wait_pending(&mut self) -> Result<(), DriverError> {
        if let Some(h) = self.pending.take() {
            let r = h.await.map_err(|e| io::Error::other(e.to_string()));
            r.and_then(|r| r).map_err(io_err("write", &self.path))?;
        }
        Ok(())
    }

    async fn flush_buf(&mut self) -> Result<(), DriverError> {
        self.wait_pending().await?;
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        let file = Arc::clone(&self.file);
        self.unsynced += data.len() as u64;
        self.pending = Some(tokio::task::spawn_blocking(move || {
            (&*file).write_all(&data)
        }));
        // Start writeback of what is written so far, alongside the writes rather than in their
        // way, so the fsync at commit finds little left to do. One background sync at a time.
        let idle = self.syncing.as_ref().is_none_or(|h| h.is_finished());
        if self.unsynced >= SYNC_EVERY && idle {
            if let Some(h) = self.syncing.take() {
                h.await
                    .map_err(|e| io::Error::other(e.to_string()))
                    .and_then(|r| r)
                    .map_err(io_err("sync", &self.path))?;
            }
            self.unsynced = 0;
            let file = Arc::clone(&self.file);
            self.syncing = Some(tokio::task::spawn_blocking(move || file.sync_data()));
        }
        Ok(())
    }

    async fn wait_syncing(&mut self) -> Result<(), DriverError> {
        if let Some(h) = self.syncing.take() {
            let r = h.await.map_err(|e| io::Error::other(e.to_string()));
            r.and_then(|r| r).map_err(io_err("sync", &self.path))?;
        }
        Ok(())
    }
}

impl FileWriter for FsWriter {
    fn write(&mut self, data: Bytes) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(async move {
            self.size += data.len() as u64;
            self.buf.extend_from_slice(&data);
            if self.buf.len() >= CHUNK {
                self.flush_buf().await?;
            }
            Ok(())
        })
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn commit(mut self: Box<Self>) -> BoxFuture<'static, Result<(), DriverError>> {
        Box::pin(async move {
            self.flush_buf().await?;
            self.wait_pending().await?;
            self.wait_syncing().await?;
            let file = Arc::clone(&self.file);
            blocking("sync", self.path.clone(), move || file.sync_all()).await
        })
    }

    fn abort_to(mut self: Box<Self>, keep: u64) -> BoxFuture<'static, Result<(), DriverError>> {
        Box::pin(async move {
            self.buf.clear();
            // The in-flight write may fail; the truncate below is what counts.
            let _ = self.wait_pending().await;
            let _ = self.wait_syncing().await;
            let file = Arc::clone(&self.file);
            blocking("truncate", self.path.clone(), move || {
                file.set_len(keep)?;
                file.sync_all()
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn filesystem_driver_passes_the_driver_testsuite() {
        let dir = tempfile::tempdir().unwrap();
        let d = FsDriver::new(dir.path()).unwrap();
        super::super::testsuite::run(&d).await;
        // Atomic writes leave nothing in the scratch directory.
        assert!(fs::read_dir(dir.path().join(TMP_DIR))
            .unwrap()
            .next()
            .is_none());
    }
}
