//! The shim's event loop: one `poll(2)` over the control socket, the connections, the
//! container's output and the init's pidfd.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use api_types::stdcopy;
use runtime::logfile::{LogWriter, Stream};
use runtime::shim::{
    self, ExitRecord, Request, Response, ShimConfig, ShimState, Status, WireError,
};
use runtime::{cgroup, launcher, sys, ErrorKind};

use crate::stdio::{Output, ProcessIo};

/// An attacher more than this far behind is disconnected instead of stalling the container.
const MAX_PENDING: usize = 4 << 20;
/// Don't read more stdin from attachers while this much waits for the container.
const MAX_STDIN_PENDING: usize = 64 << 10;
/// How long to keep draining output after the init exited (orphans holding the pipes).
const DRAIN_GRACE: Duration = Duration::from_secs(2);
/// How long after create or start to trim memory: not on the way of the daemon's next request,
/// and not at all for a container that is over by then (the shim exits anyway).
const TRIM_DELAY: Duration = Duration::from_millis(20);

struct Attacher {
    sock: UnixStream,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    /// Still reading the client's bytes (false after its EOF or without stdin).
    reading: bool,
    out: Vec<u8>,
}

enum Slot {
    Listener,
    Pidfd,
    Output(Output),
    StdinTarget,
    Attacher(usize),
    Exec(crate::exec::ExecSlot),
}

pub struct Shim {
    state_dir: PathBuf,
    cfg: ShimConfig,
    listener: UnixListener,
    /// The container's init pid (our child).
    pid: i32,
    /// libcontainer's state root.
    root: PathBuf,
    pidfd: OwnedFd,
    status: Status,
    io: ProcessIo,
    stdin_once_used: bool,
    log: Option<LogWriter>,
    attachers: Vec<Attacher>,
    waiters: Vec<UnixStream>,
    exit: Option<(i32, SystemTime, Instant)>,
    execs: crate::exec::Execs,
    /// When to unmap the code that creating or starting the container ran (see `trim_memory`),
    /// unless the container has exited by then.
    trim_at: Option<Instant>,
    /// While the container is created and not started: when to give up waiting for `start`
    /// (the daemon died between the two) and kill it.
    start_by: Option<Instant>,
}

/// A `poll` timeout in ms (-1: none) shortened to wake up at `at`, if given.
fn sooner(timeout: i32, at: Option<Instant>) -> i32 {
    let Some(at) = at else { return timeout };
    let t = at.saturating_duration_since(Instant::now()).as_millis() as i32 + 1;
    if timeout < 0 || t < timeout {
        t
    } else {
        timeout
    }
}

fn werr(message: impl Into<String>, kind: ErrorKind) -> WireError {
    WireError {
        message: message.into(),
        kind: kind.into(),
    }
}

