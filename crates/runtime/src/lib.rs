//! Turns a container's config into a running process.
//!
//! Vocabulary:
//! - a **container spec** ([`spec::ContainerSpec`]) is what the engine knows about a container
//!   (args, env, user, limits, security options); [`spec::build`] turns it into an OCI runtime
//!   **spec** (`config.json`) with Docker's defaults;
//! - a **bundle** is a directory holding that `config.json` ([`spec::write_bundle`]);
//! - the **shim** (`berth-shim`) is one small process per container that creates the container
//!   from the bundle through youki's `libcontainer` ([`launcher`], feature `launcher`), holds its
//!   stdio, writes its **json-file log** ([`logfile`]), serves **attach**, and records the
//!   **exit record**. [`shim`] defines the protocol and, with feature `client`, the daemon's
//!   async client;
//! - the **state dir** of a shim is `<exec-root>/shims/<id>/`: its socket, pid, exit record;
//! - an **exec** is a further process run in a running container's namespaces and cgroup
//!   (`docker exec`): [`spec::exec`] builds its process, `launcher::exec` starts it, and the
//!   shim serves its stream and exit code.
//!
//! All `unsafe` and raw syscalls of the runtime live in [`sys`].

pub mod cgroup;
pub mod freezer;
#[cfg(feature = "launcher")]
pub mod launcher;
pub mod logfile;
pub mod shim;
pub mod spec;
pub mod sys;

/// What kind of failure an error is (the one `errdefs` vocabulary).
pub use errdefs::ErrorKind;
