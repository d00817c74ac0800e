//! The OCI runtimes a container may run under (`docker run --runtime NAME`): the built-in one
//! (youki's libcontainer inside `berth-shim`, named [`BUILTIN`]), `runc` and `crun` when their
//! binaries are installed, and whatever `daemon.json` declares under `runtimes`. One of them
//! is the default (`--default-runtime`, else the built-in one).
//!
//! dockerd calls its default runtime `runc`; berth's default is its own libcontainer runtime,
//! so it is called `berth`, and `runc` means Debian's runc binary. `HostConfig.Runtime` is
//! filled with the name a container was created with, as dockerd does, so a restart or a
//! daemon upgrade keeps it on the same runtime.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{Error, Result};

/// The name of the built-in runtime.
pub const BUILTIN: &str = "berth";

/// External runtimes looked for on the host, by binary name.
const WELL_KNOWN: &[&str] = &["runc", "crun"];

/// How a runtime runs containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    /// libcontainer in the shim.
    Builtin,
    /// An OCI runtime binary (runc's command line) driven by the shim.
    Oci {
        /// The binary.
        path: PathBuf,
        /// Arguments given before the subcommand (`runtimeArgs`).
        args: Vec<String>,
    },
}

/// A runtime as `daemon.json` declares it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeclaredRuntime {
    /// The binary (absolute, or looked up in `PATH`).
    #[serde(default)]
    pub path: String,
    /// Arguments given before the subcommand.
    #[serde(default)]
    pub runtime_args: Vec<String>,
    /// A containerd shim type (`io.containerd.runc.v2`): not supported by berth.
    #[serde(default)]
    pub runtime_type: Option<String>,
    /// Options of a containerd shim: not supported by berth.
    #[serde(default)]
    pub options: Option<Value>,
}

/// Every runtime of the daemon, and the default.
#[derive(Debug, Clone)]
pub struct Runtimes {
    default: String,
    map: BTreeMap<String, Runtime>,
}

