//! Execs: processes started in the running container (`docker exec`). Each one is a child of
//! the shim (libcontainer's tenant path, see `runtime::launcher::exec`); the shim holds its
//! pty master or pipes, serves its one stream, resizes its TTY, reaps it through a pidfd and
//! tells `exec-wait` its exit code. None of it touches the container's own stdio or log.

use std::collections::VecDeque;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use api_types::stdcopy;
use runtime::launcher::{self, Stdio};
use runtime::shim::{ExecReply, Response};
use runtime::sys::{self, PollReady};
use runtime::ErrorKind;

use crate::stdio::{Output, ProcessIo};

/// An exec's client may fall this far behind before the exec's output stops being read (the
/// process then blocks on its writes instead of losing output).
const CLIENT_HIGH_WATER: usize = 1 << 20;
/// Don't read more stdin from the client while this much waits for the process.
const MAX_STDIN_PENDING: usize = 64 << 10;
/// How long to keep draining output after the exec exited (orphans holding its pipes).
const DRAIN_GRACE: Duration = Duration::from_secs(2);
/// How long an exited exec's client may take to read the rest of its output.
const CLIENT_GRACE: Duration = Duration::from_secs(8);
/// Exit codes kept for a daemon that has not asked for them yet.
const MAX_FINISHED: usize = 256;

/// An exec's fd in the shim's poll set: (session index, which fd).
#[derive(Clone, Copy)]
pub enum ExecSlot {
    Pidfd(usize),
    Output(usize, Output),
    Stdin(usize),
    Client(usize),
}

/// The container an exec runs in.
pub struct Context<'a> {
    pub id: &'a str,
    /// The container's init (a child of the shim too).
    pub init_pid: i32,
    pub root: &'a Path,
    pub bundle: &'a Path,
    pub state_dir: &'a Path,
    /// The external runtime the container runs under (`None`: libcontainer).
    pub runtime: Option<&'a runtime::shim::OciRuntime>,
}

struct Client {
    sock: UnixStream,
    /// The client's bytes go to the exec's stdin.
    stdin: bool,
    /// Still reading the client (false after its EOF, or without stdin).
    reading: bool,
    out: Vec<u8>,
}

struct Session {
    id: String,
    pid: i32,
    pidfd: OwnedFd,
    tty: bool,
    io: ProcessIo,
    client: Option<Client>,
    exit: Option<(i32, Instant)>,
}

/// The execs of one container.
#[derive(Default)]
pub struct Execs {
    sessions: Vec<Session>,
    /// Exit codes not yet claimed by `exec-wait`: (id, pid, code).
    finished: VecDeque<(String, i32, i32)>,
    /// `exec-wait` connections, by exec id.
    waiters: Vec<(String, UnixStream)>,
    /// The container's seccomp filter, compiled by the first exec.
    seccomp: launcher::SeccompCache,
}

fn reply(pid: i32, exit_code: Option<i32>) -> Response {
    Response {
        exec: Some(ExecReply { pid, exit_code }),
        ..Response::default()
    }
}

/// The exec's side and the shim's side of its stdio.
struct Plan {
    launch: Stdio,
    console: Option<(UnixListener, std::path::PathBuf)>,
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
}

