//! The OCI `process` of an **exec** (`docker exec`): a second process run in a running
//! container's namespaces and cgroup.
//!
//! As dockerd does, it starts from the container's own process (capabilities, rlimits,
//! no-new-privileges, OOM score, user) and replaces what the exec sets: the command, the
//! environment (computed by the engine, see [`exec_env`]), the working directory (`/` when
//! unset), the terminal and its size, the user (resolved in the container's `/etc/passwd`
//! and `/etc/group`, plus the container's `--group-add`), and — with `--privileged` — all
//! capabilities. The container's seccomp profile and masked paths still apply: they belong
//! to the container, not to the process.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{defaults, user, SpecError, DEFAULT_PATH};

/// What an exec asks for, already merged with the container's defaults by the engine.
#[derive(Debug, Clone, Default)]
pub struct ExecSpec {
    /// The container's root filesystem as the host sees it (for the USER lookup).
    pub rootfs: PathBuf,
    /// The command and its arguments. Must not be empty.
    pub args: Vec<String>,
    /// The full environment ([`exec_env`]).
    pub env: Vec<String>,
    /// USER (`name`, `uid`, `name:group` …); empty keeps the container's process user.
    pub user: String,
    /// The container's `--group-add`.
    pub group_add: Vec<String>,
    /// The working directory; empty means `/`.
    pub working_dir: String,
    /// Allocate a pseudo-terminal.
    pub tty: bool,
    /// `--privileged`: every capability the host can grant.
    pub privileged: bool,
    /// The initial terminal size, `(height, width)`.
    pub console_size: Option<(u16, u16)>,
}

/// Reads the container's `process` from `<bundle>/config.json`.
pub fn container_process(bundle: &Path) -> Result<Value, SpecError> {
    #[derive(serde::Deserialize)]
    struct OnlyProcess {
        process: Option<Value>,
    }
    let path = bundle.join("config.json");
    let data = std::fs::read(&path).map_err(|source| SpecError::ReadBundle {
        path: path.clone(),
        source,
    })?;
    let spec: OnlyProcess =
        serde_json::from_slice(&data).map_err(|source| SpecError::Generate { source })?;
    spec.process.ok_or(SpecError::NoCommand)
}

/// Builds the exec's process from the container's (`base`, as in its `config.json`).
pub fn process(base: &Value, e: &ExecSpec) -> Result<Value, SpecError> {
    if e.args.is_empty() || e.args[0].is_empty() {
        return Err(SpecError::NoCommand);
    }
    let mut p = match base {
        Value::Object(_) => base.clone(),
        _ => json!({}),
    };
    p["args"] = json!(e.args);
    p["env"] = json!(e.env);
    p["cwd"] = json!(if e.working_dir.is_empty() {
        "/"
    } else {
        e.working_dir.as_str()
    });
    p["terminal"] = json!(e.tty);
    let obj = p.as_object_mut().expect("process is an object");
    match e.console_size.filter(|_| e.tty) {
        Some((height, width)) => {
            obj.insert(
                "consoleSize".into(),
                json!({"height": height, "width": width}),
            );
        }
        None => {
            obj.remove("consoleSize");
        }
    }
    if !e.user.is_empty() {
        let u = user::resolve(&e.rootfs, &e.user, &e.group_add)?;
        obj.insert(
            "user".into(),
            json!({"uid": u.uid, "gid": u.gid, "additionalGids": u.additional_gids}),
        );
    }
    if e.privileged {
        let all = defaults::all_capabilities();
        obj.insert(
            "capabilities".into(),
            json!({"bounding": all, "effective": all, "permitted": all}),
        );
    }
    Ok(p)
}

/// dockerd's environment of an exec: `PATH`, `HOSTNAME` and (with a TTY) `TERM=xterm`, then
/// the container's env replacing those by key, then the exec's `-e` values replacing or
/// appending by key. An exec entry without `=` unsets that variable (moby's
/// `ReplaceOrAppendEnvValues`).
pub fn exec_env(
    hostname: &str,
    tty: bool,
    container_env: &[String],
    exec: &[String],
) -> Vec<String> {
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if tty {
        env.push("TERM=xterm".into());
    }
    env = replace_or_append(env, container_env);
    replace_or_append(env, exec)
}

