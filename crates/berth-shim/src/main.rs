//! `berth-shim`: one per running container; holds its stdio and log, serves attach, records
//! the exit status. Single-threaded, no async runtime.
fn main() {}
