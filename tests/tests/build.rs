//! `docker build` (the docker CLI's classic builder, `DOCKER_BUILDKIT=0`) against berthd:
//! the seed's Dockerfile, history and inspect in the classic builder's shape, multi-stage
//! builds, the step cache, `.dockerignore`, heredocs, ONBUILD, and a failing RUN.
//! The expected history strings are written from moby's `builder/dockerfile` (dispatchers and
//! internals: `/bin/sh -c #(nop)  CMD …` with two spaces, one-word comments for WORKDIR and
//! COPY, `|N K=v` before a RUN that uses build args).

use berth_tests::build::{built_id, context, docker_build, ok, text};
use berth_tests::Daemon;

fn history(d: &Daemon, image: &str) -> Vec<(String, String, String)> {
    let out = d.docker_ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.ID}}|{{.Size}}|{{.CreatedBy}}",
        image,
    ]);
    out.lines()
        .map(|l| {
            let mut p = l.splitn(3, '|');
            (
                p.next().unwrap_or("").to_string(),
                p.next().unwrap_or("").to_string(),
                p.next().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn inspect(d: &Daemon, image: &str, fmt: &str) -> String {
    d.docker_ok(&["image", "inspect", "--format", fmt, image])
}

#[test]
fn the_seeds_dockerfile_builds_on_busybox() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    // The seed's Jenkins Dockerfile, with busybox commands for its apt steps.
    let df = r#"FROM busybox
MAINTAINER Alen Komljen <alen.komljen@live.com>

RUN \
  echo "jenkins-ci.org.key" \
       > /tmp/jenkins.key
RUN echo "deb http://pkg.jenkins-ci.org/debian binary/" \
       > /etc/jenkins.list
RUN mkdir -p /usr/share/jenkins /usr/sbin && echo "jenkins.war" > /usr/share/jenkins/jenkins.war && touch /usr/sbin/policy-rc.d

VOLUME ["/root/.jenkins"]

RUN rm /usr/sbin/policy-rc.d
CMD ["/bin/cat", "/usr/share/jenkins/jenkins.war", "/etc/jenkins.list"]

EXPOSE 8080
"#;
    let dir = context(&d, "seed", &[("Dockerfile", df)]);
    let out = ok(&d, docker_build(&d, &["-t", "seed", dir.to_str().unwrap()]));
    for want in [
        "Step 1/9 : FROM busybox",
        "Step 2/9 : MAINTAINER Alen Komljen <alen.komljen@live.com>",
        "Step 9/9 : EXPOSE 8080",
        " ---> Running in ",
        "Removing intermediate container ",
        "Successfully tagged seed:latest",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    let id = built_id(&out);
    assert_eq!(id.len(), 12);
    assert!(inspect(&d, "seed", "{{.Id}}").starts_with(&format!("sha256:{id}")));
    assert_eq!(
        inspect(&d, "seed", "{{.Author}}"),
        "Alen Komljen <alen.komljen@live.com>"
    );
    assert_eq!(
        inspect(&d, "seed", "{{json .Config.Volumes}}"),
        r#"{"/root/.jenkins":{}}"#
    );
    assert_eq!(
        inspect(&d, "seed", "{{json .Config.ExposedPorts}}"),
        r#"{"8080/tcp":{}}"#
    );
    // base + four RUN layers.
    assert_eq!(inspect(&d, "seed", "{{len .RootFS.Layers}}"), "5");
    let run = d.docker_ok(&["run", "--rm", "--network", "none", "seed"]);
    assert_eq!(
        run,
        "jenkins.war\ndeb http://pkg.jenkins-ci.org/debian binary/"
    );
    let gone = d.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "seed",
        "ls",
        "/usr/sbin/policy-rc.d",
    ]);
    assert!(
        !gone.status.success(),
        "the RUN rm after VOLUME took effect"
    );
    // The temporary containers are gone, as with --rm (the default).
    assert!(d.container_ids().is_empty(), "{:?}", d.container_ids());
}

#[test]
fn history_and_inspect_have_the_classic_builders_shape() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let df = r#"FROM busybox
ARG V=one
ENV A=1 B="two words"
LABEL org.example.k=v
WORKDIR /app
COPY f.txt /app/
RUN echo $V > /app/v.txt
USER 1000:1000
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hi"]
"#;
    let dir = context(&d, "shape", &[("Dockerfile", df), ("f.txt", "data\n")]);
    ok(
        &d,
        docker_build(&d, &["-t", "shape", dir.to_str().unwrap()]),
    );
    let h = history(&d, "shape");
    let by: Vec<&str> = h.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(by[0], r#"/bin/sh -c #(nop)  CMD ["echo hi"]"#);
    assert_eq!(by[1], r#"/bin/sh -c #(nop)  ENTRYPOINT ["/bin/sh" "-c"]"#);
    assert_eq!(by[2], "/bin/sh -c #(nop)  USER 1000:1000");
    assert_eq!(by[3], "|1 V=one /bin/sh -c echo $V > /app/v.txt");
    let copy = regex_like_copy(by[4]);
    assert!(copy, "COPY entry: {:?}", by[4]);
    assert_eq!(by[5], "/bin/sh -c #(nop) WORKDIR /app");
    assert_eq!(by[6], "/bin/sh -c #(nop)  LABEL org.example.k=v");
    assert_eq!(by[7], "/bin/sh -c #(nop)  ENV A=1 B=two words");
    assert_eq!(by[8], "/bin/sh -c #(nop)  ARG V=one");
    // Metadata steps made no layer; the RUN and the COPY did.
    assert_eq!(h[0].1, "0B");
    assert_ne!(h[3].1, "0B");
    assert_eq!(h[4].1, "5B");
    // Every step is an intermediate image of its own, as with the classic builder.
    assert!(
        h.iter().take(9).all(|r| r.0.starts_with("sha256:")),
        "{h:?}"
    );
    assert_eq!(inspect(&d, "shape", "{{.Parent}}"), h[1].0);
    assert_eq!(inspect(&d, "shape", "{{.Config.User}}"), "1000:1000");
    assert_eq!(inspect(&d, "shape", "{{.Config.WorkingDir}}"), "/app");
    assert_eq!(
        inspect(&d, "shape", "{{json .Config.Labels}}"),
        r#"{"org.example.k":"v"}"#
    );
    assert_eq!(
        inspect(&d, "shape", "{{json .Config.Env}}"),
        r#"["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1","B=two words"]"#
    );
    assert_eq!(
        inspect(&d, "shape", "{{json .Config.Cmd}}"),
        r#"["echo hi"]"#
    );
    // The build arg is used by RUN but not kept in the config.
    assert!(!inspect(&d, "shape", "{{json .Config.Env}}").contains("V="));
    assert_eq!(inspect(&d, "shape", "{{len .RootFS.Layers}}"), "4");
    assert_eq!(
        d.docker_ok(&["run", "--rm", "--network", "none", "shape"]),
        "hi"
    );
    // Another value of the build arg is another step.
    let out = ok(
        &d,
        docker_build(
            &d,
            &[
                "--build-arg",
                "V=two",
                "-t",
                "shape2",
                dir.to_str().unwrap(),
            ],
        ),
    );
    assert_eq!(out.matches("Using cache").count(), 5, "{out}");
    assert_eq!(
        history(&d, "shape2")[3].2,
        "|1 V=two /bin/sh -c echo $V > /app/v.txt"
    );
}

fn regex_like_copy(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("/bin/sh -c #(nop) COPY file:") else {
        return false;
    };
    let (hex, tail) = rest.split_at(64.min(rest.len()));
    hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) && tail == " in /app/ "
}

#[test]
fn multi_stage_builds_copy_between_stages_and_skip_unused_ones() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let df = r#"FROM busybox AS base
RUN echo base > /base.txt
FROM base AS builder
RUN echo built > /out.txt
FROM busybox AS unused
RUN echo SHOULD-NOT-RUN
FROM busybox
COPY --from=builder /out.txt /base.txt /final/
COPY --from=busybox /bin/busybox /final/bb
COPY --from=0 /base.txt /final/zero.txt
CMD ["cat", "/final/out.txt", "/final/base.txt", "/final/zero.txt"]
"#;
    let dir = context(&d, "multi", &[("Dockerfile", df)]);
    let out = ok(
        &d,
        docker_build(&d, &["-t", "multi", dir.to_str().unwrap()]),
    );
    assert!(
        !out.contains("SHOULD-NOT-RUN"),
        "the unused stage ran:\n{out}"
    );
    assert!(
        out.contains("Step 9/9 : CMD"),
        "steps of skipped stages are not counted:\n{out}"
    );
    assert_eq!(
        d.docker_ok(&["run", "--rm", "--network", "none", "multi"]),
        "built\nbase\nbase"
    );
    let size = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "multi",
        "ls",
        "-l",
        "/final/bb",
    ]);
    assert!(size.contains("/final/bb"));
    let out = ok(
        &d,
        docker_build(
            &d,
            &[
                "--target",
                "builder",
                "-t",
                "only-builder",
                dir.to_str().unwrap(),
            ],
        ),
    );
    assert!(
        out.contains("Step 4/4 : RUN echo built > /out.txt"),
        "{out}"
    );
    assert_eq!(
        d.docker_ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "only-builder",
            "cat",
            "/out.txt",
            "/base.txt"
        ]),
        "built\nbase"
    );
}

