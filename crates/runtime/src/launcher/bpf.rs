//! A container's seccomp profile compiled to a BPF program once, for all its execs.
//!
//! Turning Docker's default profile into BPF with libseccomp costs about 20 ms — more than
//! the rest of an exec. The shim compiles it on the first exec (the same translation
//! libcontainer applies to the container's init: same actions, default errno `EPERM`, same
//! argument comparisons), keeps the program (a few KiB), and each exec only loads it
//! ([`crate::sys::load_seccomp_filter`]). The compiling runs in a forked child
//! ([`compile_in_child`]): libseccomp's megabyte of working memory never becomes the shim's.
//! A profile this cannot express for an exec (a notify action, which needs a listener) is
//! left to libcontainer, per exec.

use std::io::{Read, Seek};
use std::os::fd::AsFd;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction as Act, LinuxSeccompFilterFlag as Flag,
    LinuxSeccompOperator as Op,
};

/// A compiled filter: the program and the `seccomp(2)` flags to load it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bpf {
    /// Raw `struct sock_filter` instructions.
    pub program: Vec<u8>,
    /// `SECCOMP_FILTER_FLAG_*`.
    pub flags: u32,
}

fn action(a: Act, errno: Option<u32>) -> Result<ScmpAction, String> {
    let errno = errno.map_or(libc::EPERM, |e| e as i32);
    Ok(match a {
        Act::ScmpActKill | Act::ScmpActKillThread => ScmpAction::KillThread,
        Act::ScmpActKillProcess => ScmpAction::KillProcess,
        Act::ScmpActTrap => ScmpAction::Trap,
        Act::ScmpActErrno => ScmpAction::Errno(errno),
        Act::ScmpActTrace => ScmpAction::Trace(
            u16::try_from(errno).map_err(|_| format!("trace errno {errno} out of range"))?,
        ),
        Act::ScmpActAllow => ScmpAction::Allow,
        Act::ScmpActLog => ScmpAction::Log,
        Act::ScmpActNotify => return Err("notify actions need a listener".into()),
    })
}

