//! `berthd`: the daemon serving the Engine API on a unix socket.
fn main() {}
