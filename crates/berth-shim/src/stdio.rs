//! The shim's ends of one process's stdio — the container's init or an exec: a pty master, or
//! pipes for stdin, stdout and stderr — and the bytes queued for its stdin. The init's server
//! and the exec sessions read and write through it alike.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use runtime::sys;

/// Which output fd an event belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Master,
    Stdout,
    Stderr,
}

pub struct ProcessIo {
    /// The pty master (with a TTY): both the output and the stdin target.
    pub master: Option<OwnedFd>,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// Client bytes the process has not taken yet.
    pub stdin_pending: Vec<u8>,
    /// Close stdin once `stdin_pending` is written (the client's input ended).
    close_stdin_when_flushed: bool,
}

impl ProcessIo {
    /// Takes the shim's ends, made non-blocking (the shim polls them all from one thread).
    pub fn new(
        master: Option<OwnedFd>,
        stdin: Option<OwnedFd>,
        stdout: Option<OwnedFd>,
        stderr: Option<OwnedFd>,
    ) -> ProcessIo {
        for fd in [&master, &stdin, &stdout, &stderr].into_iter().flatten() {
            let _ = sys::set_nonblocking(fd.as_fd());
        }
        ProcessIo {
            master,
            stdin,
            stdout,
            stderr,
            stdin_pending: Vec::new(),
            close_stdin_when_flushed: false,
        }
    }

    pub fn outputs_open(&self) -> bool {
        self.master.is_some() || self.stdout.is_some() || self.stderr.is_some()
    }

    /// The open output fds, to poll for reading.
    pub fn outputs(&self) -> impl Iterator<Item = (BorrowedFd<'_>, Output)> {
        [
            (&self.master, Output::Master),
            (&self.stdout, Output::Stdout),
            (&self.stderr, Output::Stderr),
        ]
        .into_iter()
        .filter_map(|(fd, which)| fd.as_ref().map(|fd| (fd.as_fd(), which)))
    }

    pub fn close_outputs(&mut self) {
        self.master = None;
        self.stdout = None;
        self.stderr = None;
    }

    fn output(&mut self, which: Output) -> &mut Option<OwnedFd> {
        match which {
            Output::Master => &mut self.master,
            Output::Stdout => &mut self.stdout,
            Output::Stderr => &mut self.stderr,
        }
    }

    /// Reads what `which` has ready into `buf`: the byte count, or `None` when nothing is
    /// ready or the stream ended (it is then closed).
    pub fn read(&mut self, which: Output, buf: &mut [u8]) -> Option<usize> {
        let slot = self.output(which);
        let fd = slot.as_ref()?;
        match sys::read_nb(fd.as_fd(), buf) {
            // EOF, or EIO on a pty master once every slave is closed.
            Ok(Some(0)) | Err(_) => {
                *slot = None;
                None
            }
            Ok(None) => None,
            Ok(Some(n)) => Some(n),
        }
    }

    /// Where stdin bytes go: the pty master, or the stdin pipe.
    pub fn stdin_target(&self) -> Option<BorrowedFd<'_>> {
        self.master
            .as_ref()
            .or(self.stdin.as_ref())
            .map(|f| f.as_fd())
    }

    /// Queues client bytes for stdin and writes what the process takes now.
    pub fn feed_stdin(&mut self, data: &[u8]) {
        self.stdin_pending.extend_from_slice(data);
        self.flush_stdin();
    }

    /// Writes what the process takes of the queued stdin bytes.
    pub fn flush_stdin(&mut self) {
        let Some(fd) = self.stdin_target() else {
            self.stdin_pending.clear();
            return;
        };
        match sys::write_nb(fd, &self.stdin_pending) {
            Ok(Some(n)) => {
                self.stdin_pending.drain(..n);
            }
            Ok(None) => {}
            Err(_) => {
                // The process closed its stdin: drop what it will never read.
                self.stdin_pending.clear();
                self.stdin = None;
            }
        }
        if self.stdin_pending.is_empty() && self.close_stdin_when_flushed {
            self.stdin = None;
        }
    }

    /// The client's input ended: the process gets EOF once what is queued is written.
    pub fn close_stdin(&mut self) {
        if self.stdin_pending.is_empty() {
            self.stdin = None;
        } else {
            self.close_stdin_when_flushed = true;
        }
    }

    /// The process is gone: nobody reads stdin any more.
    pub fn drop_stdin(&mut self) {
        self.stdin = None;
        self.stdin_pending.clear();
    }
}