/// Finds `name` in `PATH` (and the sbin directories a root shell has).
pub fn find_binary(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain([
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ])
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| is_executable(p));
    found
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl Runtimes {
    /// The built-in runtime, `runc`/`crun` if installed, and the declared ones; `default` (if
    /// given) must be one of them.
    pub fn new(
        declared: &BTreeMap<String, DeclaredRuntime>,
        default: Option<&str>,
    ) -> Result<Runtimes> {
        let mut map = BTreeMap::new();
        map.insert(BUILTIN.to_string(), Runtime::Builtin);
        for name in WELL_KNOWN {
            if let Some(path) = find_binary(name) {
                map.insert(name.to_string(), Runtime::Oci { path, args: vec![] });
            }
        }
        for (name, d) in declared {
            if name == BUILTIN {
                return Err(Error::invalid(format!(
                    "runtime name '{BUILTIN}' is reserved: it is berth's built-in runtime"
                )));
            }
            if d.runtime_type.is_some() || d.options.is_some() {
                return Err(Error::invalid(format!(
                    "runtime {name}: runtimeType and options (containerd shims) are not supported by berth; give the path of an OCI runtime binary"
                )));
            }
            if d.path.is_empty() {
                return Err(Error::invalid(format!(
                    "runtime {name}: a path is required"
                )));
            }
            let path = find_binary(&d.path).ok_or_else(|| {
                Error::invalid(format!("runtime {name}: {}: no such executable", d.path))
            })?;
            map.insert(
                name.clone(),
                Runtime::Oci {
                    path,
                    args: d.runtime_args.clone(),
                },
            );
        }
        let default = default
            .filter(|d| !d.is_empty())
            .unwrap_or(BUILTIN)
            .to_string();
        if !map.contains_key(&default) {
            return Err(Error::invalid(format!(
                "default runtime {default} is not among the runtimes: {}",
                map.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(Runtimes { default, map })
    }

    /// The built-in runtime alone (tests).
    pub fn builtin() -> Runtimes {
        Runtimes {
            default: BUILTIN.into(),
            map: BTreeMap::from([(BUILTIN.to_string(), Runtime::Builtin)]),
        }
    }

    /// The default runtime's name.
    pub fn default_name(&self) -> &str {
        &self.default
    }

    /// The runtime a container asks for (`""` is the default), with dockerd's error for an
    /// unknown one.
    pub fn resolve<'a>(&'a self, name: &'a str) -> Result<(&'a str, &'a Runtime)> {
        let name = if name.is_empty() { &self.default } else { name };
        self.map
            .get_key_value(name)
            .map(|(k, v)| (k.as_str(), v))
            .ok_or_else(|| Error::invalid(format!("unknown or invalid runtime name: {name}")))
    }

    /// `Runtimes` of `/info`: name → `{"path": …, "runtimeArgs": […]}`.
    pub fn info(&self, shim: &Path) -> Value {
        let mut out = serde_json::Map::new();
        for (name, rt) in &self.map {
            let v = match rt {
                Runtime::Builtin => json!({"path": shim.display().to_string()}),
                Runtime::Oci { path, args } if args.is_empty() => {
                    json!({"path": path.display().to_string()})
                }
                Runtime::Oci { path, args } => {
                    json!({"path": path.display().to_string(), "runtimeArgs": args})
                }
            };
            out.insert(name.clone(), v);
        }
        Value::Object(out)
    }

    /// `RuncCommit.ID` of `/info`: the default runtime's version (`runc --version`'s commit
    /// line, or libcontainer's version for the built-in one).
    pub fn default_version(&self) -> String {
        match self.map.get(&self.default) {
            Some(Runtime::Oci { path, .. }) => binary_version(path),
            _ => format!("libcontainer-{}", LIBCONTAINER_VERSION),
        }
    }
}

/// The libcontainer release the built-in runtime is built with.
pub const LIBCONTAINER_VERSION: &str = "0.7.0";

/// What `<binary> --version` says of itself: runc's `commit:` line, else its first line's
/// version word.
fn binary_version(path: &Path) -> String {
    let out = std::process::Command::new(path).arg("--version").output();
    let Ok(out) = out else {
        return "N/A".into();
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if let Some(c) = text.lines().find_map(|l| l.strip_prefix("commit:")) {
        return c.trim().to_string();
    }
    text.lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or("N/A")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_resolves_names_like_dockerd() {
        let declared = BTreeMap::from([(
            "debug-runc".to_string(),
            DeclaredRuntime {
                path: "/bin/sh".into(),
                runtime_args: vec!["--debug".into()],
                ..Default::default()
            },
        )]);
        let r = Runtimes::new(&declared, None).unwrap();
        assert_eq!(r.default_name(), BUILTIN);
        assert_eq!(r.resolve("").unwrap().0, BUILTIN);
        assert_eq!(
            r.resolve("debug-runc").unwrap().1,
            &Runtime::Oci {
                path: "/bin/sh".into(),
                args: vec!["--debug".into()]
            }
        );
        let e = r.resolve("nope").unwrap_err();
        assert_eq!(e.to_string(), "unknown or invalid runtime name: nope");
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        let info = r.info(Path::new("/usr/bin/berth-shim"));
        assert_eq!(info["berth"]["path"], "/usr/bin/berth-shim");
        assert_eq!(info["debug-runc"]["runtimeArgs"][0], "--debug");
        assert!(Runtimes::new(&BTreeMap::new(), Some("nope")).is_err());
        let reserved = BTreeMap::from([(BUILTIN.to_string(), DeclaredRuntime::default())]);
        assert!(Runtimes::new(&reserved, None).is_err());
        let shim = BTreeMap::from([(
            "kata".to_string(),
            DeclaredRuntime {
                runtime_type: Some("io.containerd.kata.v2".into()),
                ..Default::default()
            },
        )]);
        assert!(Runtimes::new(&shim, None)
            .unwrap_err()
            .to_string()
            .contains("not supported"));
    }

    #[test]
    fn installed_runc_is_registered() {
        // Debian's runc is a test dependency (scripts/deps.sh).
        let r = Runtimes::new(&BTreeMap::new(), Some("runc")).unwrap();
        assert!(matches!(r.resolve("runc").unwrap().1, Runtime::Oci { .. }));
        assert!(!r.default_version().is_empty());
    }
}
