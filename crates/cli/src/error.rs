//! The CLI's error: what to print on stderr and which exit status to use (docker's
//! `cli.StatusError`). Exit statuses follow docker: 1 for ordinary failures, 125 when the
//! daemon refuses `run`/`create` or a flag is wrong, 126 when the container's command
//! cannot be invoked, 127 when it is not found, and the container's own status for `run`
//! and `start -a`.

use client::ErrorKind;

/// The binary's name, used where docker writes `docker`.
pub const BIN: &str = "berth";

/// A failed command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    /// Printed on stderr unless empty.
    pub message: String,
    /// The process exit status.
    pub code: i32,
    kind: ErrorKind,
}

impl CliError {
    /// An ordinary failure: printed, exit status 1.
    pub fn new(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 1,
            kind: ErrorKind::Internal,
        }
    }

    /// A failure with an explicit exit status.
    pub fn status(message: impl Into<String>, code: i32) -> CliError {
        CliError {
            message: message.into(),
            code,
            kind: ErrorKind::Internal,
        }
    }

    /// A silent exit with `code` (the container's exit status, a cancelled prompt).
    pub fn exit(code: i32) -> CliError {
        CliError {
            message: String::new(),
            code,
            kind: ErrorKind::Internal,
        }
    }

    /// A bad flag or argument: docker's 125 with usage help.
    pub fn usage(
        message: impl std::fmt::Display,
        usage_line: &str,
        command_path: &str,
    ) -> CliError {
        CliError {
            message: format!("{message}\n\nUsage:  {usage_line}\n\nRun '{command_path} --help' for more information"),
            code: 125,
            kind: ErrorKind::InvalidArgument,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl From<client::Error> for CliError {
    fn from(e: client::Error) -> CliError {
        CliError {
            message: e.to_string(),
            code: 1,
            kind: e.kind(),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::new(e.to_string())
    }
}

/// docker's `withHelp`: `docker: <err>` plus a pointer to `--help`.
pub fn with_help(err: &str, command: &str) -> String {
    format!("{BIN}: {err}\n\nRun '{BIN} {command} --help' for more information")
}

/// docker's `toStatusError` for `run`/`create`: 127 when the command is not found, 126 when
/// it cannot be executed, 125 for anything else the daemon refused.
pub fn to_status_error(err: &str, command: &str) -> CliError {
    let code = if err.contains("executable file not found")
        || err.contains("no such file or directory")
        || err.contains("system cannot find the file specified")
    {
        127
    } else if err.contains("permission denied") || err.contains("is a directory") {
        126
    } else {
        125
    };
    CliError::status(with_help(err, command), code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_errors_map_to_docker_exit_codes() {
        let e = to_status_error("Error response from daemon: failed to create task: exec: \"nope\": executable file not found in $PATH", "run");
        assert_eq!(e.code, 127);
        assert!(e.message.starts_with("berth: Error response from daemon: "));
        assert!(e
            .message
            .ends_with("\n\nRun 'berth run --help' for more information"));
        assert_eq!(
            to_status_error("exec /etc: permission denied", "run").code,
            126
        );
        assert_eq!(to_status_error("exec /: is a directory", "run").code, 126);
        assert_eq!(
            to_status_error("stat /x: no such file or directory", "run").code,
            127
        );
        assert_eq!(
            to_status_error(
                "Error response from daemon: Conflict. The container name \"/a\" is already in use",
                "run"
            )
            .code,
            125
        );
    }

    #[test]
    fn client_errors_exit_1_with_daemon_wording() {
        let e: CliError = client::Error::Daemon {
            status: 404,
            message: "No such container: x".into(),
        }
        .into();
        assert_eq!(
            (e.message.as_str(), e.code),
            ("Error response from daemon: No such container: x", 1)
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }
}