fn plan(state_dir: &Path, exec_id: &str, tty: bool, streams: [bool; 3]) -> Result<Plan, String> {
    if tty {
        let name = format!("exec-{}.sock", &exec_id[..exec_id.len().min(12)]);
        let path = state_dir.join(&name);
        let _ = std::fs::remove_file(&path);
        let (short, _dir) = sys::socket_path(state_dir, &name)
            .map_err(|e| format!("open {}: {e}", state_dir.display()))?;
        let l = UnixListener::bind(&short).map_err(|e| format!("bind {}: {e}", path.display()))?;
        return Ok(Plan {
            launch: Stdio::Console {
                socket: path.clone(),
            },
            console: Some((l, path)),
            stdin: None,
            stdout: None,
            stderr: None,
        });
    }
    let null = |write: bool| -> Result<OwnedFd, String> {
        std::fs::OpenOptions::new()
            .read(!write)
            .write(write)
            .open("/dev/null")
            .map(OwnedFd::from)
            .map_err(|e| format!("open /dev/null: {e}"))
    };
    let (in_r, in_w) = if streams[0] {
        let (r, w) = sys::pipe().map_err(|e| e.to_string())?;
        (r, Some(w))
    } else {
        (null(false)?, None)
    };
    let mut out = [None, None];
    let mut ours = [None, None];
    for (i, wanted) in [streams[1], streams[2]].into_iter().enumerate() {
        if wanted {
            let (r, w) = sys::pipe().map_err(|e| e.to_string())?;
            out[i] = Some(w);
            ours[i] = Some(r);
        } else {
            out[i] = Some(null(true)?);
        }
    }
    let [Some(o), Some(e)] = out else {
        unreachable!("both set above")
    };
    let [our_out, our_err] = ours;
    Ok(Plan {
        launch: Stdio::Pipes {
            stdin: in_r,
            stdout: o,
            stderr: e,
        },
        console: None,
        stdin: in_w,
        stdout: our_out,
        stderr: our_err,
    })
}

impl Execs {
    /// Starts an exec. Returns the connection and its reply unless the connection became the
    /// exec's stream (the reply then went out already).
    pub fn start(
        &mut self,
        ctx: &Context<'_>,
        exec_id: String,
        process: serde_json::Value,
        streams: [bool; 3],
        mut conn: UnixStream,
        extra: Vec<u8>,
    ) -> Option<(UnixStream, Response)> {
        if self.sessions.iter().any(|s| s.id == exec_id)
            || self.finished.iter().any(|f| f.0 == exec_id)
        {
            return Some((
                conn,
                Response::error(
                    format!("exec {exec_id} already exists"),
                    ErrorKind::Conflict,
                ),
            ));
        }
        let tty = process.get("terminal") == Some(&serde_json::Value::Bool(true));
        let plan = match plan(ctx.state_dir, &exec_id, tty, streams) {
            Ok(p) => p,
            Err(m) => return Some((conn, Response::error(m, ErrorKind::Internal))),
        };
        let process_file = ctx.state_dir.join(format!("exec-{exec_id}.json"));
        // The exec's process must start with SIGPIPE's default disposition (see create).
        let _ = sys::set_sigpipe_ignored(false);
        let res = match ctx.runtime {
            Some(rt) => {
                launcher::oci::exec(rt, ctx.id, ctx.root, &process, &process_file, plan.launch)
            }
            None => launcher::exec(launcher::ExecLaunch {
                id: ctx.id,
                root: ctx.root,
                bundle: ctx.bundle,
                init_pid: ctx.init_pid,
                process,
                process_file: &process_file,
                stdio: plan.launch,
                seccomp: &mut self.seccomp,
            }),
        };
        let _ = sys::set_sigpipe_ignored(true);
        let console_path = plan.console.as_ref().map(|c| c.1.clone());
        let result = res
            .map_err(|e| Response::error(e.to_string(), e.kind()))
            .and_then(|pid| {
                let master = match &plan.console {
                    Some((l, _)) => Some(
                        l.accept()
                            .map_err(|e| e.to_string())
                            .and_then(|(c, _)| sys::recv_fd(&c).map_err(|e| e.to_string()))
                            .map_err(|m| {
                                Response::error(format!("exec console: {m}"), ErrorKind::Internal)
                            })?,
                    ),
                    None => None,
                };
                let pidfd = sys::pidfd_open(pid)
                    .map_err(|e| Response::error(e.to_string(), ErrorKind::Internal))?;
                Ok((pid, master, pidfd))
            });
        if let Some(p) = console_path {
            let _ = std::fs::remove_file(p);
        }
        let (pid, master, pidfd) = match result {
            Ok(v) => v,
            Err(resp) => {
                // A failed start leaves libcontainer's processes behind as our children.
                let mut keep: Vec<i32> = self.sessions.iter().map(|s| s.pid).collect();
                keep.push(ctx.init_pid);
                sys::reap_strays(&keep, Duration::from_secs(1));
                crate::server::trim_memory();
                sys::trim_heap();
                return Some((conn, resp));
            }
        };
        if send_line(&mut conn, &reply(pid, None)).is_err() {
            // The daemon went away; the exec runs on, unattached.
        }
        let any_stream = streams.iter().any(|s| *s);
        let client = any_stream.then(|| {
            let _ = conn.set_nonblocking(true);
            let stdin = streams[0];
            Client {
                sock: conn,
                stdin,
                reading: stdin,
                out: Vec::new(),
            }
        });
        let mut s = Session {
            id: exec_id,
            pid,
            pidfd,
            tty,
            io: ProcessIo::new(master, plan.stdin, plan.stdout, plan.stderr),
            client,
            exit: None,
        };
        if streams[0] && !extra.is_empty() {
            s.io.feed_stdin(&extra);
        }
        self.sessions.push(s);
        // Shed what starting it touched (libcontainer's code, the parsed spec): the shim
        // idles for the container's life.
        crate::server::trim_memory();
        sys::trim_heap();
        None
    }

