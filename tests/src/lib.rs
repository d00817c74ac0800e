//! End-to-end test harness: a `Daemon` fixture that runs a real `berthd` on a temp socket,
//! data root, exec root and cgroup parent, and helpers that drive it with `berth` and the real
//! docker CLI. Every test gets its own daemon, so tests run in parallel.
//!
//! `rootfs` builds the offline busybox root filesystem every test image starts from;
//! `images` has the image tests' helpers (layered images, archives, the store's garbage).

pub mod build;
pub mod compare;
pub mod daemon;
pub mod images;
pub mod net;
pub mod netslot;
pub mod oci_layout;
pub mod poll;
pub mod registry;
pub mod rootfs;

pub use daemon::{bin, busybox_tar, Daemon};
pub mod pty;
