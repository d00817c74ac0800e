//! The daemon's services — containers, images, events — each owning its own state, and the
//! start-up reconciliation with running shims. No HTTP in here.