    /// `exec-resize`.
    pub fn resize(&self, exec_id: &str, width: u16, height: u16) -> Response {
        match self.sessions.iter().find(|s| s.id == exec_id) {
            Some(Session {
                io: ProcessIo {
                    master: Some(m), ..
                },
                ..
            }) => match sys::set_winsize(m.as_fd(), width, height) {
                Ok(()) => Response::default(),
                Err(e) => Response::error(e.to_string(), ErrorKind::Internal),
            },
            Some(s) if s.tty => Response::default(),
            Some(_) => Response::error("the exec has no TTY", ErrorKind::Conflict),
            // Exited already: nothing to resize.
            None if self.finished.iter().any(|f| f.0 == exec_id) => Response::default(),
            None => Response::error(format!("no such exec: {exec_id}"), ErrorKind::NotFound),
        }
    }

    /// `exec-kill`: signals a running exec through its pidfd (never a recycled pid).
    pub fn kill(&self, exec_id: &str, signal: i32) -> Response {
        match self.sessions.iter().find(|s| s.id == exec_id) {
            Some(s) if s.exit.is_none() => match sys::pidfd_send_signal(s.pidfd.as_fd(), signal) {
                Ok(()) => Response::default(),
                Err(e) => Response::error(e.to_string(), ErrorKind::Internal),
            },
            Some(_) => Response::error(format!("exec {exec_id} has exited"), ErrorKind::Conflict),
            None if self.finished.iter().any(|f| f.0 == exec_id) => {
                Response::error(format!("exec {exec_id} has exited"), ErrorKind::Conflict)
            }
            None => Response::error(format!("no such exec: {exec_id}"), ErrorKind::NotFound),
        }
    }

    /// `exec-wait`: answered now if the exec exited, else when it does.
    pub fn wait(&mut self, exec_id: String, conn: UnixStream) -> Option<(UnixStream, Response)> {
        if let Some(i) = self.finished.iter().position(|f| f.0 == exec_id) {
            let (_, pid, code) = self.finished.remove(i).expect("index from position");
            return Some((conn, reply(pid, Some(code))));
        }
        if let Some(s) = self.sessions.iter().find(|s| s.id == exec_id) {
            if let Some((code, _)) = s.exit {
                return Some((conn, reply(s.pid, Some(code))));
            }
            self.waiters.push((exec_id, conn));
            return None;
        }
        let msg = format!("no such exec: {exec_id}");
        Some((conn, Response::error(msg, ErrorKind::NotFound)))
    }

