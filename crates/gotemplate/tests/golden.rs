//! Golden cases: each directory of `tests/golden/` holds a `template`, the `input.json` it is
//! executed over with docker's functions, and the `expected` output, byte for byte (the
//! cases come from the outputs of Go's `text/template` and the docker CLI).

use std::path::Path;

use gotemplate::{Template, Value};

#[test]
fn every_golden_case_renders_its_expected_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/golden")
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "golden cases missing");
    let mut failures = Vec::new();
    for case in &cases {
        let read = |f: &str| std::fs::read_to_string(case.join(f)).expect(f);
        let input = Value::from_json_slice(read("input.json").as_bytes()).expect("input.json");
        let got = Template::docker(&read("template"))
            .and_then(|t| t.execute(&input))
            .unwrap_or_else(|e| format!("error: {e}"));
        let want = read("expected");
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", case.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
