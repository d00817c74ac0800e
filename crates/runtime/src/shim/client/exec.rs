//! The daemon's side of execs (see the protocol doc in [`crate::shim`]).

use tokio::net::UnixStream;

use super::{Request, ShimError, ShimHandle};

impl ShimHandle {
    /// Starts an exec and returns its pid once it runs its command, with the connection that
    /// carries its stream (closed by the shim at once when no stream was asked for). A command
    /// that cannot run fails with runc's wording (`exec: "x": executable file not found in
    /// $PATH`).
    pub async fn exec(
        &self,
        exec_id: &str,
        process: serde_json::Value,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<(i32, UnixStream), ShimError> {
        let req = Request::Exec {
            exec_id: exec_id.to_string(),
            process,
            stdin,
            stdout,
            stderr,
        };
        let (conn, resp) = self.request(&req).await?;
        let pid = resp
            .exec
            .map(|e| e.pid)
            .ok_or_else(|| self.protocol("exec reply without pid"))?;
        Ok((pid, conn))
    }

    /// Sets an exec's TTY size.
    pub async fn exec_resize(
        &self,
        exec_id: &str,
        width: u16,
        height: u16,
    ) -> Result<(), ShimError> {
        let req = Request::ExecResize {
            exec_id: exec_id.to_string(),
            width,
            height,
        };
        self.call(&req).await.map(drop)
    }

    /// Sends `signal` to a running exec.
    pub async fn exec_kill(&self, exec_id: &str, signal: i32) -> Result<(), ShimError> {
        let req = Request::ExecKill {
            exec_id: exec_id.to_string(),
            signal,
        };
        self.call(&req).await.map(drop)
    }

    /// Waits for an exec to exit and returns its exit status (128 + signal when killed).
    pub async fn exec_wait(&self, exec_id: &str) -> Result<i32, ShimError> {
        let req = Request::ExecWait {
            exec_id: exec_id.to_string(),
        };
        let resp = self.call(&req).await?;
        resp.exec
            .and_then(|e| e.exit_code)
            .ok_or_else(|| self.protocol("exec-wait reply without exit code"))
    }
}
