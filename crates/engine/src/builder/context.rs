//! Context sync for `berth build` (see `api_types::build`): the daemon keeps each synced
//! context in a persistent directory of the store (by the key the client names its context
//! directory with), and its index — entries with their hash and the client's stat — in the
//! `build_contexts` table. A sync (`POST /build/context`) answers which files the build must
//! send and holds the context's lock until that build has run, so two builds of the same
//! directory take turns.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api_types::build::{ContextEntry, ContextManifest, ContextSyncResponse};
use build::context::receive::Limits;
use build::context::{sync, Index};
use build::Context;
use store::CacheDirKind;
use tokio::io::AsyncRead;
use tokio::sync::OwnedMutexGuard;

use super::BuildService;
use crate::error::{Error, Result};

/// The table of synced contexts' indexes (key → index).
pub(crate) const TABLE: &str = "build_contexts";

/// How long a sync waits for its build (the client sends it right after the answer); a
/// client that died in between holds the context's lock that long.
const PENDING_FOR: Duration = Duration::from_secs(30);

/// How often a sync waiting for a context's lock looks for syncs whose build never came.
const RECHECK: Duration = Duration::from_millis(500);

struct Pending {
    key: String,
    entries: Vec<ContextEntry>,
    cached: Index,
    guard: OwnedMutexGuard<()>,
    at: Instant,
}

/// The syncs waiting for their build, and the lock of each context.
#[derive(Default)]
pub(crate) struct Contexts {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl Contexts {
    /// The lock of context `key`.
    pub(crate) fn lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut l = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        l.entry(key.to_string()).or_default().clone()
    }

    /// Drops the syncs whose build did not come in time (releasing their locks).
    fn expire(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, p| p.at.elapsed() < PENDING_FOR);
    }

    /// Waits for context `key`'s lock: held by a build using it, or by a sync waiting for
    /// its build (released when that sync expires). Bounded: a lock held for a day is an
    /// error.
    async fn wait(&self, key: &str) -> Result<OwnedMutexGuard<()>> {
        let lock = self.lock(key);
        let rounds = (24 * 3600 * 1000 / RECHECK.as_millis()) as usize;
        for _ in 0..rounds {
            self.expire();
            if let Ok(g) = tokio::time::timeout(RECHECK, lock.clone().lock_owned()).await {
                return Ok(g);
            }
        }
        Err(Error::conflict(format!(
            "build context {key:?} stayed locked for a day"
        )))
    }
}

fn check_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 128
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(Error::invalid(format!(
            "invalid context key {key:?}: 1 to 128 letters, digits, '-', '_' or '.'"
        )));
    }
    Ok(())
}

impl BuildService {
    /// `POST /build/context?key=`: which files of `manifest` the build must send.
    pub async fn sync_context(
        self: &Arc<Self>,
        key: &str,
        manifest: ContextManifest,
    ) -> Result<ContextSyncResponse> {
        check_key(key)?;
        let guard = self.contexts.wait(key).await?;
        let store = self.store.clone();
        let k = key.to_string();
        let cached: Index = tokio::task::spawn_blocking(move || {
            store
                .db()
                .read(|tx| tx.get::<Index>(TABLE, &k))
                .map_err(Error::from)
        })
        .await
        .map_err(Error::task("build"))??
        .unwrap_or_default();
        let want = sync::wanted(&manifest.entries, &cached);
        let bytes: [u8; 16] = rand::random();
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut pending = self
            .contexts
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        pending.insert(
            token.clone(),
            Pending {
                key: key.to_string(),
                entries: manifest.entries,
                cached,
                guard,
                at: Instant::now(),
            },
        );
        Ok(ContextSyncResponse { token, want })
    }

    /// The context a sync prepared, brought up to date from `body`; the lock it returns is
    /// held until the build is over.
    pub(crate) async fn receive_synced(
        &self,
        token: &str,
        body: impl AsyncRead + Send + Unpin + 'static,
    ) -> Result<(Context, OwnedMutexGuard<()>)> {
        let p = self
            .contexts
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown build context token {token:?}: sync the context again (POST /build/context)"
                ))
            })?;
        let store = self.store.clone();
        let limits = Limits {
            max_bytes: self.context_limit,
        };
        let reader = tokio_util::io::SyncIoBridge::new(body);
        let Pending {
            key,
            entries,
            cached,
            guard,
            ..
        } = p;
        let ctx = tokio::task::spawn_blocking(move || -> Result<Context> {
            let dir = store
                .build_cache_dir(CacheDirKind::Context, &key, (0o755, 0, 0))
                .map_err(Error::from)?;
            let r = std::io::BufReader::with_capacity(1 << 20, reader);
            match sync::apply(r, &dir, &entries, &cached, limits) {
                Ok(received) => {
                    store
                        .db()
                        .write_deferred(|tx| tx.put(TABLE, &key, &received.index))
                        .map_err(Error::from)?;
                    Ok(Context::new(dir, received.index))
                }
                Err(e) => {
                    // Half updated: forgotten, so the next sync sends everything.
                    let _ = store.db().write(|tx| tx.delete(TABLE, &key));
                    let _ = store.remove_build_cache_dir(CacheDirKind::Context, &key);
                    Err(Error::Build(build::Error::Context(e)))
                }
            }
        })
        .await
        .map_err(Error::task("build"))??;
        Ok((ctx, guard))
    }

    /// Forgets the synced context `key` (pruning), unless a build uses it now.
    pub(crate) fn forget_context(&self, key: &str) -> bool {
        let lock = self.contexts.lock(key);
        let Ok(_g) = lock.try_lock() else {
            return false;
        };
        let _ = self.store.db().write(|tx| tx.delete(TABLE, key));
        self.store
            .remove_build_cache_dir(CacheDirKind::Context, key)
            .is_ok()
    }
}
