//! An external OCI runtime binary (`runc`, `crun`, or one `daemon.json` declares), driven
//! through runc's command line as containerd's shim drives it:
//!
//! ```text
//! <rt> [args] --root R --log R/<id>.log --log-format json create --bundle B --pid-file P [--console-socket S] ID
//! <rt> [args] --root R start ID
//! <rt> [args] --root R exec --process F --pid-file P --detach [--console-socket S] ID
//! <rt> [args] --root R delete --force ID
//! ```
//!
//! The container's (and an exec's) stdio are the runtime process's own, which it hands on;
//! with a TTY the runtime sends the pty master over the console socket, as libcontainer does.
//! The runtime exits once the process exists: the shim is a child subreaper
//! ([`crate::sys::set_child_subreaper`]), so the process becomes the shim's child and the
//! shim reaps it as it reaps libcontainer's. A runtime that fails says why in its JSON log
//! (and on stderr): the last error-level message is the error.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio as ProcStdio};
use std::time::Duration;

use super::{ExecError, LaunchError, Launched, Stdio};
use crate::shim::OciRuntime;

/// How long a runtime command may take before it is killed (a runtime that cannot work on
/// this host must fail, not hang the shim).
const TIMEOUT: Duration = Duration::from_secs(60);

fn base(rt: &OciRuntime, root: &Path) -> Command {
    let mut c = Command::new(&rt.path);
    c.args(&rt.args).arg("--root").arg(root);
    c
}

/// A console socket path short enough for a socket address, valid in the runtime's process
/// too: through this process's directory fd (`/proc/<pid>/fd/<n>/<name>`), kept open by the
/// returned fd while the runtime runs.
fn console_path(socket: &Path) -> std::io::Result<(PathBuf, Option<OwnedFd>)> {
    if socket.as_os_str().len() <= 100 {
        return Ok((socket.to_path_buf(), None));
    }
    let dir = socket.parent().unwrap_or(Path::new("/"));
    let name = socket.file_name().unwrap_or_default();
    let fd = OwnedFd::from(std::fs::File::open(dir)?);
    let p = PathBuf::from(format!(
        "/proc/{}/fd/{}/{}",
        std::process::id(),
        fd.as_raw_fd(),
        name.to_string_lossy()
    ));
    Ok((p, Some(fd)))
}

/// The container's (or exec's) pipes, handed to the runtime as its own stdio.
type Pipes = (OwnedFd, OwnedFd, OwnedFd);

/// Runs `cmd` (with `pipes` as its stdio, else none but a captured stderr); `Err` carries the
/// runtime's reason: the last error of its JSON `log`, else the last line of its stderr.
fn run(mut cmd: Command, pipes: Option<Pipes>, log: Option<&Path>) -> Result<(), String> {
    match pipes {
        Some((stdin, stdout, stderr)) => {
            cmd.stdin(ProcStdio::from(stdin))
                .stdout(ProcStdio::from(stdout))
                .stderr(ProcStdio::from(stderr));
        }
        None => {
            cmd.stdin(ProcStdio::null())
                .stdout(ProcStdio::null())
                .stderr(ProcStdio::piped());
        }
    }
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("running the OCI runtime {program}: {e}"))?;
    let deadline = std::time::Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the OCI runtime {program} did not finish within {TIMEOUT:?}"
                ));
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    Err(log
        .and_then(last_error)
        .or_else(|| {
            stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| format!("the OCI runtime {program} exited with {status}")))
}

/// Runs a command whose last argument is the id, with the process's stdio: its pipes, or a
/// console socket (an option, so before the id).
fn run_with_id(mut cmd: Command, stdio: Stdio, id: &str, log: Option<&Path>) -> Result<(), String> {
    match stdio {
        Stdio::Pipes {
            stdin,
            stdout,
            stderr,
        } => {
            cmd.arg(id);
            run(cmd, Some((stdin, stdout, stderr)), log)
        }
        Stdio::Console { socket } => {
            let (path, _keep) = console_path(&socket).map_err(|e| e.to_string())?;
            cmd.arg("--console-socket").arg(path).arg(id);
            run(cmd, None, log)
        }
    }
}

/// The last error of a runtime's JSON log (`{"level":"error","msg":…}` lines).
fn last_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().rev().find_map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        (v["level"] == "error" || v["level"] == "fatal")
            .then(|| v["msg"].as_str().map(str::to_string))?
    })
}

fn read_pid(file: &Path) -> Result<i32, String> {
    let s = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let pid = s
        .trim()
        .parse()
        .map_err(|_| format!("{}: no pid", file.display()))?;
    let _ = std::fs::remove_file(file);
    Ok(pid)
}

