//! Loading a compiled seccomp filter (classic BPF) into the calling thread.

use nix::errno::Errno;

use super::SysError;

/// The size of one BPF instruction (`struct sock_filter`).
pub const BPF_INSN_SIZE: usize = std::mem::size_of::<libc::sock_filter>();

/// Installs `program` (raw `struct sock_filter` instructions, as libseccomp exports them) with
/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, …)`. The caller needs `CAP_SYS_ADMIN` or
/// no-new-privileges, as for any filter.
pub fn load_seccomp_filter(program: &[u8], flags: u32) -> Result<(), SysError> {
    let invalid = || SysError::Call {
        call: "seccomp(SECCOMP_SET_MODE_FILTER)",
        source: Errno::EINVAL,
    };
    if program.is_empty() || !program.len().is_multiple_of(BPF_INSN_SIZE) {
        return Err(invalid());
    }
    // Copy into properly aligned instructions: the bytes come from a Vec<u8>.
    let insns: Vec<libc::sock_filter> = program
        .chunks_exact(BPF_INSN_SIZE)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    let len = u16::try_from(insns.len()).map_err(|_| invalid())?;
    let prog = libc::sock_fprog {
        len,
        filter: insns.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `len` initialised instructions in `insns`, which outlives the
    // call; the kernel copies the program and keeps no pointer to our memory.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags as libc::c_ulong,
            &prog as *const libc::sock_fprog,
        )
    };
    Errno::result(ret)
        .map(drop)
        .map_err(|source| SysError::Call {
            call: "seccomp(SECCOMP_SET_MODE_FILTER)",
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_programs_are_refused_before_the_kernel_sees_them() {
        assert!(load_seccomp_filter(&[], 0).is_err());
        assert!(load_seccomp_filter(&[0u8; 9], 0).is_err());
    }

    #[test]
    fn a_filter_loads_and_applies_to_its_thread() {
        let insn = |code: u16, jt: u8, jf: u8, k: u32| {
            let mut b = code.to_ne_bytes().to_vec();
            b.extend([jt, jf]);
            b.extend(k.to_ne_bytes());
            b
        };
        // [ld nr; jeq getpid ? next : skip; ret ERRNO(EPERM); ret ALLOW]
        let mut prog = Vec::new();
        prog.extend(insn(0x20, 0, 0, 0));
        prog.extend(insn(0x15, 0, 1, libc::SYS_getpid as u32));
        prog.extend(insn(0x06, 0, 0, 0x0005_0000 | libc::EPERM as u32));
        prog.extend(insn(0x06, 0, 0, 0x7fff_0000));
        // Filters and no-new-privileges belong to one thread: use a thread of our own.
        let in_thread = std::thread::spawn(move || {
            // SAFETY: sets this thread's no_new_privs bit; no memory is passed.
            assert_eq!(
                unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) },
                0
            );
            load_seccomp_filter(&prog, 0).unwrap();
            // SAFETY: a raw syscall without arguments.
            unsafe { libc::syscall(libc::SYS_getpid) }
        })
        .join()
        .unwrap();
        assert_eq!(
            in_thread, -1,
            "getpid must be refused in the filtered thread"
        );
        // SAFETY: as above, in this unfiltered thread.
        assert!(unsafe { libc::syscall(libc::SYS_getpid) } > 0);
    }
}
