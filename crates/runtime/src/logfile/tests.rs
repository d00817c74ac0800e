use std::time::{Duration, SystemTime};

use super::*;

fn cfg(dir: &std::path::Path, max_size: u64, max_files: u32) -> LogConfig {
    LogConfig {
        path: dir.join("c-json.log"),
        max_size,
        max_files,
    }
}

fn texts(entries: &[LogEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| String::from_utf8_lossy(&e.line).into_owned())
        .collect()
}

#[test]
fn lines_are_split_like_docker() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path(), 0, 1);
    let mut w = JsonLogWriter::open(c.clone()).unwrap();
    w.write(Stream::Stdout, b"hel").unwrap();
    w.write(Stream::Stderr, b"oops\n").unwrap();
    w.write(Stream::Stdout, b"lo\nwor").unwrap();
    w.write(Stream::Stdout, &vec![b'x'; MAX_LINE + 10]).unwrap();
    w.flush_partial().unwrap();
    let raw = std::fs::read_to_string(&c.path).unwrap();
    let first: serde_json::Value = serde_json::from_str(raw.lines().next().unwrap()).unwrap();
    assert_eq!(first["log"], "oops\n");
    assert_eq!(first["stream"], "stderr");
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    let (entries, _) = read(&c, &ReadOptions::default()).unwrap();
    let t = texts(&entries);
    assert_eq!(t[0], "oops\n");
    assert_eq!(t[1], "hello\n");
    assert_eq!(t[2].len(), MAX_LINE, "a long line is cut at 16 KiB");
    assert!(t[2].starts_with("wor"));
    assert_eq!(
        t[3],
        "x".repeat(13),
        "the rest is flushed as a partial entry at EOF"
    );
    assert_eq!(entries[1].stream, Stream::Stdout);
}

#[test]
fn rotation_keeps_max_files_and_reads_across_them() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path(), 300, 3);
    let mut w = JsonLogWriter::open(c.clone()).unwrap();
    for i in 0..40 {
        w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
            .unwrap();
    }
    assert!(c.file(1).exists() && c.file(2).exists());
    assert!(!c.file(3).exists(), "only max_files files are kept");
    for n in 0..3 {
        assert!(std::fs::metadata(c.file(n)).unwrap().len() <= 300);
    }
    let (entries, _) = read(&c, &ReadOptions::default()).unwrap();
    let t = texts(&entries);
    assert_eq!(t.last().unwrap(), "line 39\n");
    let nums: Vec<usize> = t
        .iter()
        .map(|l| l[5..l.len() - 1].parse().unwrap())
        .collect();
    assert!(
        nums.windows(2).all(|w| w[1] == w[0] + 1),
        "entries in order across files: {nums:?}"
    );
    let (tail, _) = read(
        &c,
        &ReadOptions {
            tail: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(texts(&tail), vec!["line 38\n", "line 39\n"]);
    let (none, _) = read(
        &c,
        &ReadOptions {
            tail: Some(0),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(none.is_empty());
}

#[test]
fn since_and_until_filter_by_time() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path(), 0, 1);
    let t0 = SystemTime::now() - Duration::from_secs(100);
    let lines = [
        (t0, "old\n"),
        (t0 + Duration::from_secs(50), "mid\n"),
        (t0 + Duration::from_secs(90), "new\n"),
    ];
    let mut text = String::new();
    for (t, l) in lines {
        text.push_str(&format!(
            "{{\"log\":{:?},\"stream\":\"stdout\",\"time\":\"{}\"}}\n",
            l,
            api_types::time::format_rfc3339_nano(t)
        ));
    }
    std::fs::write(&c.path, text).unwrap();
    let opts = ReadOptions {
        since: Some(t0 + Duration::from_secs(10)),
        until: Some(t0 + Duration::from_secs(80)),
        tail: None,
    };
    let (entries, _) = read(&c, &opts).unwrap();
    assert_eq!(texts(&entries), vec!["mid\n"]);
}

#[test]
fn follower_sees_new_entries_across_rotation() {
    let d = tempfile::tempdir().unwrap();
    let c = cfg(d.path(), 200, 2);
    let mut w = JsonLogWriter::open(c.clone()).unwrap();
    w.write(Stream::Stdout, b"before\n").unwrap();
    let (history, mut f) = read(&c, &ReadOptions::default()).unwrap();
    assert_eq!(texts(&history), vec!["before\n"]);
    assert!(f.poll().unwrap().is_empty());
    let mut seen = Vec::new();
    for i in 0..12 {
        w.write(Stream::Stdout, format!("after {i}\n").as_bytes())
            .unwrap();
        seen.extend(texts(&f.poll().unwrap()));
    }
    let want: Vec<String> = (0..12).map(|i| format!("after {i}\n")).collect();
    assert_eq!(seen, want, "nothing lost or repeated across rotations");
}
