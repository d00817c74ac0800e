//! The `berth` command line: Docker's commands, flags and output, speaking the Engine API
//! through `client`.
//!
//! Modules: `app` (entry point, argument errors, exit statuses), `args` (clap syntax of every
//! command), `commands` (one module per command), `opts` (flags to API bodies), `format`
//! (Go templates, docker's tables and formatters, units, time), `stream` (terminal, stdin,
//! hijacked streams, signals), `config` (the docker CLI config file), `error`.

pub mod app;
pub mod args;
pub mod commands;
pub mod config;
pub mod credentials;
pub mod error;
pub mod format;
pub mod opts;
pub mod stream;

pub use app::main;
