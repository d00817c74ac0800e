//! Seccomp profiles in Docker's format (`--security-opt seccomp=<file>`; the CLI sends the
//! file's content) and their compilation into the OCI `linux.seccomp` section for this host's
//! architecture and the container's capabilities.
//!
//! A profile's rules may depend on capabilities (`includes.caps` / `excludes.caps`), on
//! architectures and on a minimum kernel; [`compile`] keeps the rules that apply.

use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSyscall};
use serde::Deserialize;

use crate::ErrorKind;

pub use super::seccomp_default::default_profile;

/// A seccomp profile as Docker writes it.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// What happens to a syscall no rule matches.
    pub default_action: LinuxSeccompAction,
    /// The errno for an `SCMP_ACT_ERRNO` default action.
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    /// Architectures (old form).
    #[serde(default)]
    pub architectures: Vec<String>,
    /// Native architecture → its sub-architectures.
    #[serde(default)]
    pub arch_map: Vec<ArchMap>,
    /// The rules.
    #[serde(default)]
    pub syscalls: Vec<Rule>,
}

/// One `archMap` entry.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    /// e.g. `SCMP_ARCH_X86_64`.
    pub architecture: String,
    /// e.g. `SCMP_ARCH_X86`, `SCMP_ARCH_X32`.
    #[serde(default)]
    pub sub_architectures: Vec<String>,
}

/// One rule: these syscalls get this action, if the conditions hold.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// Syscall names.
    #[serde(default)]
    pub names: Vec<String>,
    /// Old single-name form.
    #[serde(default)]
    pub name: Option<String>,
    /// The action.
    pub action: LinuxSeccompAction,
    /// The errno for `SCMP_ACT_ERRNO`.
    #[serde(default)]
    pub errno_ret: Option<u32>,
    /// Argument conditions (all must hold).
    #[serde(default)]
    pub args: Option<Vec<LinuxSeccompArg>>,
    /// The rule applies only if all of these hold.
    #[serde(default)]
    pub includes: Filter,
    /// The rule does not apply if any of these holds.
    #[serde(default)]
    pub excludes: Filter,
}

/// Conditions on a rule.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Capabilities (`CAP_SYS_ADMIN`).
    #[serde(default)]
    pub caps: Vec<String>,
    /// Architectures (`amd64`, `arm64`, …, Docker's names).
    #[serde(default)]
    pub arches: Vec<String>,
    /// Minimum kernel, `major.minor`.
    #[serde(default)]
    pub min_kernel: Option<String>,
}

/// Why a profile could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// The profile is not valid JSON of Docker's profile format.
    #[error("decoding seccomp profile failed: {source}")]
    Decode {
        #[source]
        source: serde_json::Error,
    },
    /// A `minKernel` value is not `major.minor`.
    #[error("invalid minKernel {value:?} in seccomp profile")]
    MinKernel { value: String },
    /// An architecture name is unknown.
    #[error("unknown architecture {arch:?} in seccomp profile")]
    Arch { arch: String },
}

impl SeccompError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

impl Profile {
    /// Parses a profile in Docker's JSON format.
    pub fn from_json(json: &str) -> Result<Profile, SeccompError> {
        serde_json::from_str(json).map_err(|source| SeccompError::Decode { source })
    }
}

/// This host's architecture: (Docker's name, libseccomp's native arch, sub-architectures).
fn native_arch() -> (&'static str, &'static str, &'static [&'static str]) {
    if cfg!(target_arch = "aarch64") {
        ("arm64", "SCMP_ARCH_AARCH64", &["SCMP_ARCH_ARM"])
    } else {
        (
            "amd64",
            "SCMP_ARCH_X86_64",
            &["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        )
    }
}

fn parse_arch(name: &str) -> Result<Arch, SeccompError> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        SeccompError::Arch {
            arch: name.to_string(),
        }
    })
}

fn kernel_version() -> (u32, u32) {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    parse_version(&release).unwrap_or((0, 0))
}

fn parse_version(s: &str) -> Option<(u32, u32)> {
    let mut it = s.split(['.', '-']);
    let major = it.next()?.parse().ok()?;
    let minor = it
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    Some((major, minor))
}

/// Compiles `profile` for this host's architecture and the capability set `caps`.
pub fn compile(profile: &Profile, caps: &[String]) -> Result<LinuxSeccomp, SeccompError> {
    let (docker_arch, native, subs) = native_arch();
    let kernel = kernel_version();
    let mut arches: Vec<String> = if !profile.arch_map.is_empty() {
        profile
            .arch_map
            .iter()
            .filter(|m| m.architecture == native)
            .flat_map(|m| {
                std::iter::once(m.architecture.clone()).chain(m.sub_architectures.iter().cloned())
            })
            .collect()
    } else {
        profile.architectures.clone()
    };
    if arches.is_empty() {
        arches = std::iter::once(native)
            .chain(subs.iter().copied())
            .map(str::to_string)
            .collect();
    }
    let architectures = arches
        .iter()
        .map(|a| parse_arch(a))
        .collect::<Result<Vec<_>, _>>()?;
    let mut syscalls = Vec::new();
    for rule in &profile.syscalls {
        if !applies(rule, caps, docker_arch, kernel)? {
            continue;
        }
        let mut names = rule.names.clone();
        names.extend(rule.name.iter().cloned());
        if names.is_empty() {
            continue;
        }
        let mut sc = LinuxSyscall::default();
        sc.set_names(names);
        sc.set_action(rule.action);
        sc.set_errno_ret(rule.errno_ret);
        sc.set_args(rule.args.clone().filter(|a| !a.is_empty()));
        syscalls.push(sc);
    }
    let mut out = LinuxSeccomp::default();
    out.set_default_action(profile.default_action);
    out.set_default_errno_ret(profile.default_errno_ret);
    out.set_architectures(Some(architectures));
    out.set_syscalls(Some(syscalls));
    Ok(out)
}

