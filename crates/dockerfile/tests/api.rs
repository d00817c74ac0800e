//! The public API beyond the golden files: error values, ONBUILD triggers read back from an
//! image, FROM expansion with global ARGs, the syntax layer's BuildKit dump, limits.

use dockerfile::shell::NoEnv;
use dockerfile::{parse, parse_bytes, parse_trigger, Kind, Lex, Lines, Reason, Scope};

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn errors_carry_lines_and_scope() {
    let e = parse("FROM busybox\n\nRUN true\nFROM a b\n").unwrap_err();
    assert_eq!(e.lines, Some(Lines { start: 4, end: 4 }));
    assert_eq!(e.scope, Scope::Instruction);
    assert_eq!(e.reason, Reason::FromArguments);
    assert_eq!(
        e.to_string(),
        "dockerfile parse error on line 4: FROM requires either one or three arguments"
    );

    let e = parse("FROM busybox\nRUN <<EOF\nnever\n").unwrap_err();
    assert_eq!(
        (e.lines, e.scope),
        (Some(Lines { start: 2, end: 3 }), Scope::Syntax)
    );
    assert_eq!(e.to_string(), "line 2: unterminated heredoc");

    let e = parse("FROM busybox\nRUN a \\\n  b\nNOTANINSTRUCTION x\n").unwrap_err();
    assert_eq!(e.lines, Some(Lines { start: 4, end: 4 }));
    assert!(
        matches!(e.reason, Reason::UnknownInstruction { ref name, suggestion: None } if name == "NOTANINSTRUCTION")
    );
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn lines_span_continuations_and_heredocs() {
    let df = parse("FROM a\nRUN x \\\n  y\nCOPY <<EOF /f\nbody\nEOF\nCMD z\n").unwrap();
    let lines: Vec<(usize, usize)> = df.stages[0]
        .instructions
        .iter()
        .map(|i| (i.lines.start, i.lines.end))
        .collect();
    assert_eq!(lines, [(2, 3), (4, 6), (7, 7)]);
}

#[test]
fn onbuild_expression_reads_back() {
    let df = parse("FROM a\nONBUILD RUN --network=none <<EOF\necho $HOME\nEOF\n").unwrap();
    let Kind::Onbuild(on) = &df.stages[0].instructions[0].kind else {
        panic!("not ONBUILD")
    };
    assert_eq!(on.expression, "RUN --network=none <<EOF\necho $HOME\nEOF");
    let again = parse_trigger(&on.expression).unwrap();
    assert_eq!(again.kind, on.trigger.kind);
    assert_eq!(
        parse_trigger("FROM x").unwrap_err().reason,
        Reason::OnbuildTrigger("FROM".into())
    );
    assert_eq!(
        parse_trigger("ONBUILD RUN x").unwrap_err().reason,
        Reason::OnbuildChain
    );
    assert_eq!(
        parse_trigger("RUN a\nRUN b").unwrap_err().reason,
        Reason::TriggerNotSingle
    );
    assert_eq!(
        parse_trigger("").unwrap_err().reason,
        Reason::NoInstructions
    );
}

#[test]
fn from_expands_with_global_args_only() {
    let df = parse("ARG V=1\nFROM --platform=${P:-linux/amd64} img:$V AS x\n").unwrap();
    let lex = Lex::new(df.escape);
    let (base, platform) = df.stages[0]
        .expand_base(&lex, &vars(&[("V", "2")]))
        .unwrap();
    assert_eq!(
        (base.as_str(), platform.as_deref()),
        ("img:2", Some("linux/amd64"))
    );
    let (base, _) = df.stages[0].expand_base(&lex, &NoEnv).unwrap();
    assert_eq!(base, "img:");
}

#[test]
fn syntax_layer_dumps_like_buildkit() {
    let ast = dockerfile::syntax::parse(
        "FROM a\nCOPY --from=b x /y\nENV k v\nONBUILD RUN [\"a\"]\nHEALTHCHECK\nCMD --doit -- [ ]\n",
    )
    .unwrap();
    assert_eq!(
        ast.dump(),
        "(from \"a\")\n(copy [\"--from=b\"] \"x\" \"/y\")\n(env \"k\" \"v\" \"\")\n\
         (onbuild (run \"a\"))\n(healthcheck)\n(cmd [\"--doit\"])"
    );
}

#[test]
fn long_lines_are_refused_like_buildkit() {
    let ok = format!("FROM a\nLABEL x={}\n", "a".repeat(65535 - 8));
    assert!(parse(&ok).is_ok());
    let long = format!("FROM a\nLABEL x={}\nRUN y\n", "a".repeat(65536 - 8));
    let e = parse(&long).unwrap_err();
    assert_eq!(e.reason, Reason::LineTooLong);
    assert_eq!(
        e.to_string(),
        "line 2: dockerfile line greater than max allowed size of 65535"
    );
    assert_eq!(
        parse(&"a".repeat(70_000)).unwrap_err().reason,
        Reason::NoInstructions
    );
}

#[test]
fn bytes_that_are_not_utf8_are_read() {
    let df = parse_bytes(b"FROM a\nLABEL k=\xff\n").unwrap();
    let Kind::Label(l) = &df.stages[0].instructions[0].kind else {
        panic!("not LABEL")
    };
    assert_eq!(l.labels[0].value, "\u{fffd}");
}

#[test]
fn no_panic_on_scrambled_input() {
    // A deterministic scramble of pieces that exercise every reader; any panic fails the test.
    let pieces = [
        "FROM a",
        "RUN",
        "COPY",
        "ONBUILD",
        "HEALTHCHECK",
        "ENV",
        "ARG",
        " ",
        "\t",
        "\n",
        "\r\n",
        "\\\n",
        "`\n",
        "# escape=`\n",
        "<<EOF",
        "<<-'E'",
        "EOF\n",
        "[\"a\"",
        "]",
        "--mount=",
        "\"",
        "'",
        "${x:-",
        "}",
        "=",
        "é",
        "\u{a0}",
        "--",
        "[1]",
        "#",
        "\u{feff}",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..3000 {
        let mut src = String::new();
        for _ in 0..(seed % 40) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            src.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        if let Ok(df) = parse(&src) {
            let lex = Lex::new(df.escape);
            for stage in &df.stages {
                let _ = stage.expand_base(&lex, &NoEnv);
                for i in &stage.instructions {
                    let _ = i.clone().expand(&lex, &NoEnv);
                }
            }
        }
    }
}
