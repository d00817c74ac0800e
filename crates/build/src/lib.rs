//! The builder: executes a parsed Dockerfile (the `dockerfile` crate) against a daemon that
//! implements [`Backend`] — stage graph, build arguments, per-step cache keys, RUN steps in
//! containers, COPY/ADD from the context with `.dockerignore`, and a commit of every step as
//! an image — with the classic builder's observable behaviour (`POST /build` output, history
//! entries, `---> Using cache`) and BuildKit's Dockerfile features (heredocs,
//! `RUN --mount`, `COPY --chmod/--link/--exclude/--parents`, parallel stages).
//!
//! Vocabulary: the **context** is the tree of files the client sent ([`context`]); a
//! **stage** starts at a FROM ([`stage`]); a **step** is one instruction, which ends in a
//! **commit** — a new image on top of the previous step's (the classic builder's
//! intermediate image), holding one more layer or none — unless its **cache key**
//! ([`cache`]) finds the image an identical earlier step made; the **run config** is the
//! container config the steps carry along (ENV, USER, WORKDIR …), the **container config** of
//! a step is the run config with the step's command (`/bin/sh -c #(nop) ENV …`), which the
//! history shows.
//!
//! Modules: [`context`] (receiving the tar, hashing, `.dockerignore`), [`plan`] (which stages
//! run, and in what order), [`driver`] (a whole build and its output), [`stage`] and
//! `dispatch` (the steps), [`fs`] (writing into a layer), [`args`], [`cache`],
//! [`options`], [`output`], [`backend`] (the seam to the engine), [`error`].
//!
//! ```no_run
//! # async fn f<B: build::Backend>(backend: B, tar: &[u8], dir: &std::path::Path) -> build::Result<()> {
//! let received = build::context::receive::receive(tar, dir, build::context::receive::Limits { max_bytes: 1 << 30 })?;
//! let ctx = build::Context::new(dir.to_path_buf(), received.index);
//! let prepared = build::prepare(backend, ctx, build::BuildOptions::default()).await?;
//! let (out, _rx) = build::Output::channel();
//! let result = prepared.run(&out).await?;
//! # Ok(()) }
//! ```

pub mod args;
pub mod backend;
pub mod cache;
pub mod context;
mod dispatch;
pub mod driver;
pub mod error;
pub mod fs;
mod golang;
pub mod options;
pub mod output;
pub mod plan;
pub mod stage;

pub use backend::{Backend, Commit, Download, Image, LayerChange, RunMount, RunSpec, Sharing};
pub use context::Context;
pub use dispatch::{exposed_ports, normalize_workdir, valid_signal};
pub use driver::{prepare, BuildResult, Prepared};
pub use error::{BackendError, ContextError, Error, ErrorKind, Result};
pub use options::{BuildOptions, Resources};
pub use output::Output;