fn arch(a: Arch) -> ScmpArch {
    match a {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

fn op(o: Op, value_two: Option<u64>) -> ScmpCompareOp {
    match o {
        Op::ScmpCmpNe => ScmpCompareOp::NotEqual,
        Op::ScmpCmpLt => ScmpCompareOp::Less,
        Op::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        Op::ScmpCmpEq => ScmpCompareOp::Equal,
        Op::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        Op::ScmpCmpGt => ScmpCompareOp::Greater,
        // As libcontainer reads it for the container's init, so both filters agree.
        Op::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(value_two.unwrap_or(0)),
    }
}

fn flags(s: &LinuxSeccomp) -> Result<u32, String> {
    let mut out = 0;
    for f in s.flags().iter().flatten() {
        out |= match f {
            Flag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            Flag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            Flag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            Flag::SeccompFilterFlagWaitKillableRecv => {
                return Err("wait-killable-recv applies to notify filters only".into())
            }
        } as u32;
    }
    Ok(out)
}

fn lib<T>(what: &str) -> impl Fn(T) -> String + '_
where
    T: std::fmt::Display,
{
    move |e| format!("seccomp {what}: {e}")
}

/// Builds the libseccomp filter for `s`.
fn context(s: &LinuxSeccomp) -> Result<ScmpFilterContext, String> {
    let default = action(s.default_action(), s.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default).map_err(lib("filter"))?;
    for a in s.architectures().iter().flatten() {
        ctx.add_arch(arch(*a)).map_err(lib("arch"))?;
    }
    // Loading never sets no-new-privileges on its own: the process spec decides.
    ctx.set_ctl_nnp(false).map_err(lib("nnp"))?;
    for rule in s.syscalls().iter().flatten() {
        let act = action(rule.action(), rule.errno_ret())?;
        if act == default {
            continue;
        }
        for name in rule.names() {
            // A name this kernel's libseccomp does not know cannot be called anyway.
            let Ok(sc) = ScmpSyscall::from_name(name) else {
                continue;
            };
            let args: Vec<ScmpArgCompare> = rule
                .args()
                .iter()
                .flatten()
                .map(|a| {
                    ScmpArgCompare::new(a.index() as u32, op(a.op(), a.value_two()), a.value())
                })
                .collect();
            let mut indexes: Vec<u32> = rule
                .args()
                .iter()
                .flatten()
                .map(|a| a.index() as u32)
                .collect();
            indexes.sort_unstable();
            let repeated = indexes.windows(2).any(|w| w[0] == w[1]);
            if args.is_empty() {
                ctx.add_rule(act, sc).map_err(lib("rule"))?;
            } else if repeated {
                // One comparison per argument and rule (seccomp_rule_add(3)): split them.
                for a in &args {
                    ctx.add_rule_conditional(act, sc, std::slice::from_ref(a))
                        .map_err(lib("rule"))?;
                }
            } else {
                ctx.add_rule_conditional(act, sc, &args)
                    .map_err(lib("rule"))?;
            }
        }
    }
    Ok(ctx)
}

fn memfd() -> Result<std::fs::File, String> {
    nix::sys::memfd::memfd_create(
        c"berth-seccomp",
        nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC,
    )
    .map(std::fs::File::from)
    .map_err(lib("memfd"))
}

/// Compiles `s` to BPF in this process (the tests' reference for [`compile_in_child`]).
#[cfg(test)]
fn compile(s: &LinuxSeccomp) -> Result<Bpf, String> {
    let flags = flags(s)?;
    let out = memfd()?;
    context(s)?.export_bpf(out.as_fd()).map_err(lib("export"))?;
    read_program(out, flags)
}

/// Compiles `s` to BPF, or says why it cannot be used for execs. A forked child does the work
/// and writes the program to a memfd: the caller's heap never holds libseccomp's working
/// memory. Only for single-threaded callers (the shim).
pub fn compile_in_child(s: &LinuxSeccomp) -> Result<Bpf, String> {
    use nix::sys::wait::{waitpid, WaitStatus};
    let flags = flags(s)?;
    let out = memfd()?;
    match crate::sys::fork().map_err(lib("fork"))? {
        crate::sys::Forked::Child => {
            let ok = context(s).and_then(|ctx| ctx.export_bpf(out.as_fd()).map_err(lib("export")));
            std::process::exit(if ok.is_ok() { 0 } else { 1 })
        }
        crate::sys::Forked::Parent { child } => {
            match waitpid(nix::unistd::Pid::from_raw(child), None).map_err(lib("wait"))? {
                WaitStatus::Exited(_, 0) => read_program(out, flags),
                other => Err(format!("seccomp compiler ended with {other:?}")),
            }
        }
    }
}

fn read_program(mut f: std::fs::File, flags: u32) -> Result<Bpf, String> {
    f.rewind().map_err(lib("read back"))?;
    let mut program = Vec::new();
    f.read_to_end(&mut program).map_err(lib("read back"))?;
    if program.is_empty() || !program.len().is_multiple_of(crate::sys::BPF_INSN_SIZE) {
        return Err(format!(
            "seccomp export: {} bytes is no program",
            program.len()
        ));
    }
    Ok(Bpf { program, flags })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::seccomp::{compile as compile_profile, default_profile};

    #[test]
    fn the_default_profile_compiles_to_a_loadable_program() {
        let caps: Vec<String> = crate::spec::DEFAULT_CAPABILITIES
            .iter()
            .map(|c| c.to_string())
            .collect();
        let s = compile_profile(&default_profile(), &caps).unwrap();
        let bpf = compile(&s).unwrap();
        assert_eq!(bpf.flags, 0);
        assert!(
            bpf.program.len() > 100 * crate::sys::BPF_INSN_SIZE,
            "{}",
            bpf.program.len()
        );
        // Loaded in a thread of its own: unshare(2) is refused, getpid is not.
        let (unshare, getpid) = std::thread::spawn(move || {
            // SAFETY: sets this thread's no_new_privs bit; no memory is passed.
            unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
            crate::sys::load_seccomp_filter(&bpf.program, bpf.flags).unwrap();
            // SAFETY: raw syscalls with plain integer arguments.
            unsafe {
                (
                    libc::syscall(libc::SYS_unshare, libc::CLONE_NEWUTS),
                    libc::syscall(libc::SYS_getpid),
                )
            }
        })
        .join()
        .unwrap();
        assert_eq!(unshare, -1);
        assert!(getpid > 0);
    }

    #[test]
    fn compiling_in_a_child_gives_the_same_program() {
        let caps: Vec<String> = crate::spec::DEFAULT_CAPABILITIES
            .iter()
            .map(|c| c.to_string())
            .collect();
        let s = compile_profile(&default_profile(), &caps).unwrap();
        // Tests run in threads, so this forks a multi-threaded process: the child only
        // compiles and exits, and the comparison is what matters here.
        assert_eq!(compile_in_child(&s).unwrap(), compile(&s).unwrap());
    }

    #[test]
    fn notify_profiles_are_left_to_libcontainer() {
        let s: LinuxSeccomp = serde_json::from_value(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_NOTIFY"}]
        }))
        .unwrap();
        assert!(compile(&s).unwrap_err().contains("notify"));
    }
}