impl Shim {
    /// Creates the container (not started) and sets up its stdio.
    pub fn create(
        state_dir: &Path,
        cfg: ShimConfig,
        listener: UnixListener,
    ) -> Result<Shim, WireError> {
        let plan = crate::plan_stdio(state_dir, &cfg).map_err(|m| werr(m, ErrorKind::Internal))?;
        let log = match &cfg.log {
            Some(l) => Some(
                LogWriter::open(l.clone()).map_err(|e| werr(e.to_string(), ErrorKind::Internal))?,
            ),
            None => None,
        };
        let start_limit = cfg
            .start_limit_ms
            .map_or(shim::START_LIMIT, Duration::from_millis);
        let launched = crate::create_container(state_dir, &cfg, plan.launch)?;
        let pid = launched.pid();
        let mut master = None;
        if let Some(console) = plan.console {
            let (conn, _) = console
                .accept()
                .map_err(|e| werr(format!("console socket: {e}"), ErrorKind::Internal))?;
            let fd = sys::recv_fd(&conn).map_err(|e| werr(e.to_string(), ErrorKind::Internal))?;
            let _ = std::fs::remove_file(state_dir.join(shim::CONSOLE_SOCKET_FILE));
            if let Some(size) = cfg.console_size {
                let _ = sys::set_winsize(fd.as_fd(), size.width, size.height);
            }
            master = Some(fd);
        }
        let pidfd = sys::pidfd_open(pid).map_err(|e| werr(e.to_string(), ErrorKind::Internal))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| werr(e.to_string(), ErrorKind::Internal))?;
        Ok(Shim {
            state_dir: state_dir.to_owned(),
            cfg,
            listener,
            pid,
            root: state_dir.to_owned(),
            pidfd,
            status: Status::Created,
            io: ProcessIo::new(master, plan.stdin, plan.stdout, plan.stderr),
            stdin_once_used: false,
            log,
            attachers: Vec::new(),
            waiters: Vec::new(),
            exit: None,
            execs: Default::default(),
            trim_at: Some(Instant::now() + TRIM_DELAY),
            start_by: Some(Instant::now() + start_limit),
        })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Serves until the container exited and everything is cleaned up; then exits the process.
    pub fn run(mut self) -> ! {
        loop {
            if let Some((_, _, at)) = self.exit {
                if !self.io.outputs_open() || at.elapsed() >= DRAIN_GRACE {
                    self.finish();
                }
            }
            let timeout = match self.exit {
                Some((_, _, at)) => DRAIN_GRACE.saturating_sub(at.elapsed()).as_millis() as i32 + 1,
                None => -1,
            };
            let timeout = match self.execs.timeout() {
                Some(t) if timeout < 0 || t < timeout => t,
                _ => timeout,
            };
            let timeout = sooner(timeout, self.trim_at);
            let timeout = sooner(timeout, self.start_by);
            self.poll_once(timeout);
            self.execs.complete();
            self.trim_when_due();
            self.give_up_start_when_due();
        }
    }

    /// A container still created when its start limit passes is killed: no daemon is coming
    /// to start it, and nothing of it may be left waiting forever. Its exit (137) is recorded
    /// as any other, and the shim cleans up and exits.
    fn give_up_start_when_due(&mut self) {
        match self.start_by {
            Some(_) if self.status != Status::Created || self.exit.is_some() => {
                self.start_by = None
            }
            Some(at) if Instant::now() >= at => {
                self.start_by = None;
                eprintln!("berth-shim: no start within the limit: killing the created container");
                let _ = sys::pidfd_send_signal(self.pidfd.as_fd(), libc::SIGKILL);
            }
            _ => {}
        }
    }

    fn trim_when_due(&mut self) {
        match self.trim_at {
            Some(_) if self.exit.is_some() => self.trim_at = None,
            Some(at) if Instant::now() >= at => {
                self.trim_at = None;
                trim_memory();
            }
            _ => {}
        }
    }

