//! Raw bytes as a layer tar: the applier must never panic, and never write outside its target.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::Sandbox::new().apply_and_check(data);
});
