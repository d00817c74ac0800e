use std::time::{Duration, SystemTime};

use super::*;

fn cfg(dir: &std::path::Path, max_size: u64, max_files: u32) -> LogConfig {
    LogConfig {
        path: dir.join("c-json.log"),
        max_size,
        max_files,
        ..LogConfig::with_defaults(Default::default())
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
    let mut w = LogWriter::open(c.clone()).unwrap();
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
    let mut w = LogWriter::open(c.clone()).unwrap();
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
    let mut w = LogWriter::open(c.clone()).unwrap();
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

#[test]
fn local_format_with_compressed_rotation_reads_back_in_order() {
    let d = tempfile::tempdir().unwrap();
    let c = LogConfig {
        path: d.path().join("local-logs/container.log"),
        max_size: 400,
        max_files: 3,
        format: LogFormat::Local,
        compress: true,
        attrs: Default::default(),
    };
    let mut w = LogWriter::open(c.clone()).unwrap();
    for i in 0..60 {
        w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
            .unwrap();
    }
    w.write(Stream::Stderr, &vec![b'y'; MAX_LINE + 5]).unwrap();
    w.write(Stream::Stderr, b"z\n").unwrap();
    w.write(Stream::Stdout, b"no newline").unwrap();
    w.flush_partial().unwrap();
    assert!(c.compressed_file(1).exists() && c.compressed_file(2).exists());
    assert!(!c.file(1).exists(), "rotated files are compressed");
    assert!(
        !c.compressed_file(3).exists(),
        "only max_files files are kept"
    );
    let gz = std::fs::read(c.compressed_file(1)).unwrap();
    assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip magic");
    let (entries, _) = read(&c, &ReadOptions::default()).unwrap();
    let t = texts(&entries);
    let n = t.len();
    assert_eq!(
        t[n - 1],
        "no newline\n",
        "the reader ends a last partial line"
    );
    assert_eq!(
        t[n - 2],
        "yyyyyz\n",
        "the last part of a split line gets the newline"
    );
    assert_eq!(t[n - 3].len(), MAX_LINE, "the first part has none");
    assert_eq!(entries[n - 2].stream, Stream::Stderr);
    let nums: Vec<usize> = t[..n - 3]
        .iter()
        .map(|l| l[5..l.len() - 1].parse().unwrap())
        .collect();
    assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "{nums:?}");
    assert_eq!(*nums.last().unwrap(), 59);
}

#[test]
fn json_attrs_are_written_and_read() {
    let d = tempfile::tempdir().unwrap();
    let mut c = cfg(d.path(), 0, 1);
    c.attrs.insert("tier".into(), "db".into());
    c.attrs.insert("tag".into(), "web/abc".into());
    let mut w = LogWriter::open(c.clone()).unwrap();
    w.write(Stream::Stdout, b"hi\n").unwrap();
    let raw = std::fs::read_to_string(&c.path).unwrap();
    assert!(
        raw.starts_with(
            r#"{"log":"hi\n","stream":"stdout","attrs":{"tag":"web/abc","tier":"db"},"time":""#
        ),
        "{raw}"
    );
    let (entries, _) = read(&c, &ReadOptions::default()).unwrap();
    assert_eq!(
        entries[0].attrs,
        vec![
            ("tag".into(), "web/abc".into()),
            ("tier".into(), "db".into())
        ]
    );
}

#[test]
fn compressed_json_rotation_and_follow() {
    let d = tempfile::tempdir().unwrap();
    let mut c = cfg(d.path(), 200, 2);
    c.compress = true;
    let mut w = LogWriter::open(c.clone()).unwrap();
    let (_, mut f) = read(&c, &ReadOptions::default()).unwrap();
    let mut seen = Vec::new();
    for i in 0..12 {
        w.write(Stream::Stdout, format!("after {i}\n").as_bytes())
            .unwrap();
        seen.extend(texts(&f.poll().unwrap()));
    }
    let want: Vec<String> = (0..12).map(|i| format!("after {i}\n")).collect();
    assert_eq!(seen, want);
    assert!(c.compressed_file(1).exists());
    let (all, _) = read(&c, &ReadOptions::default()).unwrap();
    assert_eq!(texts(&all).last().unwrap(), "after 11\n");
}
