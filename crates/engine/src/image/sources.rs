//! Where each layer blob is known to live: the repositories it was pulled from or pushed to
//! (`domain/path`). A push to another repository of the same registry asks it to mount the
//! blob from one of them instead of uploading it (Docker's v2 metadata, much simplified).

use oci::{Digest, Reference};
use store::Store;

const TABLE: &str = "blob-sources";
/// Repositories remembered per blob (the most recent ones).
const KEEP: usize = 8;

/// Records that `blobs` are in `repository` (best effort: a failure only costs a mount).
pub(crate) fn remember(s: &Store, blobs: &[Digest], repository: &str) {
    let r = s.db().write(|tx| {
        for d in blobs {
            let mut list: Vec<String> = tx.get(TABLE, d.as_str())?.unwrap_or_default();
            list.retain(|r| r != repository);
            list.insert(0, repository.to_string());
            list.truncate(KEEP);
            tx.put(TABLE, d.as_str(), &list)?;
        }
        Ok::<_, store::MetaError>(())
    });
    if let Err(e) = r {
        tracing::warn!(error = %e, "recording blob sources");
    }
}

/// A repository on `target`'s registry, other than `target` itself, known to hold `blob`:
/// its path, for `?mount=…&from=<path>`.
pub(crate) fn mount_source(s: &Store, blob: &Digest, target: &Reference) -> Option<String> {
    let list: Vec<String> = s.db().read(|tx| tx.get(TABLE, blob.as_str())).ok()??;
    let prefix = format!("{}/", target.domain());
    let own = target.repository();
    list.into_iter()
        .filter(|r| *r != own)
        .find_map(|r| r.strip_prefix(&prefix).map(str::to_string))
}