#[test]
fn a_rebuild_hits_the_cache_and_a_changed_copy_source_misses_it() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let df = "FROM busybox\nRUN echo one > /one\nCOPY data.txt /data.txt\nRUN cat /data.txt > /copy.txt\n";
    let dir = context(&d, "cache", &[("Dockerfile", df), ("data.txt", "first\n")]);
    let ctx = dir.to_str().unwrap();
    let first = built_id(&ok(&d, docker_build(&d, &["-t", "cached", ctx])));
    let again = ok(&d, docker_build(&d, &["-t", "cached", ctx]));
    assert_eq!(
        built_id(&again),
        first,
        "same Dockerfile, same context: same image"
    );
    assert_eq!(again.matches(" ---> Using cache").count(), 3, "{again}");
    // Only the mtime changes: Docker's hash ignores it.
    let f = dir.join("data.txt");
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let touched = ok(&d, docker_build(&d, &["-t", "cached", ctx]));
    assert_eq!(built_id(&touched), first, "{touched}");
    std::fs::write(&f, "second\n").unwrap();
    let changed = ok(&d, docker_build(&d, &["-t", "cached", ctx]));
    assert_ne!(built_id(&changed), first);
    assert_eq!(
        changed.matches(" ---> Using cache").count(),
        1,
        "only the RUN before the COPY is cached:\n{changed}"
    );
    assert_eq!(
        d.docker_ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "cached",
            "cat",
            "/copy.txt"
        ]),
        "second"
    );
    // --no-cache runs every step again.
    let fresh = ok(&d, docker_build(&d, &["--no-cache", "-t", "cached", ctx]));
    assert_eq!(fresh.matches("Using cache").count(), 0, "{fresh}");
}

