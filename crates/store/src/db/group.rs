//! Group commit: many writers, one fsync.
//!
//! Every write transaction is committed without waiting for the disk (redb's
//! `Durability::None`: visible to later transactions at once), and numbered. A writer that needs
//! its commit on disk asks for a sync through its number; one writer at a time syncs — an empty
//! durable commit, which writes every commit before it — and records the highest number it
//! covered, so the writers queued behind it whose commits it covered return without a sync of
//! their own. Under concurrent starts that is one fsync for a batch instead of one each.
//!
//! If a sync fails, the database is dropped and opened again, which rolls back to the last
//! durable commit: this opening is then `lost`, and every writer whose commit was not yet
//! durable gets an error rather than a success that would not survive.

use std::sync::Mutex;

use super::MetaError;

/// The commits of one opening of the database, and how many of them are on disk.
#[derive(Default)]
pub(super) struct GroupCommit {
    state: Mutex<State>,
    /// Held by the writer running a sync; the others wait on it, then find their commit covered.
    syncing: Mutex<()>,
}

#[derive(Default)]
struct State {
    /// Number of the last commit made.
    committed: u64,
    /// Every commit up to this number is on disk.
    durable: u64,
    /// The database was dropped after an I/O error: commits above `durable` are gone.
    lost: bool,
}

impl GroupCommit {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Numbers a commit that has just been made.
    pub(super) fn committed(&self) -> u64 {
        let mut s = self.state();
        s.committed += 1;
        s.committed
    }

    /// Marks this opening dropped: what was not durable is lost.
    pub(super) fn lose(&self) {
        self.state().lost = true;
    }

    /// Returns once commit `seq` is on disk, running `sync` (which makes every commit made
    /// before it durable) unless another writer's sync already covered it.
    pub(super) fn make_durable(
        &self,
        seq: u64,
        sync: impl FnOnce() -> Result<(), MetaError>,
    ) -> Result<(), MetaError> {
        let _turn = self.syncing.lock().unwrap_or_else(|e| e.into_inner());
        let target = {
            let s = self.state();
            if s.durable >= seq {
                return Ok(());
            }
            if s.lost {
                return Err(lost());
            }
            s.committed
        };
        sync()?;
        let mut s = self.state();
        s.durable = s.durable.max(target);
        Ok(())
    }
}

fn lost() -> MetaError {
    MetaError::Db {
        op: "making a commit durable",
        source: redb::Error::PreviousIo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_covers_every_commit_before_it() {
        let g = GroupCommit::default();
        let a = g.committed();
        let b = g.committed();
        let mut syncs = 0;
        g.make_durable(b, || {
            syncs += 1;
            Ok(())
        })
        .unwrap();
        g.make_durable(a, || {
            syncs += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(syncs, 1, "the second commit's sync also wrote the first");
        let c = g.committed();
        g.make_durable(c, || {
            syncs += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(
            syncs, 2,
            "a commit after the last sync needs a sync of its own"
        );
    }

    #[test]
    fn a_failed_sync_fails_its_writer_and_a_lost_opening_fails_the_rest() {
        let g = GroupCommit::default();
        let a = g.committed();
        g.make_durable(a, || Ok(())).unwrap();
        let b = g.committed();
        let c = g.committed();
        let err = g.make_durable(b, || Err(lost()));
        assert!(err.is_err());
        g.lose();
        assert!(
            g.make_durable(c, || Ok(())).is_err(),
            "a commit not on disk when its database was dropped is reported lost, never synced on"
        );
        assert!(g.make_durable(a, || panic!("no sync needed")).is_ok());
    }
}
