//! Serde types of the Docker Engine API: request and response bodies, query structs, version
//! constants, and the progress/stream message types. No I/O.