fn key(kv: &str) -> &str {
    kv.split_once('=').map_or(kv, |(k, _)| k)
}

fn replace_or_append(mut base: Vec<String>, overrides: &[String]) -> Vec<String> {
    let mut unset: Vec<&str> = Vec::new();
    for kv in overrides {
        if !kv.contains('=') {
            unset.push(kv);
            continue;
        }
        match base.iter_mut().find(|e| key(e) == key(kv)) {
            Some(slot) => *slot = kv.clone(),
            None => base.push(kv.clone()),
        }
    }
    base.retain(|e| !unset.contains(&key(e)));
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Value {
        json!({
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["httpd", "-f"],
            "env": ["PATH=/bin"],
            "cwd": "/www",
            "capabilities": {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"]},
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}],
            "noNewPrivileges": true,
        })
    }

    #[test]
    fn exec_keeps_the_containers_limits_and_replaces_the_command() {
        let e = ExecSpec {
            args: vec!["ls".into(), "/".into()],
            env: vec!["A=1".into()],
            ..Default::default()
        };
        let p = process(&base(), &e).unwrap();
        assert_eq!(p["args"], json!(["ls", "/"]));
        assert_eq!(p["env"], json!(["A=1"]));
        assert_eq!(p["cwd"], "/");
        assert_eq!(p["terminal"], false);
        assert_eq!(p["rlimits"][0]["soft"], 10);
        assert_eq!(p["noNewPrivileges"], true);
        assert_eq!(p["capabilities"]["effective"], json!(["CAP_CHOWN"]));
        assert_eq!(p["user"]["uid"], 0);
        assert!(p.get("consoleSize").is_none());
        // The result is a valid OCI process.
        let _: oci_spec::runtime::Process = serde_json::from_value(p).unwrap();
    }

    #[test]
    fn exec_tty_size_workdir_and_privileged() {
        let e = ExecSpec {
            args: vec!["sh".into()],
            working_dir: "/tmp".into(),
            tty: true,
            privileged: true,
            console_size: Some((24, 80)),
            ..Default::default()
        };
        let p = process(&base(), &e).unwrap();
        assert_eq!(p["terminal"], true);
        assert_eq!(p["cwd"], "/tmp");
        assert_eq!(p["consoleSize"], json!({"height": 24, "width": 80}));
        let eff = p["capabilities"]["effective"].as_array().unwrap();
        assert!(eff.len() > 1, "{eff:?}");
        assert!(eff.contains(&json!("CAP_CHOWN")));
    }

    #[test]
    fn exec_user_is_resolved_in_the_rootfs() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/group"),
            "app:x:1001:\nextra:x:1002:app\n",
        )
        .unwrap();
        let e = ExecSpec {
            rootfs: d.path().to_owned(),
            args: vec!["id".into()],
            user: "app".into(),
            ..Default::default()
        };
        let p = process(&base(), &e).unwrap();
        assert_eq!(
            p["user"],
            json!({"uid": 1000, "gid": 1001, "additionalGids": [1001, 1002]})
        );
        let e = ExecSpec {
            user: "nobody".into(),
            ..e
        };
        let err = process(&base(), &e).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unable to find user nobody: no matching entries in passwd file"
        );
    }

    #[test]
    fn empty_command_is_refused() {
        assert!(matches!(
            process(&base(), &ExecSpec::default()),
            Err(SpecError::NoCommand)
        ));
    }

    #[test]
    fn exec_env_follows_dockerd() {
        let env = exec_env(
            "web",
            true,
            &["PATH=/custom".into(), "A=1".into(), "B=2".into()],
            &["B=3".into(), "A".into(), "C=4".into()],
        );
        assert_eq!(
            env,
            vec!["PATH=/custom", "HOSTNAME=web", "TERM=xterm", "B=3", "C=4"]
        );
        let env = exec_env("h", false, &[], &[]);
        assert_eq!(
            env,
            vec![format!("PATH={DEFAULT_PATH}"), "HOSTNAME=h".into()]
        );
    }
}
