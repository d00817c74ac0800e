//! End-to-end test harness: a `Daemon` fixture that runs a real `berthd` on a temp socket and
//! data root, and helpers that drive it with `berth` and the real docker CLI.
//!
//! `rootfs` builds the offline busybox root filesystem every test image starts from.

pub mod rootfs;
