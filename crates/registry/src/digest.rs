//! Digests come from the `oci` crate (sha256 and sha512); this module re-exports them under the
//! names the registry uses and lists the algorithms the store walks.

pub use oci::digest::{Algorithm, Digest, DigestError, Digester as Hasher};

/// Every algorithm the registry accepts, in the order the store is walked.
pub const ALGORITHMS: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

/// Parses an algorithm name used as a directory of the store.
pub fn parse_algorithm(s: &str) -> Option<Algorithm> {
    ALGORITHMS.into_iter().find(|a| a.as_str() == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sha256_and_sha512_refuses_others() {
        let mut h = Hasher::new(Algorithm::Sha512);
        h.update(b"abc");
        let d = h.finish();
        assert!(d.hex().starts_with("ddaf35a193617aba"));
        assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
        assert!("md5:d41d8cd98f00b204e9800998ecf8427e"
            .parse::<Digest>()
            .is_err());
        assert!("sha256:ABC".parse::<Digest>().is_err());
        assert_eq!(parse_algorithm("sha512"), Some(Algorithm::Sha512));
        assert_eq!(parse_algorithm("md5"), None);
    }
}