#[test]
fn dockerignore_hides_files_from_copy() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let dir = context(
        &d,
        "ignore",
        &[
            (
                "Dockerfile",
                "FROM busybox\nCOPY . /ctx\nCMD find /ctx -type f\n",
            ),
            (".dockerignore", "# comment\n*.key\nlogs\n!logs/keep.log\n"),
            ("a.txt", "a"),
            ("secret.key", "s"),
            ("sub/nested.key", "n"),
            ("logs/x.log", "x"),
            ("logs/keep.log", "k"),
        ],
    );
    ok(
        &d,
        docker_build(&d, &["-t", "ignored", dir.to_str().unwrap()]),
    );
    let files = d.docker_ok(&["run", "--rm", "--network", "none", "ignored"]);
    let mut files: Vec<&str> = files.lines().collect();
    files.sort();
    assert_eq!(
        files,
        [
            "/ctx/.dockerignore",
            "/ctx/Dockerfile",
            "/ctx/a.txt",
            "/ctx/logs/keep.log",
            "/ctx/sub/nested.key"
        ]
    );
    // The daemon applies .dockerignore itself too: a client that sends everything (docker-py's
    // custom contexts) gets the same result.
    let tar = std::process::Command::new("tar")
        .arg("-C")
        .arg(&dir)
        .args(["-cf", "-", "."])
        .output()
        .unwrap()
        .stdout;
    let (status, body) = berth_tests::build::post_build(&d.socket, "t=ignored2", &tar).unwrap();
    assert_eq!(status, 200, "{body}");
    let files = d.docker_ok(&["run", "--rm", "--network", "none", "ignored2"]);
    assert!(
        !files.contains("secret.key") && !files.contains("x.log"),
        "{files}"
    );
    assert!(files.contains("keep.log"), "{files}");
}

