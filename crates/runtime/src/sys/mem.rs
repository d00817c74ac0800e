//! Memory accounting of the shim: how big its resident set is, and shedding the pages that
//! creating a container touched.

use nix::errno::Errno;

use super::{call, SysError};

/// The resident set size of `pid` in KiB, from `/proc/<pid>/status` (VmRSS).
pub fn rss_kib(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Drops this process's page-table entries for clean, file-backed, read-only mappings (code and
/// constants of the binary and its libraries; any mapping holding anonymous, i.e. written or
/// relocated, pages is skipped), returning how many bytes were covered. The pages stay in the
/// page cache, shared with every other process; only what runs afterwards is mapped again. The
/// shim calls it once the container is created, so its resident set stops carrying the code
/// libcontainer ran (and the kernel's fault-around) for the container's whole life; the daemon
/// calls it when it goes idle after requests that ran a lot of code (a pull, a load, an
/// import). Safe with other threads running: they fault back in what they execute.
pub fn trim_file_mappings() -> Result<usize, SysError> {
    use nix::sys::mman::{madvise, MmapAdvise};
    let smaps = std::fs::read_to_string("/proc/self/smaps").map_err(|e| SysError::Call {
        call: "read /proc/self/smaps",
        source: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    })?;
    let mut total = 0;
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if !first.ends_with(':') {
            if let Some((start, end)) = first.split_once('-') {
                let mut f = line.split_whitespace().skip(1);
                let (perms, inode) = (f.next().unwrap_or(""), f.nth(2).unwrap_or("0"));
                let parsed = (
                    usize::from_str_radix(start, 16),
                    usize::from_str_radix(end, 16),
                );
                current = match parsed {
                    (Ok(s), Ok(e)) if matches!(perms, "r-xp" | "r--p") && inode != "0" => {
                        Some((s, e))
                    }
                    _ => None,
                };
                continue;
            }
        }
        // Each mapping lists "Anonymous:" once: decide then, and forget the range.
        let Some(rest) = line.strip_prefix("Anonymous:") else {
            continue;
        };
        let Some((start, end)) = current.take() else {
            continue;
        };
        if rest.trim() != "0 kB" {
            continue;
        }
        let Some(ptr) = std::ptr::NonNull::new(start as *mut libc::c_void) else {
            continue;
        };
        // SAFETY: the range is one whole mapping from /proc/self/smaps: file-backed, not
        // writable, and without anonymous pages — every resident page is an unmodified page of
        // the file. Dropping the page-table entries loses nothing; each page faults back in
        // unchanged. The mapping is not writable, so no thread can give it anonymous pages
        // between the read and the call (that would take an mprotect, which neither the shim
        // nor the daemon ever calls on their own mappings).
        unsafe { madvise(ptr, end - start, MmapAdvise::MADV_DONTNEED) }
            .map_err(call("madvise(MADV_DONTNEED)"))?;
        total += end - start;
    }
    Ok(total)
}

/// Returns the heap's free pages to the kernel (glibc's `malloc_trim(0)`: the top of the heap
/// is shrunk and free pages inside it are discarded), returning whether anything was released.
/// The shim calls it after work that parsed large documents (an exec reads the container's
/// whole OCI spec), so its resident set goes back down while it idles.
pub fn trim_heap() -> bool {
    // SAFETY: malloc_trim takes a padding size and touches only the allocator's own state,
    // under the allocator's locks.
    unsafe { libc::malloc_trim(0) == 1 }
}
