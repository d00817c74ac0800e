//! The shim is linked as a plain executable, not a PIE (see `build.rs`): the loader then has
//! no pointers of its own to relocate at each start.

use std::io::Read;

/// `e_type` of an ELF file: 2 is an executable, 3 a shared object (which a PIE is).
fn elf_type(path: &str) -> u16 {
    let mut header = [0u8; 18];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .unwrap_or_else(|e| panic!("reading {path}: {e}"));
    assert_eq!(&header[..4], b"\x7fELF", "{path} is not an ELF file");
    u16::from_le_bytes([header[16], header[17]])
}

#[test]
fn the_binary_is_not_position_independent() {
    assert_eq!(elf_type(env!("CARGO_BIN_EXE_berth-shim")), 2);
}
