//! Comparing what `berth` and the docker CLI print for the same command against the same
//! daemon: stdout, stderr (with `berth` written as `docker`) and the exit status, with the
//! parts that legitimately differ between two runs (64-hex IDs, words that move with the
//! clock) masked.

use std::process::Output;

use crate::daemon::Daemon;

/// Replaces 64-digit hex IDs with `<id>`.
pub fn no_ids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    for c in s.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() || ('a'..='f').contains(&c) {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() == 64 { "<id>" } else { &run });
        run.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// stdout, stderr (`berth` → `docker`), exit status; IDs masked.
pub fn result(o: &Output) -> (String, String, Option<i32>) {
    let err = String::from_utf8_lossy(&o.stderr).replace("berth", "docker");
    (
        no_ids(&String::from_utf8_lossy(&o.stdout)),
        no_ids(&err),
        o.status.code(),
    )
}

/// Runs `args` with both clients and asserts identical results; returns berth's stdout.
pub fn same(d: &Daemon, args: &[&str]) -> String {
    let b = result(&d.berth(args));
    let k = result(&d.docker(args));
    assert_eq!(b, k, "berth and docker differ for {args:?}");
    b.0
}

/// Drops words that move with the clock, and the padding they shift.
pub fn timeless(s: &str) -> String {
    const CLOCK: &[&str] = &[
        "Less", "than", "a", "an", "About", "second", "seconds", "minute", "minutes", "hour",
        "hours", "ago", "Up", "Exited",
    ];
    s.lines()
        .map(|l| {
            l.split_whitespace()
                .filter(|w| {
                    !CLOCK.contains(w)
                        && !w
                            .chars()
                            .all(|c| c.is_ascii_digit() || c == '(' || c == ')')
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `args` with both clients and compares the outputs with the clock words dropped.
pub fn same_timeless(d: &Daemon, args: &[&str]) -> String {
    let b = result(&d.berth(args));
    let k = result(&d.docker(args));
    assert_eq!(
        (timeless(&b.0), timeless(&b.1), b.2),
        (timeless(&k.0), timeless(&k.1), k.2),
        "berth and docker differ for {args:?}"
    );
    b.0
}