/// Creates the container of `bundle` with the runtime's state under `root`.
pub fn create(
    rt: &OciRuntime,
    id: &str,
    bundle: &Path,
    root: &Path,
    stdio: Stdio,
) -> Result<Launched, LaunchError> {
    let fail = |message: String| LaunchError::Create {
        id: id.to_string(),
        message,
    };
    std::fs::create_dir_all(root).map_err(|e| fail(e.to_string()))?;
    let log = root.join(format!("{id}.log"));
    let pid_file = root.join(format!("{id}.pid"));
    let _ = std::fs::remove_file(&log);
    let mut cmd = base(rt, root);
    cmd.arg("--log")
        .arg(&log)
        .arg("--log-format")
        .arg("json")
        .arg("create")
        .arg("--bundle")
        .arg(bundle)
        .arg("--pid-file")
        .arg(&pid_file);
    run_with_id(cmd, stdio, id, Some(&log)).map_err(fail)?;
    let pid = read_pid(&pid_file).map_err(fail)?;
    Ok(Launched { pid })
}

/// Lets the created container run its command.
pub fn start(rt: &OciRuntime, id: &str, root: &Path) -> Result<(), LaunchError> {
    let mut cmd = base(rt, root);
    cmd.arg("start").arg(id);
    run(cmd, None, None).map_err(|message| LaunchError::Start {
        id: id.to_string(),
        message,
    })
}

/// Removes the runtime's state of the container (killing what is left of it).
pub fn delete(rt: &OciRuntime, id: &str, root: &Path) -> Result<(), LaunchError> {
    let mut cmd = base(rt, root);
    cmd.arg("delete").arg("--force").arg(id);
    run(cmd, None, None).map_err(|message| LaunchError::Delete {
        id: id.to_string(),
        message,
    })
}

/// Starts an exec whose OCI process is `process`; returns its pid once it runs.
pub fn exec(
    rt: &OciRuntime,
    id: &str,
    root: &Path,
    process: &serde_json::Value,
    process_file: &Path,
    stdio: Stdio,
) -> Result<i32, ExecError> {
    let fail = |message: String| ExecError::Start {
        id: id.to_string(),
        message,
    };
    let data = serde_json::to_vec(process).map_err(|e| fail(e.to_string()))?;
    std::fs::write(process_file, data).map_err(|source| ExecError::ProcessFile {
        id: id.to_string(),
        path: process_file.to_owned(),
        source,
    })?;
    let pid_file = process_file.with_extension("pid");
    let log = process_file.with_extension("log");
    let _ = std::fs::remove_file(&log);
    let mut cmd = base(rt, root);
    // The exec's stdio is the runtime's own: its reasons are only in its log.
    cmd.arg("--log")
        .arg(&log)
        .arg("--log-format")
        .arg("json")
        .arg("exec")
        .arg("--process")
        .arg(process_file)
        .arg("--pid-file")
        .arg(&pid_file)
        .arg("--detach");
    let res = run_with_id(cmd, stdio, id, Some(&log));
    let _ = std::fs::remove_file(process_file);
    let _ = std::fs::remove_file(&log);
    res.map_err(|m| fail(runc_cause(&m)))?;
    read_pid(&pid_file).map_err(fail)
}

/// runc's reason without its `exec failed: unable to start container process: ` prefixes
/// (the engine words the message as dockerd does).
fn runc_cause(m: &str) -> String {
    m.rsplit_once("unable to start container process: ")
        .map(|(_, c)| c.to_string())
        .unwrap_or_else(|| m.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_errors_come_from_its_json_log() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("x.log");
        std::fs::write(
            &log,
            "{\"level\":\"warning\",\"msg\":\"meh\"}\n{\"level\":\"error\",\"msg\":\"runc create failed: unable to start container process: exec: \\\"nope\\\": executable file not found in $PATH\"}\n",
        )
        .unwrap();
        let e = last_error(&log).unwrap();
        assert!(e.ends_with("executable file not found in $PATH"), "{e}");
        assert_eq!(
            runc_cause(&e),
            "exec: \"nope\": executable file not found in $PATH"
        );
    }

    #[test]
    fn a_missing_runtime_fails_clearly() {
        let rt = OciRuntime {
            path: "/nonexistent/runc".into(),
            args: vec![],
        };
        let d = tempfile::tempdir().unwrap();
        let e = start(&rt, "c1", d.path()).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/runc"), "{e}");
    }

    #[test]
    fn long_console_paths_go_through_a_directory_fd() {
        let d = tempfile::tempdir().unwrap();
        let deep = d.path().join("a".repeat(60)).join("b".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        let (p, fd) = console_path(&deep.join("console.sock")).unwrap();
        assert!(fd.is_some() && p.as_os_str().len() < 100, "{}", p.display());
        assert!(p.starts_with("/proc/"));
    }
}