fn applies(
    rule: &Rule,
    caps: &[String],
    arch: &str,
    kernel: (u32, u32),
) -> Result<bool, SeccompError> {
    let has = |c: &String| caps.contains(c);
    if !rule.includes.caps.iter().all(has) || rule.excludes.caps.iter().any(has) {
        return Ok(false);
    }
    if !rule.includes.arches.is_empty() && !rule.includes.arches.iter().any(|a| a == arch) {
        return Ok(false);
    }
    if rule.excludes.arches.iter().any(|a| a == arch) {
        return Ok(false);
    }
    if let Some(min) = &rule.includes.min_kernel {
        let want =
            parse_version(min).ok_or_else(|| SeccompError::MinKernel { value: min.clone() })?;
        if kernel < want {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(s: &LinuxSeccomp) -> Vec<String> {
        s.syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .filter(|r| r.action() == LinuxSeccompAction::ScmpActAllow && r.args().is_none())
            .flat_map(|r| r.names().clone())
            .collect()
    }

    fn default_caps() -> Vec<String> {
        super::super::DEFAULT_CAPABILITIES
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn default_profile_denies_with_eperm_and_blocks_dangerous_calls() {
        let s = compile(&default_profile(), &default_caps()).unwrap();
        assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(s.default_errno_ret(), Some(libc::EPERM as u32));
        let allow = allowed(&s);
        for ok in [
            "read",
            "write",
            "execve",
            "openat",
            "chroot",
            "ptrace",
            "exit_group",
            "name_to_handle_at",
        ] {
            assert!(allow.iter().any(|n| n == ok), "{ok} should be allowed");
        }
        // clone and socket are allowed with argument filters: no namespace flags, no AF_VSOCK.
        let rules = s.syscalls().as_ref().unwrap();
        let with_args = |name: &str| {
            rules
                .iter()
                .find(|r| r.names().iter().any(|n| n == name) && r.args().is_some())
                .cloned()
        };
        let clone = with_args("clone").expect("clone rule");
        assert_eq!(clone.args().as_ref().unwrap()[0].value(), 0x7E02_0000);
        let socket = with_args("socket").expect("socket rule");
        assert_eq!(socket.args().as_ref().unwrap()[0].value(), 40);
        assert!(
            !allow.iter().any(|n| n == "socket"),
            "socket is never allowed unconditionally"
        );
        for blocked in [
            "mount",
            "umount2",
            "unshare",
            "setns",
            "keyctl",
            "add_key",
            "bpf",
            "reboot",
            "kexec_load",
            "init_module",
            "open_by_handle_at",
            "userfaultfd",
            "pivot_root",
            "swapon",
            "sethostname",
            "move_pages",
            "io_uring_setup",
        ] {
            assert!(
                !allow.iter().any(|n| n == blocked),
                "{blocked} should be blocked"
            );
        }
        let clone3 = s
            .syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .find(|r| r.names().contains(&"clone3".to_string()))
            .unwrap();
        assert_eq!(
            clone3.errno_ret(),
            Some(libc::ENOSYS as u32),
            "clone3 must fail with ENOSYS so libc falls back to clone"
        );
    }

    #[test]
    fn capabilities_unlock_their_syscalls() {
        let mut caps = default_caps();
        caps.push("CAP_SYS_ADMIN".into());
        let allow = allowed(&compile(&default_profile(), &caps).unwrap());
        for n in [
            "mount",
            "unshare",
            "setns",
            "clone",
            "clone3",
            "sethostname",
        ] {
            assert!(
                allow.iter().any(|a| a == n),
                "{n} should be allowed with CAP_SYS_ADMIN"
            );
        }
        let mut no_chroot = default_caps();
        no_chroot.retain(|c| c != "CAP_SYS_CHROOT");
        assert!(!allowed(&compile(&default_profile(), &no_chroot).unwrap())
            .contains(&"chroot".to_string()));
    }

    #[test]
    fn parses_a_docker_format_profile() {
        let json = r#"{
            "defaultAction": "SCMP_ACT_ALLOW",
            "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                {"names": ["reboot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_BOOT"]}},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}
            ]}"#;
        let p = Profile::from_json(json).unwrap();
        let s = compile(&p, &default_caps()).unwrap();
        assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActAllow);
        let rules = s.syscalls().as_ref().unwrap();
        assert_eq!(rules.len(), 2, "the CAP_SYS_BOOT rule must be dropped");
        assert_eq!(rules[0].errno_ret(), Some(13));
        assert_eq!(s.architectures().as_ref().unwrap().len(), 2);
        let e = Profile::from_json("{not json").unwrap_err();
        assert!(
            e.to_string().starts_with("decoding seccomp profile failed"),
            "{e}"
        );
    }

    #[test]
    fn kernel_versions_parse() {
        assert_eq!(parse_version("6.18.44"), Some((6, 18)));
        assert_eq!(parse_version("4.8"), Some((4, 8)));
        assert_eq!(parse_version("5.10.0-28-amd64"), Some((5, 10)));
    }
}
