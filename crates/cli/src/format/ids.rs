//! Image and container IDs as the docker CLI handles them: is an argument an ID or digest
//! (not a name), and the 12-character short form. The reference grammar itself is
//! `oci::reference`'s.

use oci::reference::AnyReference;

/// Whether `s` is a bare image ID or digest (`ParseAnyReference`'s non-name forms).
pub fn is_id_or_digest(s: &str) -> bool {
    matches!(AnyReference::parse(s), Ok(AnyReference::Id(_)))
}

/// `stringid.TruncateID`: drops an algorithm prefix and keeps 12 characters.
pub fn truncate_id(id: &str) -> &str {
    let id = id.split_once(':').map(|(_, h)| h).unwrap_or(id);
    let end = id
        .char_indices()
        .nth(12)
        .map(|(i, _)| i)
        .unwrap_or(id.len());
    &id[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_digests_are_not_names() {
        assert!(is_id_or_digest(&"0".repeat(64)));
        assert!(is_id_or_digest(&format!("sha256:{}", "a".repeat(64))));
        assert!(!is_id_or_digest("busybox"));
        assert!(!is_id_or_digest("0123456789ab"));
    }

    #[test]
    fn truncates_ids() {
        assert_eq!(truncate_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(truncate_id("abc"), "abc");
    }
}
