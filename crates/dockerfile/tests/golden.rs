//! Golden files: each directory under `tests/golden/` holds a `Dockerfile` and either
//! `expected.json` (the `dump` example's output for a file that parses) or `expected-error.txt`
//! (the error's `Display` for one that does not). Run with `UPDATE_GOLDEN=1` to rewrite the
//! expectations after a deliberate change, then review the diff.

use std::fs;
use std::path::{Path, PathBuf};

/// What the parser makes of a case: the file name it belongs in and its content.
fn actual(dockerfile: &[u8]) -> (&'static str, String) {
    match dockerfile::parse_bytes(dockerfile) {
        Ok(df) => (
            "expected.json",
            serde_json::to_string_pretty(&df).unwrap() + "\n",
        ),
        Err(e) => ("expected-error.txt", e.to_string() + "\n"),
    }
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Dockerfile").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// The first line where two texts differ, for a readable failure.
fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}:\n  expected: {w}\n  actual:   {g}", i + 1);
        }
    }
    format!(
        "lengths differ ({} vs {} lines)",
        want.lines().count(),
        got.lines().count()
    )
}

#[test]
fn golden_cases() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let cases = cases();
    assert!(cases.len() >= 40, "only {} golden cases found", cases.len());
    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let src = fs::read(dir.join("Dockerfile")).unwrap();
        let (file, got) = actual(&src);
        let other = if file == "expected.json" {
            "expected-error.txt"
        } else {
            "expected.json"
        };
        if update {
            fs::write(dir.join(file), &got).unwrap();
            let _ = fs::remove_file(dir.join(other));
            continue;
        }
        if dir.join(other).exists() {
            failures.push(format!(
                "{name}: has {other}, but the parser produced {file}:\n{got}"
            ));
            continue;
        }
        match fs::read_to_string(dir.join(file)) {
            Ok(want) if want == got => {}
            Ok(want) => failures.push(format!("{name}: {}", first_difference(&want, &got))),
            Err(e) => failures.push(format!("{name}: cannot read {file}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden case(s) differ:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