    /// Adds every exec fd worth polling.
    pub fn register<'a>(
        &'a self,
        fds: &mut Vec<(BorrowedFd<'a>, bool, bool)>,
        slots: &mut Vec<ExecSlot>,
    ) {
        for (i, s) in self.sessions.iter().enumerate() {
            if s.exit.is_none() {
                fds.push((s.pidfd.as_fd(), true, false));
                slots.push(ExecSlot::Pidfd(i));
            }
            let behind = s
                .client
                .as_ref()
                .is_some_and(|c| c.out.len() >= CLIENT_HIGH_WATER);
            if !behind {
                for (fd, which) in s.io.outputs() {
                    fds.push((fd, true, false));
                    slots.push(ExecSlot::Output(i, which));
                }
            }
            if !s.io.stdin_pending.is_empty() {
                if let Some(fd) = s.io.stdin_target() {
                    fds.push((fd, false, true));
                    slots.push(ExecSlot::Stdin(i));
                }
            }
            if let Some(c) = &s.client {
                let read = c.reading && s.io.stdin_pending.len() < MAX_STDIN_PENDING;
                if read || !c.out.is_empty() {
                    fds.push((c.sock.as_fd(), read, !c.out.is_empty()));
                    slots.push(ExecSlot::Client(i));
                }
            }
        }
    }

    /// Handles one ready fd. Sessions are only removed by [`Execs::complete`], so the indices
    /// of one poll round stay valid.
    pub fn handle(&mut self, slot: ExecSlot, r: PollReady) {
        match slot {
            ExecSlot::Pidfd(i) if r.readable => {
                if let Some((pid, code)) = self.sessions[i].reap() {
                    self.answer(i, pid, code);
                }
            }
            ExecSlot::Output(i, which) if r.readable => self.sessions[i].read_output(which),
            ExecSlot::Stdin(i) if r.writable => self.sessions[i].io.flush_stdin(),
            ExecSlot::Client(i) => {
                let s = &mut self.sessions[i];
                if r.writable {
                    s.flush_client();
                }
                if r.readable {
                    s.read_client();
                }
            }
            _ => {}
        }
    }

    fn answer(&mut self, i: usize, pid: i32, code: i32) {
        let id = self.sessions[i].id.clone();
        let mut answered = false;
        self.waiters.retain_mut(|(w, conn)| {
            if *w != id {
                return true;
            }
            let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
            let _ = send_line(conn, &reply(pid, Some(code)));
            answered = true;
            false
        });
        if !answered {
            if self.finished.len() >= MAX_FINISHED {
                self.finished.pop_front();
            }
            self.finished.push_back((id, pid, code));
        }
    }

    /// The poll timeout the execs need (draining after an exit), in ms.
    pub fn timeout(&self) -> Option<i32> {
        self.sessions
            .iter()
            .filter_map(|s| {
                let (_, at) = s.exit?;
                let limit = if s.io.outputs_open() {
                    DRAIN_GRACE
                } else {
                    CLIENT_GRACE
                };
                Some(limit.saturating_sub(at.elapsed()).as_millis() as i32 + 1)
            })
            .min()
    }

    /// Ends the streams of execs that exited and were drained, and forgets them.
    pub fn complete(&mut self) {
        self.sessions.retain_mut(|s| {
            let Some((_, at)) = s.exit else {
                return true;
            };
            if s.io.outputs_open() && at.elapsed() < DRAIN_GRACE {
                return true;
            }
            s.io.close_outputs();
            match &mut s.client {
                // Let a client that is reading catch up (polled for writing meanwhile).
                Some(c) if !c.out.is_empty() && at.elapsed() < CLIENT_GRACE => true,
                Some(c) => {
                    let _ = c.sock.shutdown(std::net::Shutdown::Both);
                    false
                }
                None => false,
            }
        });
    }

