//! Image references: parsing must never panic, and whatever parses must print to a string
//! that parses back to the same reference (full and familiar forms alike).
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci::reference::{id_prefix, AnyReference, Reference};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(r) = Reference::parse(s) {
        let full = r.to_string();
        assert_eq!(Reference::parse(&full).as_ref(), Ok(&r), "full form {full:?} of {s:?}");
        let familiar = r.familiar();
        // Docker's own ambiguities, kept on purpose: `library/<64 hex>` prints as bare hex (an
        // image ID), and a Hub path whose first component looks like a host (`a.b/c`,
        // `localhost/c`) prints as that host. Every other familiar form must round-trip.
        let first = r.path().split('/').next().unwrap_or_default();
        let ambiguous = oci::reference::is_full_hex_id(&familiar)
            || (r.domain() == "docker.io" && (first.contains(['.', ':']) || first == "localhost"));
        if !ambiguous {
            assert_eq!(Reference::parse(&familiar).as_ref(), Ok(&r), "familiar form {familiar:?} of {s:?}");
        }
        let tagged = r.clone().with_default_tag();
        assert!(tagged.tag().is_some() || tagged.digest().is_some());
    }
    let _ = AnyReference::parse(s);
    let _ = Reference::parse_canonical(s);
    if let Some(hex) = id_prefix(s) {
        assert!(hex.len() <= 64 && !hex.is_empty());
    }
    let _ = oci::Digest::parse(s);
});
