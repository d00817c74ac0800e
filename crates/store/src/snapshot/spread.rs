//! Where on disk the snapshot directories go. Each snapshot is a tree unrelated to the others,
//! yet ext2/3/4 place a new directory next to its parent (the Orlov allocator keeps a tree
//! together), so every layer ever unpacked lands in the same few block groups as the ones
//! before it. Marking the snapshots directory as the top of directory hierarchies
//! (`FS_TOPDIR_FL`, `chattr +T`) makes the allocator spread its subdirectories over block
//! groups with free inodes and blocks, as it does for the directories under `/`.
//!
//! That matters most on ext4 without a journal, where allocating an inode skips every free
//! inode of the group that was freed in the last seconds, one by one: in a group where many
//! files were deleted lately (a removed image, another program's temporary files), each file
//! created costs a scan of the group. Measured on the project machine: 5,000 files created
//! in a new directory took 0.65–1.9 s next to busy directories and 0.06 s under a `+T` one.
//!
//! The flag is a placement hint only; filesystems without it refuse the ioctl, which is fine.

use std::fs::File;
use std::path::Path;

use rustix::fs::{ioctl_getflags, ioctl_setflags, IFlags};

/// Marks `dir` as the top of directory hierarchies, if its filesystem knows the flag (the
/// snapshots directory, and the engine's volumes directory for the same reason).
pub fn mark_topdir(dir: &Path) {
    let set = File::open(dir).and_then(|f| {
        let flags = ioctl_getflags(&f)?;
        if !flags.contains(IFlags::TOPDIR) {
            ioctl_setflags(&f, flags | IFlags::TOPDIR)?;
        }
        Ok(())
    });
    if let Err(e) = set {
        tracing::debug!(dir = %dir.display(), error = %e, "not marking the directory +T");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_a_directory_where_the_filesystem_supports_it() {
        let d = tempfile::tempdir().unwrap();
        let supported = File::open(d.path())
            .map(|f| ioctl_getflags(&f).is_ok())
            .unwrap_or(false);
        mark_topdir(d.path());
        // Twice is harmless.
        mark_topdir(d.path());
        let f = File::open(d.path()).unwrap();
        match ioctl_getflags(&f) {
            Ok(flags) if supported => {
                // ext2/3/4 keep it; others may accept the call and drop the flag.
                let ext = rustix::fs::fstatfs(&f).unwrap().f_type == 0xEF53;
                assert!(!ext || flags.contains(IFlags::TOPDIR), "{flags:?}");
            }
            _ => {}
        }
    }
}