    /// The container exited (its execs died with its pid namespace, or were killed with its
    /// cgroup): reap them, answer their waiters and end their streams.
    pub fn finish_all(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(1);
        for i in 0..self.sessions.len() {
            while self.sessions[i].exit.is_none() && Instant::now() < deadline {
                match self.sessions[i].reap() {
                    Some((pid, code)) => self.answer(i, pid, code),
                    None => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            let s = &mut self.sessions[i];
            if s.exit.is_none() {
                // Still there after the cgroup was killed: report it as killed.
                s.exit = Some((137, Instant::now()));
                let pid = s.pid;
                self.answer(i, pid, 137);
            }
            let s = &mut self.sessions[i];
            let drain_until = Instant::now() + Duration::from_millis(200);
            while s.io.outputs_open() && Instant::now() < drain_until {
                for which in [Output::Master, Output::Stdout, Output::Stderr] {
                    s.read_output(which);
                }
                if s.client
                    .as_ref()
                    .is_some_and(|c| c.out.len() >= CLIENT_HIGH_WATER)
                {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            if let Some(mut c) = s.client.take() {
                let _ = c.sock.set_nonblocking(false);
                let _ = c.sock.set_write_timeout(Some(Duration::from_secs(2)));
                let _ = c.sock.write_all(&c.out);
                let _ = c.sock.shutdown(std::net::Shutdown::Both);
            }
        }
        self.sessions.clear();
        for (id, mut conn) in self.waiters.drain(..) {
            let resp = Response::error(format!("no such exec: {id}"), ErrorKind::NotFound);
            let _ = send_line(&mut conn, &resp);
        }
    }
}

impl Session {
    /// Reaps the exec if it exited: `(pid, code)`.
    fn reap(&mut self) -> Option<(i32, i32)> {
        match sys::try_reap(self.pid) {
            Ok(Some(code)) => {
                self.exit = Some((code, Instant::now()));
                self.io.drop_stdin();
                Some((self.pid, code))
            }
            Ok(None) => None,
            Err(e) => {
                // Not our child any more (ECHILD): nothing will ever tell its status.
                eprintln!("berth-shim: exec {}: {e}", self.id);
                self.exit = Some((137, Instant::now()));
                Some((self.pid, 137))
            }
        }
    }

    fn read_output(&mut self, which: Output) {
        let mut buf = [0u8; 32 * 1024];
        let Some(n) = self.io.read(which, &mut buf) else {
            return;
        };
        let Some(c) = self.client.as_mut() else {
            return;
        };
        if !self.tty {
            let id = match which {
                Output::Stderr => stdcopy::STDERR,
                _ => stdcopy::STDOUT,
            };
            c.out.extend_from_slice(&stdcopy::header(id, n));
        }
        c.out.extend_from_slice(&buf[..n]);
    }

    fn flush_client(&mut self) {
        let Some(c) = self.client.as_mut() else {
            return;
        };
        match sys::write_nb(c.sock.as_fd(), &c.out) {
            Ok(Some(n)) => {
                c.out.drain(..n);
            }
            Ok(None) => {}
            // The client is gone; the exec runs on and its output is dropped.
            Err(_) => self.client = None,
        }
    }

    fn read_client(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        let Some(c) = self.client.as_mut() else {
            return;
        };
        match sys::read_nb(c.sock.as_fd(), &mut buf) {
            Ok(Some(0)) | Err(_) => {
                c.reading = false;
                // docker closes an exec's stdin when its client's input ends; a pty has no
                // separate stdin to close.
                if c.stdin && !self.tty {
                    self.io.close_stdin();
                }
            }
            Ok(Some(n)) => {
                if c.stdin && self.exit.is_none() {
                    self.io.feed_stdin(&buf[..n]);
                }
            }
            Ok(None) => {}
        }
    }
}

fn send_line(conn: &mut UnixStream, resp: &Response) -> std::io::Result<()> {
    let mut data = serde_json::to_vec(resp).map_err(std::io::Error::other)?;
    data.push(b'\n');
    conn.write_all(&data)
}
