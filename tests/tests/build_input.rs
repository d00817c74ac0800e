//! Bad input to `POST /build`: an unparsable Dockerfile, a COPY source that is not in the
//! context, an unknown target, context tars with `../` names or symlinks leading out, and
//! contexts over the daemon's limit. Each is a 4xx naming what was wrong, sent before any
//! output; nothing is written outside the build's own snapshots, and nothing of the build is
//! left once it is refused.

use berth_tests::build::{
    context, docker_build, file, leftovers, post_build, raw_tar, text, RawEntry,
};
use berth_tests::Daemon;

fn tar_dir(dir: &std::path::Path) -> Vec<u8> {
    std::process::Command::new("tar")
        .arg("-C")
        .arg(dir)
        .args(["-cf", "-", "."])
        .output()
        .unwrap()
        .stdout
}

/// The message of a JSON error body.
fn message(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body.trim()).unwrap_or_default();
    v["message"].as_str().unwrap_or(body).to_string()
}

#[test]
fn dockerfile_mistakes_are_400s_before_any_output() {
    let mut d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    // (name, context files, query, expected message)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (
            "unparsable",
            &[("Dockerfile", "FROM busybox\nNOTANINSTRUCTION foo\n")],
            "",
            "failed to parse Dockerfile: dockerfile parse error on line 2: unknown instruction: NOTANINSTRUCTION",
        ),
        (
            "from-args",
            &[("Dockerfile", "FROM a b\n")],
            "",
            "FROM requires either one or three arguments",
        ),
        (
            "missing-copy",
            &[("Dockerfile", "FROM busybox\nRUN echo never\nCOPY nope.txt /x\n")],
            "",
            "COPY failed: file not found in build context or excluded by .dockerignore: stat nope.txt: file does not exist",
        ),
        (
            "ignored-copy",
            &[("Dockerfile", "FROM busybox\nCOPY secret.key /x\n"), ("secret.key", "k"), (".dockerignore", "*.key\n")],
            "",
            "COPY failed: file not found in build context or excluded by .dockerignore: stat secret.key",
        ),
        (
            "target",
            &[("Dockerfile", "FROM busybox AS one\nRUN true\n")],
            "target=nope",
            "target stage \"nope\" could not be found",
        ),
        (
            "no-dockerfile",
            &[("other", "x")],
            "",
            "Cannot locate specified Dockerfile: Dockerfile",
        ),
        (
            "empty",
            &[("Dockerfile", "")],
            "",
            "the Dockerfile (Dockerfile) cannot be empty",
        ),
        (
            "network",
            &[("Dockerfile", "FROM busybox\n")],
            "networkmode=mynet",
            "network mode \"mynet\" is not supported for builds",
        ),
        (
            "squash",
            &[("Dockerfile", "FROM busybox\n")],
            "squash=1",
            "--squash is not supported by berth",
        ),
    ];
    for (name, files, query, want) in cases {
        let dir = context(&d, name, files);
        let (status, body) = post_build(&d.socket, query, &tar_dir(&dir)).unwrap();
        assert_eq!(status, 400, "{name}: {body}");
        assert!(message(&body).contains(want), "{name}: {body}");
    }
    // The docker CLI shows the daemon's message and fails.
    let dir = d.root.path().join("missing-copy");
    let o = docker_build(&d, &[dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("Error response from daemon: COPY failed: file not found"),
        "{}",
        text(&o)
    );
    assert!(
        !text(&o).contains("Step 1/"),
        "refused before the first step:\n{}",
        text(&o)
    );
    let (snaps, garbage) = leftovers(&mut d);
    assert!(snaps.is_empty(), "build snapshots left: {snaps:?}");
    assert!(garbage.is_empty(), "{garbage:?}");
}

