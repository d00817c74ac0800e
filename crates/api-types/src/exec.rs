//! Exec bodies (`docker exec`): the create request (`POST /containers/{id}/exec`), the start
//! request (`POST /exec/{id}/start`) and the inspect response (`GET /exec/{id}/json`).

use serde::{Deserialize, Serialize};

use crate::serde_util::null_default;

/// `ExecConfig`: what to run in a running container, and which streams to attach.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ExecConfig {
    /// `user`, `user:group`, `uid` or `uid:gid`; empty is the container's user.
    #[serde(default, deserialize_with = "null_default")]
    pub user: String,
    /// All capabilities for this process.
    #[serde(default, deserialize_with = "null_default")]
    pub privileged: bool,
    /// Allocate a pseudo-terminal.
    #[serde(default, deserialize_with = "null_default")]
    pub tty: bool,
    /// The initial terminal size, `[height, width]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u32; 2]>,
    #[serde(default, deserialize_with = "null_default")]
    pub attach_stdin: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub attach_stderr: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub attach_stdout: bool,
    /// Sent by the docker CLI (v28); the daemon decides detaching at start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub detach: bool,
    /// The detach sequence (`ctrl-p,ctrl-q`). docker-py sends it as `detachKeys` (Go's JSON
    /// matches names without regard to case).
    #[serde(default, alias = "detachKeys", deserialize_with = "null_default")]
    pub detach_keys: String,
    /// `KEY=value` entries; `KEY` alone unsets it.
    #[serde(default)]
    pub env: Option<Vec<String>>,
    /// The working directory; empty is the container's.
    #[serde(default, deserialize_with = "null_default")]
    pub working_dir: String,
    /// The command and its arguments.
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
}

/// `ExecStartConfig`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ExecStartConfig {
    /// Start and return at once, without streams.
    #[serde(default, deserialize_with = "null_default")]
    pub detach: bool,
    /// Whether the exec has a TTY (informational; the create request decides).
    #[serde(default, deserialize_with = "null_default")]
    pub tty: bool,
    /// The initial terminal size, `[height, width]` (API 1.42+; used with a TTY only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u32; 2]>,
}

/// `ProcessConfig` of an exec inspect: what runs. Lower-case names, as dockerd writes them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExecProcessConfig {
    pub tty: bool,
    pub entrypoint: String,
    pub arguments: Vec<String>,
    /// Always set on Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
}

/// `GET /exec/{id}/json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ExecInspect {
    #[serde(rename = "ID")]
    pub id: String,
    pub running: bool,
    /// `null` until the process exited.
    pub exit_code: Option<i64>,
    pub process_config: ExecProcessConfig,
    pub open_stdin: bool,
    pub open_stderr: bool,
    pub open_stdout: bool,
    pub can_remove: bool,
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    /// The detach sequence's bytes, base64 (Go's encoding of a byte slice).
    #[serde(default, deserialize_with = "null_default")]
    pub detach_keys: String,
    /// The process's pid on the host; 0 before it started.
    pub pid: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_config_reads_the_docker_clis_body() {
        let body = r#"{"User":"","Privileged":false,"Tty":true,"ConsoleSize":[24,80],
            "AttachStdin":true,"AttachStderr":true,"AttachStdout":true,"Detach":false,
            "DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["sh"]}"#;
        let c: ExecConfig = serde_json::from_str(body).unwrap();
        assert_eq!(c.console_size, Some([24, 80]));
        assert_eq!(c.cmd.as_deref(), Some(&["sh".to_string()][..]));
        assert!(c.tty && c.attach_stdin && c.env.is_none());
        // A console size must be exactly [height, width].
        assert!(serde_json::from_str::<ExecConfig>(r#"{"ConsoleSize":[1,2,3]}"#).is_err());
    }

    #[test]
    fn exec_inspect_has_dockerds_shape() {
        let i = ExecInspect {
            id: "e".into(),
            process_config: ExecProcessConfig {
                entrypoint: "sh".into(),
                privileged: Some(false),
                ..Default::default()
            },
            ..Default::default()
        };
        let v = serde_json::to_value(&i).unwrap();
        assert_eq!(v["ExitCode"], serde_json::Value::Null);
        assert_eq!(v["ID"], "e");
        assert_eq!(
            v["ProcessConfig"],
            serde_json::json!({"tty": false, "entrypoint": "sh", "arguments": [], "privileged": false})
        );
        assert!(v.get("ContainerID").is_some() && v.get("Pid").is_some());
    }
}
