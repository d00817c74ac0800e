//! The metadata database: one redb file (`meta.redb`) holding the store's own tables
//! (snapshots, images, references, leases) and generic JSON tables the engine keeps its
//! records in (containers, container names, volumes, networks …).
//!
//! All access goes through a transaction. A write transaction is committed when its closure
//! returns `Ok`, and rolled back when it returns `Err` — so several records change together or
//! not at all. `write` returns once the commit is durable; concurrent writers share the fsync
//! that makes them so (group commit, `group`). `write_deferred` commits without waiting for
//! the disk, for steps whose loss in a crash start-up recovery cleans up.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ErrorKind;

mod group;

/// Errors of the metadata database.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// Opening or creating the database file failed.
    #[error("opening metadata database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: redb::Error,
    },
    /// A database operation failed.
    #[error("metadata database: {op}: {source}")]
    Db {
        /// What was being done.
        op: &'static str,
        /// The error.
        #[source]
        source: redb::Error,
    },
    /// A stored value is not the JSON expected (or a value could not be serialised).
    #[error("metadata table {table:?} key {key:?}: {source}")]
    Json {
        /// The table.
        table: String,
        /// The key.
        key: String,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
    /// `insert_unique` found the key taken.
    #[error("{table} {key:?} is already in use by {holder:?}")]
    Conflict {
        /// The table.
        table: String,
        /// The key.
        key: String,
        /// The current value: the JSON string's content when it is a string, else its JSON.
        holder: String,
    },
    /// A table name that is empty or has characters other than `[a-z0-9_.-]`.
    #[error("invalid metadata table name {table:?}")]
    TableName {
        /// The name.
        table: String,
    },
}

impl MetaError {
    /// `Conflict` for taken keys, `InvalidArgument` for bad table names, else `Internal`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            MetaError::Conflict { .. } => ErrorKind::Conflict,
            MetaError::TableName { .. } => ErrorKind::InvalidArgument,
            _ => ErrorKind::Internal,
        }
    }
}

fn db_err<E: Into<redb::Error>>(op: &'static str) -> impl FnOnce(E) -> MetaError {
    move |e| MetaError::Db {
        op,
        source: e.into(),
    }
}

/// Prefix of the engine's generic tables, keeping them apart from the store's own.
const USER_PREFIX: &str = "json.";

fn user_table(name: &str) -> Result<String, MetaError> {
    let ok = !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
    if !ok {
        return Err(MetaError::TableName {
            table: name.to_string(),
        });
    }
    Ok(format!("{USER_PREFIX}{name}"))
}

fn def(name: &str) -> TableDefinition<'_, &'static str, &'static [u8]> {
    TableDefinition::new(name)
}

/// The database. Cheap to share behind an `Arc`; transactions serialise writers.
///
/// After an I/O error (a full disk, EIO) redb refuses every later transaction until the file
/// is closed and opened again. So a transaction that meets such an error drops this handle's
/// database, and the next transaction opens the file again — redb's recovery rolls back what
/// was not committed — instead of the daemon failing every write until it restarts.
pub struct MetaDb {
    /// `None` between an I/O failure and the next successful open.
    db: Mutex<Option<Arc<Open>>>,
    path: PathBuf,
}

/// One opening of the file, with the record of which of its commits are on disk.
struct Open {
    db: redb::Database,
    group: group::GroupCommit,
}

impl std::ops::Deref for Open {
    type Target = redb::Database;
    fn deref(&self) -> &redb::Database {
        &self.db
    }
}

/// Whether a redb error leaves the database poisoned until it is opened again.
fn poisons(e: &redb::Error) -> bool {
    matches!(e, redb::Error::Io(_) | redb::Error::PreviousIo)
}

impl MetaDb {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<MetaDb, MetaError> {
        let db = Self::open_file(path)?;
        Ok(MetaDb {
            db: Mutex::new(Some(Arc::new(db))),
            path: path.into(),
        })
    }

