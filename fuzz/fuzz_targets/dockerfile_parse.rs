//! Dockerfiles: no input may panic the parser, the typed layer, expansion or the lexer, and
//! whatever parses keeps its invariants: instructions in order with line ranges inside the file,
//! ONBUILD expressions that read back to the same trigger, a dump that serializes.
#![no_main]

use dockerfile::shell::Lex;
use dockerfile::{parse_bytes, parse_trigger, Instruction, Kind};
use libfuzzer_sys::fuzz_target;

fn vars() -> Vec<(String, String)> {
    [("A", "x y"), ("EMPTY", ""), ("P", "a*b/c")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn check(i: &Instruction, last_line: usize, escape: char) {
    assert!(i.lines.start >= 1 && i.lines.start <= i.lines.end && i.lines.end <= last_line, "{:?}", i.lines);
    let lex = Lex::new(escape);
    let _ = i.clone().expand(&lex, &vars());
    match &i.kind {
        Kind::Run(run) => {
            let _ = run.mounts(&lex, &vars());
        }
        // The expression is re-read with the default escape token, as BuildKit re-reads it.
        Kind::Onbuild(on) if escape == '\\' => {
            let again = parse_trigger(&on.expression).expect("ONBUILD expression reads back");
            assert_eq!(again.kind, on.trigger.kind, "trigger {:?}", on.expression);
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let last_line = data.iter().filter(|b| **b == b'\n').count() + 1;
    match parse_bytes(data) {
        Ok(df) => {
            let all = df.meta_args.iter().chain(df.stages.iter().flat_map(|s| std::iter::once(&s.from).chain(&s.instructions)));
            let mut previous_end = 0;
            for i in all {
                assert!(i.lines.start > previous_end, "instructions out of order");
                previous_end = i.lines.end;
                check(i, last_line, df.escape);
            }
            for stage in &df.stages {
                let _ = stage.expand_base(&Lex::new(df.escape), &vars());
            }
            serde_json::to_string(&df).expect("dump serializes");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let text = String::from_utf8_lossy(data);
    for escape in ['\\', '`'] {
        for switches in 0..16u8 {
            let mut lex = Lex::new(escape);
            lex.raw_quotes = switches & 1 != 0;
            lex.raw_escapes = switches & 2 != 0;
            lex.skip_process_quotes = switches & 4 != 0;
            lex.skip_unset_env = switches & 8 != 0;
            let _ = lex.process(&text, &vars());
        }
    }
});
