//! A container's lifecycle as an enum with checked transitions (youki's `ContainerStatus`):
//!
//! ```text
//!            start                 exit
//! Created ─────────► Running ─────────────► Exited ──start──► Running …
//!    │                 │  ▲                  │  ▲
//!    │          pause  │  │ unpause   restart_pending  cancel_restart
//!    │                 ▼  │                  ▼  │
//!    │               Paused ──exit──►     Restarting (waiting out the back-off)
//!    │
//!    └── begin_removal (Created/Exited/Dead) ──► Removing ──mark_dead──► Dead
//!                                              └──removal_interrupted──► Exited (restore)
//! ```
//!
//! `RunState` is the persisted part. Its fields are private: this module is the only place a
//! status changes, every change is one of the transitions above, and transitions that make no
//! sense are refused with the error dockerd gives.

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

/// What dockerd records when a running container's shim vanished without an exit record.
pub const SHIM_LOST: &str = "the container's shim vanished without an exit record";

/// The persisted state of a container. Read it through the getters; change it only through
/// the transitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    status: Status,
    pid: i64,
    exit_code: i64,
    oom_killed: bool,
    error: String,
    started_at: i128,
    finished_at: i128,
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
    /// Where the container is.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The init's host pid while it runs, else 0.
    pub fn pid(&self) -> i64 {
        self.pid
    }

    /// The last exit code (or the 126/127/128 of a failed start).
    pub fn exit_code(&self) -> i64 {
        self.exit_code
    }

    /// Whether the last exit was the OOM killer's.
    pub fn oom_killed(&self) -> bool {
        self.oom_killed
    }

    /// Why the last start failed, or why the last exit is unknown; empty otherwise.
    pub fn error(&self) -> &str {
        &self.error
    }

    /// When the last start happened (nanoseconds since the epoch; 0: never).
    pub fn started_at(&self) -> i128 {
        self.started_at
    }

    /// When the last exit happened (nanoseconds since the epoch; 0: never).
    pub fn finished_at(&self) -> i128 {
        self.finished_at
    }

    /// Whether the container may start now (Created or Exited), with dockerd's refusal
    /// otherwise.
    pub fn check_start(&self, id: &str) -> Result<()> {
        match self.status {
            Status::Created | Status::Exited => Ok(()),
            Status::Running | Status::Restarting => Err(Error::NotModified(id.into(), "started")),
            Status::Paused => Err(Error::Conflict(
                "cannot start a paused container, try unpause instead".into(),
            )),
            Status::Removing | Status::Dead => Err(Error::Conflict(format!(
                "container {id} is marked for removal and cannot be started"
            ))),
        }
    }

    /// Created/Exited → Running with the init's pid.
    pub fn start(&mut self, id: &str, pid: i64) -> Result<()> {
        self.check_start(id)?;
        self.status = Status::Running;
        self.pid = pid;
        self.exit_code = 0;
        self.oom_killed = false;
        self.error.clear();
        self.started_at = clock::now_nanos();
        Ok(())
    }

    /// Running → Paused (the cgroup is frozen), with dockerd's refusals.
    pub fn pause(&mut self, id: &str) -> Result<()> {
        match self.status {
            Status::Running => {
                self.status = Status::Paused;
                Ok(())
            }
            Status::Paused => Err(Error::Conflict(format!("Container {id} is already paused"))),
            Status::Restarting => Err(Error::Conflict(format!(
                "Container {id} is restarting, wait until the container is running"
            ))),
            _ => Err(Error::Conflict(format!("Container {id} is not running"))),
        }
    }

    /// Paused → Running (the cgroup is thawed), with dockerd's refusals.
    pub fn unpause(&mut self, id: &str) -> Result<()> {
        match self.status {
            Status::Paused => {
                self.status = Status::Running;
                Ok(())
            }
            s if s.is_running() => Err(Error::Conflict(format!("Container {id} is not paused"))),
            _ => Err(Error::Conflict(format!("Container {id} is not running"))),
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

    /// At restore, for a container that ran when the daemon stopped and whose shim is gone:
    /// Running → Exited with the exit the shim recorded, or with `fallback_code` (dockerd's
    /// 255) and [`SHIM_LOST`] when it recorded none. Returns the exit recorded.
    pub fn shim_lost(&mut self, recorded: Option<Exit>, fallback_code: i64) -> Exit {
        let exit = recorded.unwrap_or(Exit {
            code: fallback_code,
            oom_killed: false,
            at: clock::now_nanos(),
        });
        self.exit(exit);
        if recorded.is_none() {
            self.error = SHIM_LOST.into();
        }
        exit
    }

    /// Exited → Restarting: the restart policy will start it again after a back-off.
    pub fn restart_pending(&mut self) {
        if self.status == Status::Exited {
            self.status = Status::Restarting;
        }
    }

    /// Restarting → Exited: the back-off is over (the restart then starts it), or a stop, a
    /// forced remove or a daemon restart cancels it. Nothing runs meanwhile. Returns whether
    /// the container was restarting.
    pub fn cancel_restart(&mut self) -> bool {
        let was = self.status == Status::Restarting;
        if was {
            self.status = Status::Exited;
        }
        was
    }

    /// Removing → Dead: the removal failed half-way; the container stays visible, dead,
    /// rather than half-removed and invisible.
    pub fn mark_dead(&mut self) {
        if self.status == Status::Removing {
            self.status = Status::Dead;
        }
    }

    /// Removing → Exited, at restore: a crash interrupted the removal; the caller removes
    /// the container again.
    pub fn removal_interrupted(&mut self) {
        if self.status == Status::Removing {
            self.status = Status::Exited;
        }
    }

    /// Created/Exited/Dead → Removing; refuses a running container (the caller kills first
    /// when forced) and a second removal.
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

    /// The `ps` STATUS column (moby's `State.String`); `health` is the healthcheck's word for
    /// a container that has one (`healthy`, `health: starting` …).
    pub fn describe(&self, health: Option<&str>) -> String {
        match self.status {
            Status::Running => match health {
                Some(h) => format!(
                    "Up {} ({h})",
                    clock::human_duration(clock::since(self.started_at))
                ),
                None => format!(
                    "Up {}",
                    clock::human_duration(clock::since(self.started_at))
                ),
            },
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
        assert_eq!(s.describe(None), "Created");
        s.start("c1", 42).unwrap();
        assert_eq!(s.status, Status::Running);
        assert!(s.describe(None).starts_with("Up "));
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
        assert!(
            s.describe(None).starts_with("Exited (3) "),
            "{}",
            s.describe(None)
        );
        s.start("c1", 44).unwrap();
        assert!(!s.oom_killed);
        assert_eq!(s.exit_code, 0);
    }

    #[test]
    fn pause_and_unpause() {
        let mut s = RunState::default();
        assert_eq!(
            s.pause("c").unwrap_err().to_string(),
            "Container c is not running"
        );
        s.start("c", 1).unwrap();
        assert_eq!(
            s.unpause("c").unwrap_err().to_string(),
            "Container c is not paused"
        );
        s.pause("c").unwrap();
        assert_eq!(s.status(), Status::Paused);
        assert!(s.status().is_running());
        assert!(
            s.describe(None).ends_with("(Paused)"),
            "{}",
            s.describe(None)
        );
        assert_eq!(
            s.pause("c").unwrap_err().to_string(),
            "Container c is already paused"
        );
        assert!(matches!(s.check_start("c"), Err(Error::Conflict(_))));
        s.unpause("c").unwrap();
        assert_eq!(s.status(), Status::Running);
        s.pause("c").unwrap();
        s.exit(Exit {
            code: 137,
            oom_killed: false,
            at: 1,
        });
        assert_eq!(s.status(), Status::Exited, "a paused container can die");
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

    #[test]
    fn restart_back_off_and_its_cancellation() {
        let mut s = RunState::default();
        s.start("c", 7).unwrap();
        s.restart_pending();
        assert_eq!(
            s.status(),
            Status::Running,
            "only an exited container waits to restart"
        );
        s.exit(Exit {
            code: 1,
            oom_killed: false,
            at: clock::now_nanos(),
        });
        s.restart_pending();
        assert_eq!(s.status(), Status::Restarting);
        assert!(matches!(s.check_start("c"), Err(Error::NotModified(..))));
        assert!(s.cancel_restart());
        assert_eq!(s.status(), Status::Exited);
        assert!(!s.cancel_restart());
        s.check_start("c").unwrap();
    }

    #[test]
    fn removal_failures_and_restore() {
        let mut s = RunState::default();
        s.mark_dead();
        assert_eq!(
            s.status(),
            Status::Created,
            "only a removal in progress can die"
        );
        s.begin_removal("c").unwrap();
        s.mark_dead();
        assert_eq!(s.status(), Status::Dead);
        assert!(s.check_start("c").is_err());
        s.begin_removal("c").unwrap();
        s.removal_interrupted();
        assert_eq!(s.status(), Status::Exited);
    }

    #[test]
    fn a_lost_shim_records_its_exit_or_255() {
        let mut s = RunState::default();
        s.start("c", 9).unwrap();
        let e = s.shim_lost(None, 255);
        assert_eq!((e.code, s.exit_code(), s.error()), (255, 255, SHIM_LOST));
        assert_eq!((s.status(), s.pid()), (Status::Exited, 0));
        s.start("c", 10).unwrap();
        let recorded = Exit {
            code: 0,
            oom_killed: true,
            at: 5,
        };
        assert_eq!(s.shim_lost(Some(recorded), 255), recorded);
        assert_eq!((s.exit_code(), s.error(), s.oom_killed()), (0, "", true));
        assert_eq!(s.finished_at(), 5);
    }
}
