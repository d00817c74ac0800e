//! berth's default seccomp profile: an allow-list equivalent in effect to Docker's default.
//!
//! Written from the Linux syscall tables and Docker's documented behaviour ("Seccomp security
//! profiles for Docker"): everything not listed fails with EPERM. Left out on purpose (the
//! documented blocked list): accounting (`acct`), keyrings (`add_key`, `keyctl`,
//! `request_key`), `bpf`, clock setting, module loading, `kexec_*`, `mount`/`umount*` and the new
//! mount API, namespace calls (`unshare`, `setns`, `clone` with namespace flags), `pivot_root`,
//! `ptrace` on kernels before 4.8, cross-process memory access, NUMA policy, `perf_event_open`,
//! `quotactl`, `reboot`, `swapon`/`swapoff`, `sysfs`, `_sysctl`, `userfaultfd`, `ustat`,
//! `vm86*`, `open_by_handle_at`/`name_to_handle_at`, `io_uring_*`. Most come back when the
//! capability that guards them in the kernel is granted (e.g. CAP_SYS_ADMIN).
//! `clone3` fails with ENOSYS without CAP_SYS_ADMIN (its flags live in memory seccomp cannot
//! read), so libc falls back to `clone`, whose flags are checked.

use oci_spec::runtime::{LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder, LinuxSeccompOperator};

use super::seccomp::{Filter, Profile, Rule};

/// Allowed for every container.
const ALLOWED: &[&str] = &[
    // files and descriptors
    "access", "faccessat", "faccessat2", "chdir", "fchdir", "getcwd", "chmod", "fchmod", "fchmodat",
    "fchmodat2", "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32", "close",
    "close_range", "creat", "dup", "dup2", "dup3", "fcntl", "fcntl64", "flock", "fsync", "fdatasync",
    "sync", "syncfs", "sync_file_range", "ftruncate", "ftruncate64", "truncate", "truncate64",
    "getdents", "getdents64", "readdir", "link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat",
    "rename", "renameat", "renameat2", "mkdir", "mkdirat", "mknod", "mknodat", "rmdir", "open", "openat",
    "openat2", "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev",
    "pwritev2", "lseek", "_llseek", "readlink", "readlinkat", "stat", "stat64", "lstat", "lstat64",
    "fstat", "fstat64", "fstatat64", "newfstatat", "statx", "statfs", "statfs64", "fstatfs", "fstatfs64",
    "umask", "utime", "utimes", "utimensat", "utimensat_time64", "futimesat", "sendfile", "sendfile64",
    "splice", "tee", "vmsplice", "copy_file_range", "fallocate", "fadvise64", "fadvise64_64",
    "arm_fadvise64_64", "readahead", "ioctl", "pipe", "pipe2", "memfd_create", "fanotify_mark",
    "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "getxattr", "lgetxattr",
    "fgetxattr", "setxattr", "lsetxattr", "fsetxattr", "listxattr", "llistxattr", "flistxattr",
    "removexattr", "lremovexattr", "fremovexattr", "getxattrat", "setxattrat", "listxattrat",
    "removexattrat",
    // polling and events
    "select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait", "epoll_wait_old",
    "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "signalfd", "signalfd4", "timerfd_create",
    "timerfd_settime", "timerfd_settime64", "timerfd_gettime", "timerfd_gettime64", "futex",
    "futex_time64", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue", "get_robust_list",
    "set_robust_list",
    // memory
    "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "pkey_mprotect", "pkey_alloc", "pkey_free",
    "madvise", "mincore", "mlock", "mlock2", "mlockall", "munlock", "munlockall", "msync",
    "remap_file_pages", "membarrier", "map_shadow_stack", "mseal", "cachestat",
    // processes, threads, signals
    "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "waitpid", "kill",
    "tkill", "tgkill", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
    "sigaction", "sigaltstack", "signal", "sigpending", "sigprocmask", "sigreturn", "sigsuspend",
    "pause", "getpid", "getppid", "gettid", "getpgid", "getpgrp", "setpgid", "getsid", "setsid",
    "set_tid_address", "arch_prctl", "prctl", "set_thread_area", "get_thread_area", "rseq",
    "pidfd_open", "pidfd_send_signal", "process_mrelease", "sched_getaffinity", "sched_setaffinity",
    "sched_getattr", "sched_setattr", "sched_getparam", "sched_setparam", "sched_getscheduler",
    "sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_yield", "getpriority", "setpriority", "ioprio_get",
    "ioprio_set", "getrlimit", "ugetrlimit", "setrlimit", "prlimit64", "getrusage", "times",
    "capget", "capset", "restart_syscall", "seccomp", "landlock_create_ruleset", "landlock_add_rule",
    "landlock_restrict_self", "modify_ldt", "s390_pci_mmio_read", "riscv_flush_icache",
    "cacheflush", "breakpoint", "set_tls", "arm_sync_file_range", "sync_file_range2",
    // credentials
    "getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32",
    "getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32", "setuid",
    "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32", "setresuid",
    "setresuid32", "setresgid", "setresgid32", "setgroups", "setgroups32", "setfsuid", "setfsuid32",
    "setfsgid", "setfsgid32",
    // time (reading and sleeping; setting needs CAP_SYS_TIME)
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "gettimeofday", "time", "nanosleep", "alarm", "getitimer", "setitimer",
    "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64", "adjtimex",
    // sockets
    "socket", "socketpair", "socketcall", "bind", "connect", "listen", "accept", "accept4",
    "getsockname", "getpeername", "getsockopt", "setsockopt", "send", "sendto", "sendmsg", "sendmmsg",
    "recv", "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64", "shutdown",
    // IPC
    "ipc", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop",
    "semtimedop_time64", "semctl", "shmget", "shmat", "shmdt", "shmctl", "mq_open", "mq_unlink",
    "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64", "mq_notify",
    "mq_getsetattr",
    // async I/O (io_uring is left out, as Docker does since 2023)
    "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64",
    // system information
    "uname", "sysinfo", "getcpu", "getrandom",
];