    fn poll_once(&mut self, timeout: i32) {
        let mut slots = Vec::new();
        let mut fds: Vec<(BorrowedFd<'_>, bool, bool)> = Vec::new();
        fds.push((self.listener.as_fd(), true, false));
        slots.push(Slot::Listener);
        if self.exit.is_none() {
            fds.push((self.pidfd.as_fd(), true, false));
            slots.push(Slot::Pidfd);
        }
        for (fd, which) in self.io.outputs() {
            fds.push((fd, true, false));
            slots.push(Slot::Output(which));
        }
        if !self.io.stdin_pending.is_empty() {
            if let Some(fd) = self.io.stdin_target() {
                fds.push((fd, false, true));
                slots.push(Slot::StdinTarget);
            }
        }
        let stdin_room = self.io.stdin_pending.len() < MAX_STDIN_PENDING;
        for (i, a) in self.attachers.iter().enumerate() {
            let read = a.reading && stdin_room;
            if read || !a.out.is_empty() {
                fds.push((a.sock.as_fd(), read, !a.out.is_empty()));
                slots.push(Slot::Attacher(i));
            }
        }
        let mut exec_slots = Vec::new();
        self.execs.register(&mut fds, &mut exec_slots);
        slots.extend(exec_slots.into_iter().map(Slot::Exec));
        let ready = match sys::poll(&fds, timeout) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("berth-shim: {e}");
                return;
            }
        };
        drop(fds);
        let mut attacher_events = Vec::new();
        let mut exec_events = Vec::new();
        for (slot, r) in slots.into_iter().zip(ready) {
            match slot {
                Slot::Listener if r.readable => self.accept_all(),
                Slot::Pidfd if r.readable => self.reap(),
                Slot::Output(which) if r.readable => self.read_output(which),
                Slot::StdinTarget if r.writable => self.io.flush_stdin(),
                Slot::Attacher(i) if r.readable || r.writable => attacher_events.push((i, r)),
                Slot::Exec(e) => exec_events.push((e, r)),
                _ => {}
            }
        }
        for (e, r) in exec_events {
            self.execs.handle(e, r);
        }
        // Highest index first so removals don't shift the ones still to handle.
        for (i, r) in attacher_events.into_iter().rev() {
            if i >= self.attachers.len() {
                continue;
            }
            let mut keep = true;
            if r.writable {
                keep = self.flush_attacher(i);
            }
            if keep && r.readable {
                self.read_attacher(i);
            } else if !keep {
                self.attachers.swap_remove(i);
            }
        }
    }

    fn reap(&mut self) {
        match sys::try_reap(self.pid) {
            Ok(Some(code)) => {
                self.status = Status::Exited;
                self.exit = Some((code, SystemTime::now(), Instant::now()));
                self.io.drop_stdin();
            }
            Ok(None) => {}
            Err(e) => eprintln!("berth-shim: {e}"),
        }
    }

    fn read_output(&mut self, which: Output) {
        let mut buf = [0u8; 32 * 1024];
        let Some(n) = self.io.read(which, &mut buf) else {
            return;
        };
        let data = &buf[..n];
        let stream = if matches!(which, Output::Stderr) {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        if let Some(log) = self.log.as_mut() {
            if let Err(e) = log.write(stream, data) {
                eprintln!("berth-shim: {e}");
            }
        }
        let tty = self.cfg.tty;
        self.attachers.retain_mut(|a| {
            let wanted = match stream {
                Stream::Stdout => a.stdout,
                Stream::Stderr => a.stderr,
            };
            if !wanted {
                return true;
            }
            if !tty {
                let id = if stream == Stream::Stdout {
                    stdcopy::STDOUT
                } else {
                    stdcopy::STDERR
                };
                a.out.extend_from_slice(&stdcopy::header(id, data.len()));
            }
            a.out.extend_from_slice(data);
            a.out.len() <= MAX_PENDING
        });
    }

    /// Writes what is pending to an attacher; false when it is gone.
    fn flush_attacher(&mut self, i: usize) -> bool {
        let a = &mut self.attachers[i];
        match sys::write_nb(a.sock.as_fd(), &a.out) {
            Ok(Some(n)) => {
                a.out.drain(..n);
                true
            }
            Ok(None) => true,
            Err(_) => false,
        }
    }

    fn read_attacher(&mut self, i: usize) {
        let mut buf = [0u8; 16 * 1024];
        let a = &mut self.attachers[i];
        match sys::read_nb(a.sock.as_fd(), &mut buf) {
            Ok(Some(0)) | Err(_) => {
                a.reading = false;
                if a.stdin {
                    self.attacher_stdin_closed();
                }
            }
            Ok(Some(n)) => {
                if a.stdin && self.exit.is_none() {
                    self.io.feed_stdin(&buf[..n]);
                }
            }
            Ok(None) => {}
        }
    }

    /// StdinOnce: the first attacher to end its stdin closes the container's (pipes only: a
    /// pty has no separate stdin to close).
    fn attacher_stdin_closed(&mut self) {
        if self.cfg.stdin_once && !self.stdin_once_used {
            self.stdin_once_used = true;
            self.io.close_stdin();
        }
    }

    fn accept_all(&mut self) {
        // Bounded: at most 64 connections per wake-up, the rest wait for the next poll.
        for _ in 0..64 {
            match self.listener.accept() {
                Ok((conn, _)) => self.handle(conn),
                Err(_) => return,
            }
        }
    }

    /// Reads one request line (blocking, with a timeout: the daemon sends it at once).
    fn handle(&mut self, mut conn: UnixStream) {
        let _ = conn.set_nonblocking(false);
        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
        let mut line = Vec::with_capacity(128);
        let mut extra = Vec::new();
        let mut buf = [0u8; 4096];
        while !line.contains(&b'\n') && line.len() < 64 * 1024 {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => line.extend_from_slice(&buf[..n]),
            }
        }
        if let Some(nl) = line.iter().position(|&b| b == b'\n') {
            extra = line.split_off(nl + 1);
        }
        let reply = match serde_json::from_slice::<Request>(&line) {
            Ok(req) => self.dispatch(req, conn, extra),
            Err(e) => Some((
                conn,
                Response::error(format!("bad request: {e}"), ErrorKind::InvalidArgument),
            )),
        };
        if let Some((mut conn, resp)) = reply {
            let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
            let _ = send_line(&mut conn, &resp);
        }
    }

    /// Runs one request; returns the connection and its reply unless the connection was kept.
    fn dispatch(
        &mut self,
        req: Request,
        conn: UnixStream,
        extra: Vec<u8>,
    ) -> Option<(UnixStream, Response)> {
        let ok = Response::default();
        let resp = match req {
            Request::State => Response {
                state: Some(ShimState {
                    status: self.status,
                    pid: self.pid,
                    shim_pid: std::process::id() as i32,
                }),
                ..ok
            },
            Request::Start => self.start(),
            Request::Kill { signal } => match self.exit {
                Some(_) => Response::error("container is not running", ErrorKind::Conflict),
                None => match sys::pidfd_send_signal(self.pidfd.as_fd(), signal) {
                    Ok(()) => ok,
                    Err(e) => Response::error(e.to_string(), ErrorKind::Internal),
                },
            },
            Request::Resize { width, height } => match &self.io.master {
                Some(m) => match sys::set_winsize(m.as_fd(), width, height) {
                    Ok(()) => ok,
                    Err(e) => Response::error(e.to_string(), ErrorKind::Internal),
                },
                None if self.cfg.tty => ok,
                None => Response::error("the container has no TTY", ErrorKind::Conflict),
            },
            Request::CloseStdin => {
                self.io.close_stdin();
                ok
            }
            Request::Exec {
                exec_id,
                process,
                stdin,
                stdout,
                stderr,
            } => {
                if self.status != Status::Running || self.exit.is_some() {
                    Response::error("container is not running", ErrorKind::Conflict)
                } else {
                    let ctx = crate::exec::Context {
                        id: &self.cfg.id,
                        init_pid: self.pid,
                        root: &self.root,
                        bundle: &self.cfg.bundle,
                        state_dir: &self.state_dir,
                        runtime: self.cfg.runtime.as_ref(),
                    };
                    let streams = [stdin, stdout, stderr];
                    return self
                        .execs
                        .start(&ctx, exec_id, process, streams, conn, extra);
                }
            }
            Request::ExecResize {
                exec_id,
                width,
                height,
            } => self.execs.resize(&exec_id, width, height),
            Request::ExecWait { exec_id } => return self.execs.wait(exec_id, conn),
            Request::ExecKill { exec_id, signal } => self.execs.kill(&exec_id, signal),
            Request::Wait => {
                // Answered in `finish` (the exit record exists only once cleanup is done).
                self.waiters.push(conn);
                return None;
            }
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => {
                let mut conn = conn;
                if send_line(&mut conn, &ok).is_err() {
                    return None;
                }
                let _ = conn.set_nonblocking(true);
                let stdin = stdin && self.io.stdin_target().is_some();
                let mut a = Attacher {
                    sock: conn,
                    stdin,
                    stdout,
                    stderr,
                    reading: true,
                    out: Vec::new(),
                };
                if stdin && !extra.is_empty() && self.exit.is_none() {
                    self.io.stdin_pending.extend_from_slice(&extra);
                }
                if self.exit.is_some() && !self.io.outputs_open() {
                    a.reading = false;
                }
                self.attachers.push(a);
                return None;
            }
        };
        Some((conn, resp))
    }

    fn start(&mut self) -> Response {
        match self.status {
            Status::Created => match crate::start_container(&self.cfg, &self.root) {
                Ok(()) => {
                    self.status = Status::Running;
                    self.trim_at = Some(Instant::now() + TRIM_DELAY);
                    Response::default()
                }
                Err(e) => Response::error(e.to_string(), e.kind()),
            },
            Status::Running => Response::error("container is already running", ErrorKind::Conflict),
            Status::Exited => Response::error("container has exited", ErrorKind::Conflict),
        }
    }

    /// After exit and drain: log, OOM, exit record, attachers, waiters; then the cleanup
    /// (libcontainer state, cgroup) that `shim.lock` makes the next user of the state dir wait
    /// for; then exit.
    fn finish(&mut self) -> ! {
        let (code, at, _) = self
            .exit
            .unwrap_or((255, SystemTime::now(), Instant::now()));
        if let Some(log) = self.log.as_mut() {
            let _ = log.flush_partial();
        }
        let oom_killed = cgroup::oom_kill_count(&self.cfg.cgroups_path).is_some_and(|n| n > 0);
        self.execs.finish_all();
        let rec = ExitRecord {
            exit_code: code,
            oom_killed,
            exited_at: api_types::time::format_rfc3339_nano(at),
            pid: self.pid,
        };
        // A connected waiter (the daemon's monitor) persists the exit itself before anyone
        // hears of it; only an exit nobody waits for needs the fsync.
        let durable = self.waiters.is_empty();
        if let Err(e) = shim::write_exit_record(&self.state_dir, &rec, durable) {
            eprintln!("berth-shim: write exit record: {e}");
        }
        // From here on, new clients find no socket and read the exit record instead.
        let _ = std::fs::remove_file(self.state_dir.join(shim::SOCKET_FILE));
        // Attach streams end (after their last output) before waiters hear of the exit, so a
        // client that reads both never misses output.
        for mut a in self.attachers.drain(..) {
            let _ = a.sock.set_nonblocking(false);
            let _ = a.sock.set_write_timeout(Some(Duration::from_secs(2)));
            let _ = a.sock.write_all(&a.out);
            let _ = a.sock.shutdown(std::net::Shutdown::Both);
        }
        let resp = Response {
            exit: Some(rec),
            ..Response::default()
        };
        for mut w in self.waiters.drain(..) {
            let _ = w.set_write_timeout(Some(Duration::from_secs(2)));
            let _ = send_line(&mut w, &resp);
        }
        // The exit is known; what is left is cleanup, off the waiters' critical path.
        let deleted = match &self.cfg.runtime {
            Some(_) => {
                let deleted = crate::delete_container(&self.cfg, &self.root);
                // An external runtime may leave the cgroup (or some hierarchies of it) behind.
                let _ = cgroup::remove(&self.cfg.cgroups_path);
                deleted
            }
            // Removes the cgroup too.
            None => launcher::delete_exited(&self.cfg.id, &self.root, &self.cfg.cgroups_path),
        };
        if let Err(e) = deleted {
            eprintln!("berth-shim: {e}");
        }
        std::process::exit(0)
    }
}

fn send_line(conn: &mut UnixStream, resp: &Response) -> std::io::Result<()> {
    let mut data = serde_json::to_vec(resp).map_err(std::io::Error::other)?;
    data.push(b'\n');
    conn.write_all(&data)
}

/// Unmaps the code that creating or starting the container ran (see
/// `runtime::sys::trim_file_mappings`): the shim idles for the container's life.
pub fn trim_memory() {
    if let Err(e) = sys::trim_file_mappings() {
        eprintln!("berth-shim: {e}");
    }
}
