//! Image archive paths (`docker load`): whatever an archive names — entries, link targets,
//! `manifest.json` fields — cleaning must never yield a path that leaves the archive, and the
//! archive manifest parser must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci::archive::{blob_digest, blob_path, clean_path, resolve_link, ArchiveEntry};

fn inside(p: &str) -> bool {
    !p.is_empty() && !p.starts_with('/') && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (a, b) = s.split_once('\n').unwrap_or((s, ""));
    if let Some(p) = clean_path(a) {
        assert!(inside(&p), "clean_path({a:?}) = {p:?}");
        assert_eq!(clean_path(&p).as_deref(), Some(p.as_str()), "not idempotent");
        if let Some(d) = blob_digest(&p) {
            assert_eq!(blob_path(&d), p);
        }
        if let Some(t) = resolve_link(&p, b) {
            assert!(inside(&t), "resolve_link({p:?}, {b:?}) = {t:?}");
        }
    }
    let _ = serde_json::from_str::<Vec<ArchiveEntry>>(s);
});
