//! `-p` specs: parsing never panics, and every mapping prints (go-connections' form) to a
//! spec that parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use network::ports::parse_port_spec;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(mappings) = parse_port_spec(s) {
        for m in mappings {
            let printed = m.to_string();
            let again = parse_port_spec(&printed).expect("printed form parses");
            assert_eq!(again, vec![m], "{printed:?} from {s:?}");
        }
    }
});