    fn open_file(path: &Path) -> Result<Open, MetaError> {
        let db = redb::Database::create(path).map_err(|e| MetaError::Open {
            path: path.into(),
            source: e.into(),
        })?;
        Ok(Open {
            db,
            group: group::GroupCommit::default(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open database, opening the file again after an I/O failure. Opening fails while
    /// transactions of the dropped database are still running (they hold the file's lock):
    /// the caller gets the error and the next transaction tries again.
    fn handle(&self) -> Result<Arc<Open>, MetaError> {
        let mut slot = self.db.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(db) = slot.as_ref() {
            return Ok(db.clone());
        }
        let db = Arc::new(Self::open_file(&self.path)?);
        tracing::info!(path = %self.path.display(), "metadata database opened again after an I/O error");
        *slot = Some(db.clone());
        Ok(db)
    }

    /// Drops `db` (if it is still the current one) because it met an I/O error.
    fn discard(&self, db: &Arc<Open>, error: &redb::Error) {
        // Opening again rolls back to the last durable commit: the commits waiting for a sync
        // are lost, and their writers are told so.
        db.group.lose();
        let mut slot = self.db.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|cur| Arc::ptr_eq(cur, db)) {
            tracing::warn!(path = %self.path.display(), %error, "metadata database I/O error: it will be opened again");
            *slot = None;
        }
    }

    /// Begins a transaction with `begin`, once more on a freshly opened database if the
    /// current one is poisoned by an earlier I/O error.
    fn begin<T, E>(
        &self,
        op: &'static str,
        begin: impl Fn(&redb::Database) -> Result<T, E>,
    ) -> Result<(Arc<Open>, T), MetaError>
    where
        E: Into<redb::Error>,
    {
        let mut retried = false;
        loop {
            let db = self.handle()?;
            match begin(&db) {
                Ok(tx) => return Ok((db, tx)),
                Err(e) => {
                    let e: redb::Error = e.into();
                    if !poisons(&e) {
                        return Err(MetaError::Db { op, source: e });
                    }
                    self.discard(&db, &e);
                    if retried {
                        return Err(MetaError::Db { op, source: e });
                    }
                    drop(db);
                    retried = true;
                }
            }
        }
    }

    /// Runs `f` in a write transaction, committed if `f` returns `Ok` (and rolled back
    /// otherwise); returns once the commit is on disk. Only one write transaction runs at a
    /// time, but the fsync is shared: commits that finish while another writer syncs are made
    /// durable by one sync after it.
    pub fn write<T, E>(&self, f: impl FnOnce(&mut WriteTx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<MetaError>,
    {
        let (db, out, seq) = self.commit(f)?;
        db.group.make_durable(seq, || self.sync(&db))?;
        Ok(out)
    }

    /// Like `write`, but returns as soon as the commit is visible to later transactions,
    /// before it is on disk: the next `write` (of any caller) makes it durable. For records a
    /// crash may lose because start-up recovery removes what they described (work in
    /// progress), never for anything acknowledged to a client.
    pub fn write_deferred<T, E>(&self, f: impl FnOnce(&mut WriteTx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<MetaError>,
    {
        self.commit(f).map(|(_, out, _)| out)
    }

    /// Commits `f`'s transaction without waiting for the disk.
    fn commit<T, E>(
        &self,
        f: impl FnOnce(&mut WriteTx) -> Result<T, E>,
    ) -> Result<(Arc<Open>, T, u64), E>
    where
        E: From<MetaError>,
    {
        let (db, mut tx) = self.begin("beginning write transaction", |db| db.begin_write())?;
        tx.set_durability(redb::Durability::None)
            .map_err(db_err("choosing the commit's durability"))?;
        let mut wtx = WriteTx { tx };
        let out = f(&mut wtx)?;
        if let Err(e) = wtx.tx.commit() {
            let e: redb::Error = e.into();
            if poisons(&e) {
                self.discard(&db, &e);
            }
            return Err(MetaError::Db {
                op: "committing",
                source: e,
            }
            .into());
        }
        let seq = db.group.committed();
        Ok((db, out, seq))
    }

    /// Makes every commit so far durable: an empty transaction committed with fsync (redb
    /// writes the non-durable commits before it with it). A failure drops the database, so
    /// that what was not written is rolled back everywhere, not only for this caller.
    fn sync(&self, db: &Arc<Open>) -> Result<(), MetaError> {
        let result = db
            .begin_write()
            .map_err(redb::Error::from)
            .and_then(|tx| tx.commit().map_err(redb::Error::from));
        if let Err(e) = result {
            self.discard(db, &e);
            return Err(MetaError::Db {
                op: "committing durably",
                source: e,
            });
        }
        Ok(())
    }

    /// Runs `f` in a read transaction (a consistent snapshot; does not block writers).
    pub fn read<T, E>(&self, f: impl FnOnce(&ReadTx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<MetaError>,
    {
        let (_db, tx) = self.begin("beginning read transaction", |db| db.begin_read())?;
        f(&ReadTx { tx })
    }
}

/// A write transaction. Reads see its own writes.
pub struct WriteTx {
    tx: redb::WriteTransaction,
}

/// A read-only transaction.
pub struct ReadTx {
    tx: redb::ReadTransaction,
}

fn decode<V: DeserializeOwned>(table: &str, key: &str, bytes: &[u8]) -> Result<V, MetaError> {
    serde_json::from_slice(bytes).map_err(|source| MetaError::Json {
        table: table.to_string(),
        key: key.to_string(),
        source,
    })
}

fn encode<V: Serialize>(table: &str, key: &str, v: &V) -> Result<Vec<u8>, MetaError> {
    serde_json::to_vec(v).map_err(|source| MetaError::Json {
        table: table.to_string(),
        key: key.to_string(),
        source,
    })
}

fn holder_of(bytes: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(v) => v.to_string(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

impl WriteTx {
    /// Stores `value` as JSON under `key` in the engine table `table`, replacing any value.
    pub fn put<V: Serialize>(
        &mut self,
        table: &str,
        key: &str,
        value: &V,
    ) -> Result<(), MetaError> {
        self.raw_put(&user_table(table)?, key, value)
    }

    /// The value under `key` in `table`.
    pub fn get<V: DeserializeOwned>(&self, table: &str, key: &str) -> Result<Option<V>, MetaError> {
        self.raw_get(&user_table(table)?, key)
    }

    /// Removes `key` from `table`; true when it was there.
    pub fn delete(&mut self, table: &str, key: &str) -> Result<bool, MetaError> {
        self.raw_delete(&user_table(table)?, key)
    }

    /// Every `(key, value)` of `table`, sorted by key.
    pub fn list<V: DeserializeOwned>(&self, table: &str) -> Result<Vec<(String, V)>, MetaError> {
        self.raw_list(&user_table(table)?, "")
    }

    /// Stores `value` under `key` unless the key is taken, in which case it fails with
    /// [`MetaError::Conflict`] naming the current holder (used for container names).
    pub fn insert_unique<V: Serialize>(
        &mut self,
        table: &str,
        key: &str,
        value: &V,
    ) -> Result<(), MetaError> {
        let t = user_table(table)?;
        let bytes = encode(table, key, value)?;
        let mut tab = self
            .tx
            .open_table(def(&t))
            .map_err(db_err("opening table"))?;
        let existing = tab
            .get(key)
            .map_err(db_err("reading"))?
            .map(|g| holder_of(g.value()));
        if let Some(holder) = existing {
            return Err(MetaError::Conflict {
                table: table.to_string(),
                key: key.to_string(),
                holder,
            });
        }
        tab.insert(key, bytes.as_slice())
            .map_err(db_err("writing"))?;
        Ok(())
    }

    pub(crate) fn raw_put<V: Serialize>(
        &mut self,
        table: &str,
        key: &str,
        value: &V,
    ) -> Result<(), MetaError> {
        let bytes = encode(table, key, value)?;
        let mut tab = self
            .tx
            .open_table(def(table))
            .map_err(db_err("opening table"))?;
        tab.insert(key, bytes.as_slice())
            .map_err(db_err("writing"))?;
        Ok(())
    }

    pub(crate) fn raw_get<V: DeserializeOwned>(
        &self,
        table: &str,
        key: &str,
    ) -> Result<Option<V>, MetaError> {
        let tab = self
            .tx
            .open_table(def(table))
            .map_err(db_err("opening table"))?;
        let got = tab.get(key).map_err(db_err("reading"))?;
        got.map(|g| decode(table, key, g.value())).transpose()
    }

    pub(crate) fn raw_delete(&mut self, table: &str, key: &str) -> Result<bool, MetaError> {
        let mut tab = self
            .tx
            .open_table(def(table))
            .map_err(db_err("opening table"))?;
        let old = tab.remove(key).map_err(db_err("deleting"))?;
        Ok(old.is_some())
    }

    pub(crate) fn raw_list<V: DeserializeOwned>(
        &self,
        table: &str,
        prefix: &str,
    ) -> Result<Vec<(String, V)>, MetaError> {
        let tab = self
            .tx
            .open_table(def(table))
            .map_err(db_err("opening table"))?;
        collect(
            table,
            prefix,
            tab.range(prefix..).map_err(db_err("listing"))?,
        )
    }

    /// Increments and returns the named counter (first value 1).
    pub(crate) fn next_seq(&mut self, name: &str) -> Result<u64, MetaError> {
        let cur: u64 = self.raw_get(SEQ_TABLE, name)?.unwrap_or(0);
        self.raw_put(SEQ_TABLE, name, &(cur + 1))?;
        Ok(cur + 1)
    }
}

/// Reading shared by read and write transactions, for the store's own modules.
pub(crate) trait Reader {
    /// The value under `key` in the internal table `table`.
    fn raw_get<V: DeserializeOwned>(&self, table: &str, key: &str) -> Result<Option<V>, MetaError>;
    /// Every `(key, value)` of the internal table `table` whose key starts with `prefix`.
    fn raw_list<V: DeserializeOwned>(
        &self,
        table: &str,
        prefix: &str,
    ) -> Result<Vec<(String, V)>, MetaError>;
}

impl Reader for WriteTx {
    fn raw_get<V: DeserializeOwned>(&self, table: &str, key: &str) -> Result<Option<V>, MetaError> {
        WriteTx::raw_get(self, table, key)
    }
    fn raw_list<V: DeserializeOwned>(
        &self,
        table: &str,
        prefix: &str,
    ) -> Result<Vec<(String, V)>, MetaError> {
        WriteTx::raw_list(self, table, prefix)
    }
}

impl Reader for ReadTx {
    fn raw_get<V: DeserializeOwned>(&self, table: &str, key: &str) -> Result<Option<V>, MetaError> {
        ReadTx::raw_get(self, table, key)
    }
    fn raw_list<V: DeserializeOwned>(
        &self,
        table: &str,
        prefix: &str,
    ) -> Result<Vec<(String, V)>, MetaError> {
        ReadTx::raw_list(self, table, prefix)
    }
}

/// Counters (snapshot ids).
pub(crate) const SEQ_TABLE: &str = "seq";

type Range<'a> = redb::Range<'a, &'static str, &'static [u8]>;

fn collect<V: DeserializeOwned>(
    table: &str,
    prefix: &str,
    range: Range<'_>,
) -> Result<Vec<(String, V)>, MetaError> {
    let mut out = Vec::new();
    for item in range {
        let (k, v) = item.map_err(db_err("listing"))?;
        let key = k.value();
        if !key.starts_with(prefix) {
            break;
        }
        out.push((key.to_string(), decode(table, key, v.value())?));
    }
    Ok(out)
}

impl ReadTx {
    /// The value under `key` in the engine table `table`.
    pub fn get<V: DeserializeOwned>(&self, table: &str, key: &str) -> Result<Option<V>, MetaError> {
        self.raw_get(&user_table(table)?, key)
    }

    /// Every `(key, value)` of `table`, sorted by key.
    pub fn list<V: DeserializeOwned>(&self, table: &str) -> Result<Vec<(String, V)>, MetaError> {
        self.raw_list(&user_table(table)?, "")
    }

    pub(crate) fn raw_get<V: DeserializeOwned>(
        &self,
        table: &str,
        key: &str,
    ) -> Result<Option<V>, MetaError> {
        let tab = match self.tx.open_table(def(table)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(db_err("opening table")(e)),
        };
        let got = tab.get(key).map_err(db_err("reading"))?;
        got.map(|g| decode(table, key, g.value())).transpose()
    }

    pub(crate) fn raw_list<V: DeserializeOwned>(
        &self,
        table: &str,
        prefix: &str,
    ) -> Result<Vec<(String, V)>, MetaError> {
        let tab = match self.tx.open_table(def(table)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(db_err("opening table")(e)),
        };
        collect(
            table,
            prefix,
            tab.range(prefix..).map_err(db_err("listing"))?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Rec {
        n: u32,
    }

    fn db() -> (tempfile::TempDir, MetaDb) {
        let d = tempfile::tempdir().unwrap();
        let db = MetaDb::open(&d.path().join("meta.redb")).unwrap();
        (d, db)
    }

    #[test]
    fn concurrent_writes_all_reach_the_disk() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("meta.redb");
        let db = Arc::new(MetaDb::open(&path).unwrap());
        db.write_deferred(|tx| tx.put("t", "deferred", &Rec { n: 0 }))
            .unwrap();
        let seen: Option<Rec> = db.read(|tx| tx.get("t", "deferred")).unwrap();
        assert_eq!(
            seen,
            Some(Rec { n: 0 }),
            "a deferred commit is visible at once"
        );
        let writers: Vec<_> = (1..=16)
            .map(|n| {
                let db = db.clone();
                std::thread::spawn(move || {
                    db.write(|tx| tx.put("t", &format!("k{n}"), &Rec { n }))
                        .unwrap()
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        drop(db);
        let db = MetaDb::open(&path).unwrap();
        let all: Vec<(String, Rec)> = db.read(|tx| tx.list("t")).unwrap();
        assert_eq!(
            all.len(),
            17,
            "every write and the deferred one before them: {all:?}"
        );
    }

    /// A tmpfs of `size` mounted on a fresh temp dir, unmounted on drop (needs root).
    struct SmallDisk(tempfile::TempDir);

    impl SmallDisk {
        fn new(size: &str) -> SmallDisk {
            let d = tempfile::tempdir().unwrap();
            let st = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(d.path())
                .status()
                .unwrap();
            assert!(st.success(), "mounting a tmpfs (run as root)");
            SmallDisk(d)
        }
    }

    impl Drop for SmallDisk {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg(self.0.path())
                .status();
        }
    }

    #[test]
    fn a_full_disk_does_not_jam_the_database_once_space_is_freed() {
        let disk = SmallDisk::new("4m");
        let path = disk.0.path().join("meta.redb");
        let db = MetaDb::open(&path).unwrap();
        db.write(|tx| tx.put("t", "before", &Rec { n: 1 })).unwrap();
        // Fill the disk, then commit more than is left.
        let filler = disk.0.path().join("filler");
        let _ = std::fs::write(&filler, vec![0u8; 4 << 20]);
        let big = "x".repeat(1 << 20);
        let err = db.write(|tx| tx.put("t", "big", &big)).unwrap_err();
        assert!(err.to_string().contains("No space left"), "{err}");
        // Still full: the next write fails too, with the disk's error rather than a poisoned
        // handle's "Previous I/O error".
        let again = db.write(|tx| tx.put("t", "big", &big)).unwrap_err();
        assert!(!again.to_string().contains("Previous I/O"), "{again}");
        std::fs::remove_file(&filler).unwrap();
        // Space is back: writes and reads work without reopening by hand, and what was
        // committed before is intact.
        db.write(|tx| tx.put("t", "after", &Rec { n: 2 })).unwrap();
        let all: Vec<(String, Rec)> = db.read(|tx| tx.list("t")).unwrap();
        assert_eq!(
            all,
            vec![
                ("after".into(), Rec { n: 2 }),
                ("before".into(), Rec { n: 1 })
            ]
        );
    }

    #[test]
    fn put_get_list_delete_and_durability() {
        let (dir, db) = db();
        db.write(|tx| {
            tx.put("containers", "b", &Rec { n: 2 })?;
            tx.put("containers", "a", &Rec { n: 1 })?;
            assert_eq!(tx.get::<Rec>("containers", "a")?, Some(Rec { n: 1 }));
            Ok::<_, MetaError>(())
        })
        .unwrap();
        drop(db);
        let db = MetaDb::open(&dir.path().join("meta.redb")).unwrap();
        let all: Vec<(String, Rec)> = db.read(|tx| tx.list("containers")).unwrap();
        assert_eq!(
            all,
            vec![("a".into(), Rec { n: 1 }), ("b".into(), Rec { n: 2 })]
        );
        assert!(db.write(|tx| tx.delete("containers", "a")).unwrap());
        assert!(!db.write(|tx| tx.delete("containers", "a")).unwrap());
        assert_eq!(
            db.read(|tx| tx.get::<Rec>("containers", "a")).unwrap(),
            None
        );
        assert_eq!(
            db.read(|tx| tx.get::<Rec>("never-written", "a")).unwrap(),
            None
        );
        assert!(db
            .read(|tx| tx.list::<Rec>("never-written"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn failed_transactions_roll_back() {
        let (_d, db) = db();
        let r: Result<(), MetaError> = db.write(|tx| {
            tx.put("names", "web", &"c1")?;
            tx.insert_unique("names", "web", &"c2")
        });
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(e.to_string(), "names \"web\" is already in use by \"c1\"");
        // The first put was rolled back with the failed insert.
        assert_eq!(
            db.read(|tx| tx.get::<String>("names", "web")).unwrap(),
            None
        );
    }

    #[test]
    fn insert_unique_names_the_holder() {
        let (_d, db) = db();
        db.write(|tx| tx.insert_unique("names", "/web", &"abc123"))
            .unwrap();
        let e = db
            .write(|tx| tx.insert_unique("names", "/web", &"def456"))
            .unwrap_err();
        match e {
            MetaError::Conflict { holder, key, .. } => {
                assert_eq!((holder.as_str(), key.as_str()), ("abc123", "/web"))
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn table_names_are_checked_and_separate_from_store_tables() {
        let (_d, db) = db();
        let e = db.write(|tx| tx.put("Bad Name", "k", &1)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        db.write(|tx| tx.raw_put("images", "k", &1)).unwrap();
        assert_eq!(db.read(|tx| tx.get::<i32>("images", "k")).unwrap(), None);
    }

    #[test]
    fn sequences_increase() {
        let (_d, db) = db();
        let a = db.write(|tx| tx.next_seq("snap")).unwrap();
        let b = db.write(|tx| tx.next_seq("snap")).unwrap();
        assert_eq!((a, b), (1, 2));
    }
}
