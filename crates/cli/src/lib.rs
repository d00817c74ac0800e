//! The `berth` command line: Docker's commands, flags and output, speaking the Engine API
//! through `client`.

pub mod args;
pub mod error;
pub mod format;
pub mod opts;
pub mod stream;
