//! Build arguments with the classic builder's rules (moby's `buildargs.go`): a `--build-arg`
//! is usable only once an `ARG` declares it (in the stage, or before the first `FROM` for
//! `FROM` lines); an `ARG` default applies when no `--build-arg` overrides it; the proxy
//! variables are predefined, usable without `ARG`, and kept out of the image's history unless
//! an `ARG` names them; unused `--build-arg`s get a warning. BuildKit's automatic platform
//! arguments (`TARGETPLATFORM`, `BUILDARCH` …) are predefined too.

use std::collections::{BTreeMap, BTreeSet};

use crate::options::host_platform;

/// The predefined proxy arguments: transparent, so kept out of history.
pub const PROXY_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// BuildKit's automatic platform arguments and their values on this host.
pub fn platform_args() -> Vec<(String, String)> {
    let (os, arch) = host_platform();
    let platform = format!("{os}/{arch}");
    let mut v = Vec::new();
    for pfx in ["TARGET", "BUILD"] {
        v.push((format!("{pfx}PLATFORM"), platform.clone()));
        v.push((format!("{pfx}OS"), os.to_string()));
        v.push((format!("{pfx}ARCH"), arch.to_string()));
        v.push((format!("{pfx}VARIANT"), String::new()));
    }
    v
}

fn is_proxy(k: &str) -> bool {
    PROXY_ARGS.contains(&k)
}

/// One stage's view of the build arguments.
#[derive(Debug, Clone)]
pub struct BuildArgs {
    /// `--build-arg`s as given.
    from_options: BTreeMap<String, Option<String>>,
    /// Declared in this stage (value: the expanded default, if any).
    allowed: BTreeMap<String, Option<String>>,
    /// Declared before the first `FROM`.
    meta: BTreeMap<String, Option<String>>,
    /// Every name an `ARG` declared, for the unused warning.
    referenced: BTreeSet<String>,
}

impl BuildArgs {
    /// The arguments of a build.
    pub fn new(from_options: BTreeMap<String, Option<String>>) -> BuildArgs {
        let mut meta = BTreeMap::new();
        // Automatic platform args exist in the global scope (BuildKit).
        for (k, v) in platform_args() {
            meta.insert(k, Some(v));
        }
        BuildArgs {
            from_options,
            allowed: BTreeMap::new(),
            meta,
            referenced: BTreeSet::new(),
        }
    }

    /// A copy for a new stage: nothing declared in it yet.
    pub fn for_stage(&self) -> BuildArgs {
        BuildArgs {
            allowed: BTreeMap::new(),
            ..self.clone()
        }
    }

    /// `ARG name[=default]` in a stage (`default` already expanded).
    pub fn declare(&mut self, key: &str, default: Option<String>) {
        self.allowed.insert(key.to_string(), default);
        self.referenced.insert(key.to_string());
    }

    /// `ARG name[=default]` before the first `FROM`.
    pub fn declare_meta(&mut self, key: &str, default: Option<String>) {
        self.meta.insert(key.to_string(), default.clone());
        self.declare(key, default);
    }

    fn value_in(&self, key: &str, map: &BTreeMap<String, Option<String>>) -> Option<String> {
        if let Some(Some(v)) = self.from_options.get(key) {
            return Some(v.clone());
        }
        match map.get(key) {
            Some(Some(d)) => Some(d.clone()),
            // Declared without default in a stage: the global value, if any.
            _ => self.meta.get(key).cloned().flatten(),
        }
    }

    fn all_in(&self, map: &BTreeMap<String, Option<String>>) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let keys = map.keys().map(String::as_str).chain(PROXY_ARGS);
        for k in keys {
            let declared_or_proxy = map.contains_key(k) || is_proxy(k);
            if !declared_or_proxy {
                continue;
            }
            let v = if map.contains_key(k) {
                self.value_in(k, map)
            } else {
                self.from_options.get(k).cloned().flatten()
            };
            if let Some(v) = v {
                out.insert(k.to_string(), v);
            }
        }
        out
    }

    /// Every usable argument of the stage with its value (declared ones, and proxy ones
    /// given on the command line).
    pub fn allowed(&self) -> BTreeMap<String, String> {
        self.all_in(&self.allowed)
    }

    /// The global arguments, for `FROM`.
    pub fn meta(&self) -> BTreeMap<String, String> {
        let mut m = self.all_in(&self.meta);
        for (k, v) in platform_args() {
            m.entry(k).or_insert(v);
        }
        m
    }

    /// `NAME=value` for every usable argument not overridden by the environment `env`:
    /// what a RUN gets on top of its environment.
    pub fn filter_allowed(&self, env: &[String]) -> Vec<String> {
        let keys: BTreeSet<&str> = env
            .iter()
            .map(|e| e.split('=').next().unwrap_or(""))
            .collect();
        self.allowed()
            .into_iter()
            .filter(|(k, _)| !keys.contains(k.as_str()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    /// Whether `key` belongs in the history (`|N k=v` prefix): every argument but a proxy one
    /// no `ARG` declared.
    pub fn in_history(&self, key: &str) -> bool {
        self.allowed.contains_key(key) || !is_proxy(key)
    }

    /// Merges what another stage declared (for the unused warning).
    pub fn merge_referenced(&mut self, other: &BuildArgs) {
        self.referenced.extend(other.referenced.iter().cloned());
    }

    /// `--build-arg`s no `ARG` declared (proxy ones excepted), sorted.
    pub fn unused(&self) -> Vec<String> {
        self.from_options
            .keys()
            .filter(|k| !self.referenced.contains(*k) && !is_proxy(k))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    }

    #[test]
    fn classic_rules() {
        let mut a = BuildArgs::new(opts(&[
            ("V", Some("cli")),
            ("UNUSED", Some("x")),
            ("http_proxy", Some("p")),
            ("NOVAL", None),
        ]));
        a.declare_meta("BASE", Some("busybox".into()));
        let mut s = a.for_stage();
        assert_eq!(s.allowed().get("http_proxy").map(String::as_str), Some("p"));
        assert!(
            !s.allowed().contains_key("V"),
            "not declared in the stage yet"
        );
        s.declare("V", Some("default".into()));
        s.declare("D", Some("d".into()));
        s.declare("BASE", None);
        s.declare("NOVAL", None);
        let all = s.allowed();
        assert_eq!(all["V"], "cli");
        assert_eq!(all["D"], "d");
        assert_eq!(
            all["BASE"], "busybox",
            "a global's value flows into the stage"
        );
        assert!(!all.contains_key("NOVAL"));
        assert!(!s.in_history("http_proxy"));
        assert!(s.in_history("V"));
        assert_eq!(
            s.filter_allowed(&["D=fromenv".into()]),
            ["BASE=busybox", "V=cli", "http_proxy=p"]
        );
        a.merge_referenced(&s);
        assert_eq!(a.unused(), ["UNUSED"]);
        assert_eq!(a.meta()["BASE"], "busybox");
        assert!(a.meta().contains_key("TARGETPLATFORM"));
    }
}
