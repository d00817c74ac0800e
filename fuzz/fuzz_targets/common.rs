//! Shared by the layer fuzz targets: a target directory next to an "outside" directory with a
//! canary, and the check that nothing outside the target changed.

use std::fs;
use std::path::PathBuf;

use oci::layer::{apply, ApplyOptions, WhiteoutMode};

pub struct Sandbox {
    _tmp: tempfile::TempDir,
    pub target: PathBuf,
    outside: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let tmp = tempfile::tempdir().expect("tempdir");
        let target = tmp.path().join("target");
        let outside = tmp.path().join("outside");
        fs::create_dir(&target).expect("mkdir target");
        fs::create_dir(&outside).expect("mkdir outside");
        fs::write(outside.join("canary"), b"canary").expect("canary");
        Sandbox { _tmp: tmp, target, outside }
    }

    /// Applies `tar` in every whiteout mode — a layer (overlay, flat) and a `docker cp`
    /// upload (`PUT /containers/{id}/archive`: plain, with and without
    /// `noOverwriteDirNonDir`, with a forced owner) — and checks the outside is untouched.
    pub fn apply_and_check(&self, tar: &[u8]) {
        let cp = |no_overwrite_dir_non_dir, chown| ApplyOptions {
            whiteouts: WhiteoutMode::Keep,
            no_overwrite_dir_non_dir,
            chown,
            ..ApplyOptions::default()
        };
        let modes = [
            ApplyOptions { whiteouts: WhiteoutMode::Overlay, ..ApplyOptions::default() },
            ApplyOptions { whiteouts: WhiteoutMode::Remove, ..ApplyOptions::default() },
            cp(true, None),
            cp(false, Some((1000, 1000))),
        ];
        for opts in modes {
            let _ = apply(tar, &self.target, &opts);
            self.check();
        }
    }

    fn check(&self) {
        let names: Vec<_> = fs::read_dir(&self.outside).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec!["canary"], "a file appeared outside the target");
        assert_eq!(fs::read(self.outside.join("canary")).unwrap(), b"canary", "canary changed");
        let meta = fs::symlink_metadata(self.outside.join("canary")).unwrap();
        assert!(meta.file_type().is_file(), "canary replaced");
        let mut top: Vec<_> = fs::read_dir(self.outside.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        top.sort();
        assert_eq!(top, vec!["outside", "target"], "a file appeared next to the target");
        assert!(fs::symlink_metadata(&self.target).unwrap().is_dir(), "target replaced");
    }
}
