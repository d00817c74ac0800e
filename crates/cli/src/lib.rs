//! The `berth` command line: Docker's commands, flags and output, speaking the Engine API
//! through `client`.
