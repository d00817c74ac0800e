//! A container's lifecycle as an enum with checked transitions (youki's `ContainerStatus`):
//!
//! ```text
//! Created ──start──► Running ──exit──► Exited ──start──► Running …
//!    │                  │  ▲
//!    │                  ▼  │ (pause/unpause, later)
//!    └──── remove ─── Paused
//! ```
//!
//! `RunState` is the persisted part; transitions that make no sense are refused with the
//! error dockerd gives, so callers never poke fields directly.

use serde::{Deserialize, Serialize};

use crate::clock;
use crate::error::{Error, Result};

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    /// The word the API uses (`State.Status`, `ps --filter status=`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    /// Parses a status filter value.
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "created" => Status::Created,
            "running" => Status::Running,
            "paused" => Status::Paused,
            "restarting" => Status::Restarting,
            "removing" => Status::Removing,
            "exited" => Status::Exited,
            "dead" => Status::Dead,
            _ => return None,
        })
    }

    /// Whether a process of the container is alive.
    pub fn is_running(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
}

/// How a container's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    pub code: i64,
    pub oom_killed: bool,
    /// Nanoseconds since the epoch.
    pub at: i128,
}

/// The persisted state of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    pub status: Status,
    pub pid: i64,
    pub exit_code: i64,
    pub oom_killed: bool,
    pub error: String,
    pub started_at: i128,
    pub finished_at: i128,
}

impl Default for RunState {
    fn default() -> Self {
        RunState {
            status: Status::Created,
            pid: 0,
            exit_code: 0,
            oom_killed: false,
            error: String::new(),
            started_at: 0,
            finished_at: 0,
        }
    }
}

impl RunState {
    /// Created/Exited → Running with the init's pid.
    pub fn start(&mut self, id: &str, pid: i64) -> Result<()> {
        match self.status {
            Status::Created | Status::Exited | Status::Dead => {
                self.status = Status::Running;
                self.pid = pid;
                self.exit_code = 0;
                self.oom_killed = false;
                self.error.clear();
                self.started_at = clock::now_nanos();
                Ok(())
            }
            Status::Running | Status::Restarting => Err(Error::NotModified(id.into(), "started")),
            Status::Paused => Err(Error::Conflict(
                "cannot start a paused container, try unpause instead".into(),
            )),
            Status::Removing => Err(Error::Conflict(format!(
                "container {id} is marked for removal and cannot be started"
            ))),
        }
    }

    /// Running/Paused → Exited.
    pub fn exit(&mut self, exit: Exit) {
        self.status = Status::Exited;
        self.pid = 0;
        self.exit_code = exit.code;
        self.oom_killed = exit.oom_killed;
        self.finished_at = exit.at;
    }

    /// A start that failed before the process ran: the state stays where it was (created or
    /// exited) with the error and docker's exit code (126/127/128) recorded.
    pub fn start_failed(&mut self, message: &str, exit_code: i64) {
        self.error = message.to_string();
        self.exit_code = exit_code;
        self.pid = 0;
    }

    /// Any → Removing; refuses a running container unless `force` (the caller kills first).
    pub fn begin_removal(&mut self, id: &str) -> Result<()> {
        match self.status {
            Status::Removing => Err(Error::Conflict(format!(
                "removal of container {id} is already in progress"
            ))),
            s if s.is_running() => Err(Error::Conflict(format!(
                "cannot remove container \"{id}\": container is running: stop the container before removing or force remove"
            ))),
            _ => {
                self.status = Status::Removing;
                Ok(())
            }
        }
    }

    /// The `ps` STATUS column (moby's `State.String`).
    pub fn describe(&self) -> String {
        match self.status {
            Status::Running => format!(
                "Up {}",
                clock::human_duration(clock::since(self.started_at))
            ),
            Status::Paused => format!(
                "Up {} (Paused)",
                clock::human_duration(clock::since(self.started_at))
            ),
            Status::Restarting => format!(
                "Restarting ({}) {} ago",
                self.exit_code,
                clock::human_duration(clock::since(self.finished_at))
            ),
            Status::Removing => "Removal In Progress".into(),
            Status::Dead => "Dead".into(),
            Status::Created => "Created".into(),
            Status::Exited if self.started_at == 0 => "Created".into(),
            Status::Exited if self.finished_at == 0 => String::new(),
            Status::Exited => format!(
                "Exited ({}) {} ago",
                self.exit_code,
                clock::human_duration(clock::since(self.finished_at))
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_transitions() {
        let mut s = RunState::default();
        assert_eq!(s.describe(), "Created");
        s.start("c1", 42).unwrap();
        assert_eq!(s.status, Status::Running);
        assert!(s.describe().starts_with("Up "));
        assert!(matches!(s.start("c1", 43), Err(Error::NotModified(..))));
        assert!(s.begin_removal("c1").is_err());
        s.exit(Exit {
            code: 3,
            oom_killed: true,
            at: clock::now_nanos(),
        });
        assert_eq!(
            (s.status, s.exit_code, s.pid, s.oom_killed),
            (Status::Exited, 3, 0, true)
        );
        assert!(s.describe().starts_with("Exited (3) "), "{}", s.describe());
        s.start("c1", 44).unwrap();
        assert!(!s.oom_killed);
        assert_eq!(s.exit_code, 0);
    }

    #[test]
    fn failed_start_keeps_created() {
        let mut s = RunState::default();
        s.start_failed("exec: \"nope\": executable file not found in $PATH", 127);
        assert_eq!(s.status, Status::Created);
        assert_eq!(s.exit_code, 127);
        s.begin_removal("c").unwrap();
        assert_eq!(s.status, Status::Removing);
        assert!(s.begin_removal("c").is_err());
    }
}
