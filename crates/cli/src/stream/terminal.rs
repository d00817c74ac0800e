//! The user's terminal: whether stdin/stdout are TTYs, the window size, and raw mode for
//! `-t` sessions (restored on drop, as docker's `SetRawTerminal`/`RestoreTerminal`).

use std::io::IsTerminal;
use std::os::fd::AsFd;

use nix::sys::termios::{self, SetArg, Termios};

/// Whether stdin is a terminal.
pub fn stdin_is_tty() -> bool {
    std::io::stdin().is_terminal()
}

/// Whether stdout is a terminal.
pub fn stdout_is_tty() -> bool {
    std::io::stdout().is_terminal()
}

/// Whether stderr is a terminal.
pub fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}

/// The size of the terminal on stdout as (rows, columns), or `(0, 0)` when stdout is not
/// a terminal (docker's `GetTtySize`).
pub fn stdout_size() -> (u16, u16) {
    let out = std::io::stdout();
    if !out.is_terminal() {
        return (0, 0);
    }
    match rustix::termios::tcgetwinsize(out.as_fd()) {
        Ok(ws) => (ws.ws_row, ws.ws_col),
        Err(_) => (0, 0),
    }
}

/// Raw mode on stdin while alive; the previous settings come back on drop.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Puts stdin in raw mode if it is a terminal and `NORAW` is unset; `None` otherwise.
    pub fn enable() -> std::io::Result<Option<RawMode>> {
        if !stdin_is_tty() || std::env::var_os("NORAW").is_some_and(|v| !v.is_empty()) {
            return Ok(None);
        }
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).map_err(std::io::Error::from)?;
        let mut raw = saved.clone();
        // cfmakeraw is what moby/term's MakeRaw amounts to: no echo, no line editing, no
        // signals from keys (the container's shell gets ^C), 8-bit bytes, no output
        // post-processing.
        termios::cfmakeraw(&mut raw);
        raw.control_chars[termios::SpecialCharacterIndices::VMIN as usize] = 1;
        raw.control_chars[termios::SpecialCharacterIndices::VTIME as usize] = 0;
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).map_err(std::io::Error::from)?;
        Ok(Some(RawMode { saved }))
    }

    /// Restores the saved settings now.
    pub fn restore(&self) {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        self.restore();
    }
}
