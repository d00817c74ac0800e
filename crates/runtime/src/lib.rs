//! Turns a container's config into a running process: OCI runtime spec generation with
//! Docker's defaults, the libcontainer launcher used by `berth-shim`, and the shim protocol.
//! All `unsafe` and raw syscalls live in `runtime::sys`.
