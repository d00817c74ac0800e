//! The registry server's library: the OCI distribution API (spec v1.1), storage drivers, auth, the
//! search index and the web UI behind `berth-registry`.
//!
//! Vocabulary:
//! - a **repository** (or *name*) is a path like `library/busybox`, validated by [`name`];
//! - a **blob** is content addressed by a [`digest::Digest`]; blobs are stored once and shared by
//!   every repository that **links** them (a link is what gives a repository access to a blob);
//! - a **manifest** is a blob that a repository links as a *revision*; a **tag** names one revision;
//!   a **subject** is the manifest another manifest refers to, and the **referrers** of a subject
//!   are the manifests naming it;
//! - an **upload** is a resumable blob-upload session, kept on disk so it survives a restart;
//! - a **driver** ([`storage::StorageDriver`]) is the byte store below all of that (the
//!   filesystem today); the [`store::Store`] fixes the layout of repositories on top of it.
//!
//! Modules: [`api`] (HTTP routes of `/v2/` and `/v1/search`), [`auth`] (htpasswd, bearer tokens,
//! per-repository access rules), [`index`] (search and pull counts), [`ui`] (the server-rendered
//! web pages), [`gc`] and [`fsck`] (offline maintenance), [`config`] and [`server`] (the listener,
//! TLS and graceful shutdown).

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod config;
pub mod digest;
pub mod fsck;
pub mod gc;
pub mod index;
pub mod manifest;
pub mod media;
pub mod name;
pub mod server;
pub mod storage;
pub mod store;
pub mod ui;

pub use config::Config;
pub use digest::Digest;
pub use server::{serve, spawn, Registry, Running};

/// What kind of failure an error is (shared with every berth crate). The API layer maps kinds
/// and the spec's error codes to HTTP statuses.
pub use errdefs::ErrorKind;