/// Syscalls the kernel itself guards with a capability: allowed when the container has it.
const BY_CAPABILITY: &[(&str, &[&str])] = &[
    ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
    (
        "CAP_SYS_ADMIN",
        &[
            "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
            "lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at", "open_tree",
            "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns",
            "syslog", "umount", "umount2", "unshare",
        ],
    ),
    ("CAP_SYS_BOOT", &["reboot"]),
    ("CAP_SYS_CHROOT", &["chroot"]),
    ("CAP_SYS_MODULE", &["delete_module", "init_module", "finit_module"]),
    ("CAP_SYS_PACCT", &["acct"]),
    ("CAP_SYS_PTRACE", &["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"]),
    ("CAP_SYS_RAWIO", &["iopl", "ioperm"]),
    ("CAP_SYS_TIME", &["settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64"]),
    ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
    ("CAP_SYS_NICE", &["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node", "move_pages"]),
    ("CAP_SYSLOG", &["syslog"]),
    ("CAP_BPF", &["bpf"]),
    ("CAP_PERFMON", &["perf_event_open"]),
];

/// All CLONE_NEW* flags: `clone` is allowed only when none of them is set.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// `personality` values allowed without CAP_SYS_ADMIN: PER_LINUX, PER_LINUX32, UNAME26,
/// UNAME26|PER_LINUX32, and the query value 0xffffffff.
const PERSONALITIES: [u64; 5] = [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

fn allow(names: &[&str]) -> Rule {
    Rule {
        names: names.iter().map(|n| n.to_string()).collect(),
        action: LinuxSeccompAction::ScmpActAllow,
        ..Rule::default()
    }
}

fn arg(index: usize, value: u64, value_two: Option<u64>, op: LinuxSeccompOperator) -> LinuxSeccompArg {
    // The builder's only failure is a missing required field; all are set here.
    let b = LinuxSeccompArgBuilder::default().index(index).value(value).op(op);
    let b = match value_two {
        Some(v) => b.value_two(v),
        None => b,
    };
    b.build().unwrap_or_default()
}

/// The default profile (Docker's behaviour; see the module doc).
pub fn default_profile() -> Profile {
    let mut rules = vec![allow(ALLOWED)];
    // ptrace is safe from kernel 4.8 on (seccomp is re-checked after a tracer changes a call).
    let mut ptrace = allow(&["ptrace", "process_vm_readv", "process_vm_writev"]);
    ptrace.includes.min_kernel = Some("4.8".into());
    rules.push(ptrace);
    for value in PERSONALITIES {
        let mut r = allow(&["personality"]);
        r.args = Some(vec![arg(0, value, None, LinuxSeccompOperator::ScmpCmpEq)]);
        rules.push(r);
    }
    // s390 passes clone's flags as the second argument; every other arch as the first.
    let mut clone = allow(&["clone"]);
    clone.args = Some(vec![arg(0, CLONE_NAMESPACE_FLAGS, Some(0), LinuxSeccompOperator::ScmpCmpMaskedEq)]);
    clone.excludes = Filter { caps: vec!["CAP_SYS_ADMIN".into()], arches: vec!["s390".into(), "s390x".into()], min_kernel: None };
    rules.push(clone);
    rules.push(Rule {
        names: vec!["clone3".into()],
        action: LinuxSeccompAction::ScmpActErrno,
        errno_ret: Some(libc::ENOSYS as u32),
        excludes: Filter { caps: vec!["CAP_SYS_ADMIN".into()], ..Filter::default() },
        ..Rule::default()
    });
    for (cap, names) in BY_CAPABILITY {
        let mut r = allow(names);
        r.includes.caps = vec![cap.to_string()];
        rules.push(r);
    }
    Profile {
        default_action: LinuxSeccompAction::ScmpActErrno,
        default_errno_ret: Some(libc::EPERM as u32),
        architectures: Vec::new(),
        arch_map: Vec::new(),
        syscalls: rules,
    }
}
