//! `berth-registry`: an OCI distribution registry with auth, search and a web UI.
fn main() {}
