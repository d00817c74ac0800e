//! Interactive I/O with a container: the user's terminal (raw mode, size), stdin on its own
//! thread, the hijacked-stream copier with detach keys, signal forwarding and TTY resizing.

pub mod escape;
pub mod hijack;
pub mod signals;
pub mod stdin;
pub mod terminal;