#[test]
fn heredocs_run_and_copy() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let df = r#"# syntax=docker/dockerfile:1
FROM busybox
ARG WHO=world
RUN <<EOF
set -e
echo "hello $WHO" > /plain.txt
EOF
RUN <<EOF
#!/bin/sh
echo "shebang ran as $0" > /shebang.txt
EOF
RUN cat <<A > /a.txt && cat <<-B > /b.txt
first
A
	second
	B
COPY <<EOF /copied.txt
copied for ${WHO}
EOF
COPY <<'EOF' /literal.txt
kept $WHO
EOF
"#;
    let dir = context(&d, "heredoc", &[("Dockerfile", df)]);
    ok(
        &d,
        docker_build(&d, &["-t", "heredoc", dir.to_str().unwrap()]),
    );
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "heredoc",
        "cat",
        "/plain.txt",
        "/shebang.txt",
        "/a.txt",
        "/b.txt",
        "/copied.txt",
        "/literal.txt",
    ]);
    assert_eq!(
        out,
        "hello world\nshebang ran as /dev/pipes/EOF\nfirst\nsecond\ncopied for world\nkept $WHO"
    );
    // The script's mount point does not end up in the image.
    let pipes = d.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "heredoc",
        "ls",
        "/dev/pipes",
    ]);
    assert!(!pipes.status.success() || String::from_utf8_lossy(&pipes.stdout).trim().is_empty());
}

#[test]
fn onbuild_triggers_run_in_the_child_build() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let base = context(
        &d,
        "onbuild-base",
        &[(
            "Dockerfile",
            "FROM busybox\nONBUILD RUN echo triggered > /onbuild.txt\n",
        )],
    );
    ok(
        &d,
        docker_build(&d, &["-t", "onbase", base.to_str().unwrap()]),
    );
    assert_eq!(
        d.docker_ok(&[
            "image",
            "inspect",
            "--format",
            "{{json .Config.OnBuild}}",
            "onbase"
        ]),
        r#"["RUN echo triggered > /onbuild.txt"]"#
    );
    let child = context(
        &d,
        "onbuild-child",
        &[(
            "Dockerfile",
            "FROM onbase\nCMD [\"cat\", \"/onbuild.txt\"]\n",
        )],
    );
    let out = ok(
        &d,
        docker_build(&d, &["-t", "onchild", child.to_str().unwrap()]),
    );
    assert!(out.contains("# Executing 1 build trigger"), "{out}");
    assert_eq!(
        d.docker_ok(&["run", "--rm", "--network", "none", "onchild"]),
        "triggered"
    );
    assert_eq!(
        d.docker_ok(&[
            "image",
            "inspect",
            "--format",
            "{{json .Config.OnBuild}}",
            "onchild"
        ]),
        "null"
    );
}

#[test]
fn a_failing_run_reports_its_code_and_leaves_no_image() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let dir = context(
        &d,
        "fail",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo before\nRUN exit 3\nRUN echo after\n",
        )],
    );
    let images_before = d.docker_ok(&["images", "-aq"]).lines().count();
    let o = docker_build(&d, &["-t", "failed", dir.to_str().unwrap()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(3), "{t}");
    assert!(
        t.contains("The command '/bin/sh -c exit 3' returned a non-zero code: 3"),
        "{t}"
    );
    assert!(
        !t.contains("Step 4/4"),
        "the build went on after the failure:\n{t}"
    );
    assert!(!d.docker(&["image", "inspect", "failed"]).status.success());
    // The step before made its image; the failed one none.
    assert_eq!(
        d.docker_ok(&["images", "-aq"]).lines().count(),
        images_before + 1
    );
    // As docker: the failed step's container stays for inspection (rm applies on success).
    let ids = d.container_ids();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let code = d.docker_ok(&["inspect", "--format", "{{.State.ExitCode}}", &ids[0]]);
    assert_eq!(code, "3");
    // --force-rm removes it even on failure; berth build exits with the step's code too.
    d.docker_ok(&["rm", &ids[0]]);
    let o = berth_tests::build::berth_build(&d, &["--force-rm", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("returned a non-zero code: 3"));
    assert!(d.container_ids().is_empty(), "{:?}", d.container_ids());
}