#[test]
fn hostile_context_tars_are_refused_and_write_nothing_outside() {
    let mut d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let outside = d.root.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let target = outside.to_str().unwrap().to_string();
    let df = b"FROM busybox\nCOPY . /\n";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dot-dot",
            raw_tar(&[file("Dockerfile", df), file("../../escaped", b"x")]),
            "points outside the context",
        ),
        (
            "symlink-out",
            raw_tar(&[
                file("Dockerfile", df),
                RawEntry {
                    name: "up",
                    kind: tar::EntryType::Symlink,
                    data: b"",
                    link: "../../../..",
                },
            ]),
            "points outside the build context",
        ),
        (
            "through-symlink",
            raw_tar(&[
                file("Dockerfile", df),
                RawEntry {
                    name: "abs",
                    kind: tar::EntryType::Symlink,
                    data: b"",
                    link: &target,
                },
                file("abs/planted", b"x"),
            ]),
            "passes through the symbolic link",
        ),
        (
            "hardlink-out",
            raw_tar(&[
                file("Dockerfile", df),
                RawEntry {
                    name: "h",
                    kind: tar::EntryType::Link,
                    data: b"",
                    link: "/etc/passwd",
                },
            ]),
            "invalid hardlink",
        ),
        (
            "device",
            raw_tar(&[
                file("Dockerfile", df),
                RawEntry {
                    name: "dev",
                    kind: tar::EntryType::Char,
                    data: b"",
                    link: "",
                },
            ]),
            "character device",
        ),
        (
            "not-a-tar",
            b"this is not a tar archive at all, not even close".repeat(20),
            "not a valid tar archive",
        ),
    ];
    for (name, tar, want) in cases {
        let (status, body) = post_build(&d.socket, "", &tar).unwrap();
        assert_eq!(status, 400, "{name}: {body}");
        assert!(message(&body).contains(want), "{name}: {body}");
    }
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "something was written outside"
    );
    assert!(!d.root.path().join("escaped").exists());
    // A symlink that stays inside is fine, and COPY resolves it inside the context.
    let ok_tar = raw_tar(&[
        file("Dockerfile", b"FROM busybox\nCOPY link /copied\n"),
        file("real.txt", b"inside"),
        RawEntry {
            name: "link",
            kind: tar::EntryType::Symlink,
            data: b"",
            link: "real.txt",
        },
    ]);
    let (status, body) = post_build(&d.socket, "t=linked", &ok_tar).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        d.docker_ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "linked",
            "cat",
            "/copied"
        ]),
        "inside"
    );
    let (snaps, garbage) = leftovers(&mut d);
    assert!(snaps.is_empty(), "build snapshots left: {snaps:?}");
    assert!(garbage.is_empty(), "{garbage:?}");
}

#[test]
fn a_context_over_the_limit_is_refused() {
    let mut d = Daemon::start_with(&["--build-context-limit", "1m"]).unwrap();
    d.import_busybox().unwrap();
    let big = vec![7u8; 2 << 20];
    let tar = raw_tar(&[file("Dockerfile", b"FROM busybox\n"), file("big.bin", &big)]);
    let (status, body) = post_build(&d.socket, "", &tar).unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(
        message(&body).contains("larger than the limit of 1048576 bytes"),
        "{body}"
    );
    // A header announcing a terabyte is refused before any of it is read.
    let mut h = tar::Header::new_gnu();
    h.set_path("huge").unwrap();
    h.set_size(1 << 40);
    h.set_mode(0o644);
    h.set_cksum();
    let mut t = h.as_bytes().to_vec();
    t.extend_from_slice(&[0u8; 4096]);
    let (status, body) = post_build(&d.socket, "", &t).unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("\"huge\""), "{body}");
    // Under the limit it builds.
    let small = raw_tar(&[
        file("Dockerfile", b"FROM busybox\nCOPY f /f\n"),
        file("f", b"ok"),
    ]);
    let (status, body) = post_build(&d.socket, "t=small", &small).unwrap();
    assert_eq!(status, 200, "{body}");
    let (snaps, garbage) = leftovers(&mut d);
    assert!(snaps.is_empty(), "build snapshots left: {snaps:?}");
    assert!(garbage.is_empty(), "{garbage:?}");
}
