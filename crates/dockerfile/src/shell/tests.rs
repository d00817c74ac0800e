//! Lexer behaviour, case by case against what BuildKit's lexer answers.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn base_env() -> Vec<(String, String)> {
    env(&[
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("KOREAN", "한국어"),
        ("NULL", ""),
    ])
}

/// `(input, Some(expected))` or `(input, None)` for an error.
const WORD_CASES: &[(&str, Option<&str>)] = &[
    ("hello", Some("hello")),
    ("he'll'o", Some("hello")),
    ("he'llo", None),
    ("he\\'llo", Some("he'llo")),
    ("he\\\\'llo", None),
    ("abc\\tdef", Some("abctdef")),
    ("\"abc\\tdef\"", Some("abc\\tdef")),
    ("\"abc\\\\tdef\"", Some("abc\\tdef")),
    ("'abc\\tdef'", Some("abc\\tdef")),
    ("hello\\", Some("hello")),
    ("hello\\\\", Some("hello\\")),
    ("\"hello", None),
    ("\"hello\\\"", None),
    ("\"hel'lo\"", Some("hel'lo")),
    ("'hello", None),
    ("'hello\\'", Some("hello\\")),
    ("\"''\"", Some("''")),
    ("$.", Some("$.")),
    ("he$1x", Some("hex")),
    ("he$.x", Some("he$.x")),
    ("he$pwd.", Some("he.")),
    ("he$PWD", Some("he/home")),
    ("he\\$PWD", Some("he$PWD")),
    ("he\\\\$PWD", Some("he\\/home")),
    ("\"he\\$PWD\"", Some("he$PWD")),
    ("\"he\\\\$PWD\"", Some("he\\/home")),
    ("\\${}", Some("${}")),
    ("he\\${}xx", Some("he${}xx")),
    ("${}", None),
    ("he${}xx", None),
    ("he${hi}xx", Some("hexx")),
    ("he${PWD}", Some("he/home")),
    ("he${.}", None),
    ("he${XXX:-000}xx", Some("he000xx")),
    ("he${PWD:-000}xx", Some("he/homexx")),
    ("he${XXX:-$PWD}xx", Some("he/homexx")),
    ("he${XXX:-${PWD:-yyy}}xx", Some("he/homexx")),
    ("he${XXX:-${YYY:-yyy}}xx", Some("heyyyxx")),
    ("he${XXX:YYY}", None),
    ("he${XXX?}", None),
    ("he${XXX:?}", None),
    ("he${PWD?}", Some("he/home")),
    ("he${PWD:?}", Some("he/home")),
    ("he${NULL?}", Some("he")),
    ("he${NULL:?}", None),
    ("he${XXX:+${PWD}}xx", Some("hexx")),
    ("he${PWD:+${XXX}}xx", Some("hexx")),
    ("he${PWD:+${SHELL}}xx", Some("hebashxx")),
    ("he${XXX:+000}xx", Some("hexx")),
    ("he${PWD:+000}xx", Some("he000xx")),
    ("'he${XX}'", Some("he${XX}")),
    ("\"he${PWD}\"", Some("he/home")),
    ("\"he'$PWD'\"", Some("he'/home'")),
    ("'$PWD'", Some("$PWD")),
    ("'\\$PWD'", Some("\\$PWD")),
    ("he${PWD", None),
    ("he${PWD:=000}xx", None),
    ("he${PWD:+${PWD}:}xx", Some("he/home:xx")),
    ("he${XXX:-\\$PWD:}xx", Some("he$PWD:xx")),
    ("he${XXX:-\\${PWD}z}xx", Some("he${PWDz}xx")),
    ("안'녕'하세요", Some("안녕하세요")),
    ("안녕\\t하세요", Some("안녕t하세요")),
    ("안녕$KOREAN", Some("안녕한국어")),
    ("${{aaa}", None),
    ("${aaa}}", Some("}")),
    ("${aaa", None),
    ("${aaa:-bbb}}", Some("bbb}")),
    ("${aaa:-bbb", None),
    ("${aaa:-${bbb:-ccc}}", Some("ccc")),
    ("${aaa:-bbb ${foo}", None),
    ("${aaa:-bbb {foo}", Some("bbb {foo")),
    ("${:}", None),
    ("${:-bbb}", None),
    ("$1", Some("")),
    ("${1:-bbb}", Some("bbb")),
    ("$999aaa", Some("aaa")),
    ("${001:-bbb}aaa", Some("bbbaaa")),
    ("$@@@", Some("@@")),
    ("${@:-bbb}aaa", Some("bbbaaa")),
    ("$#", Some("")),
    ("${#:-bbb}", Some("bbb")),
    ("${?:+bbb}", Some("")),
    ("$$", Some("")),
    ("${-:-bbb}", Some("bbb")),
    ("$0", Some("")),
];

#[test]
fn process_word_cases() {
    let lex = Lex::new('\\');
    let e = base_env();
    for (input, expected) in WORD_CASES {
        let got = lex.process_word(input, &e);
        match expected {
            Some(want) => assert_eq!(got.as_deref(), Ok(*want), "input {input:?}"),
            None => assert!(got.is_err(), "input {input:?} gave {got:?}"),
        }
    }
}

#[test]
fn process_words_splits_unquoted_expansions() {
    let lex = Lex::new('\\');
    let e = env(&[
        ("hi", "hi"),
        ("space", "abc  def"),
        ("leading", "  ab c"),
        ("trailing", "ab c   "),
    ]);
    let cases: &[(&str, &[&str])] = &[
        ("hello", &["hello"]),
        ("hello${hi}bye", &["hellohibye"]),
        ("hello${space}bye", &["helloabc", "defbye"]),
        ("hello\"${space}\"bye", &["helloabc  defbye"]),
        ("hello \"${space}\"bye", &["hello", "abc  defbye"]),
        ("hello${leading}def", &["hello", "ab", "cdef"]),
        ("hello\"${leading}\" def", &["hello  ab c", "def"]),
        ("hello${trailing}d", &["helloab", "c", "d"]),
        ("hello\" there  \"", &["hello there  "]),
        ("hello there     ", &["hello", "there"]),
        ("hello\\ there", &["hello there"]),
        ("hello\\\" there", &["hello\"", "there"]),
        ("hello'$there'", &["hello$there"]),
        ("a '' b", &["a", "b"]),
        // BuildKit drops the "80/" here (a shared buffer); a shell keeps it, and so do we.
        ("80/${PROTO:-tcp} 443", &["80/tcp", "443"]),
    ];
    for (input, want) in cases {
        assert_eq!(
            lex.process_words(input, &e).unwrap(),
            *want,
            "input {input:?}"
        );
    }
    assert!(lex.process_words("hello\" there", &e).is_err());
}

#[test]
fn required_variables() {
    let lex = Lex::new('\\');
    let set = env(&[("VAR", "plain"), ("ARG", "x")]);
    let empty = env(&[("VAR", ""), ("ARG", "x")]);
    let unset = env(&[("ARG", "x")]);
    let no_empty = "${VAR:?message here$ARG}";
    let no_unset = "${VAR?message here$ARG}";
    assert_eq!(lex.process_word(no_empty, &set).unwrap(), "plain");
    let err = lex.process_word(no_empty, &empty).unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to process \"${VAR:?message here$ARG}\": VAR: message herex"
    );
    assert!(lex.process_word(no_empty, &unset).is_err());
    assert_eq!(lex.process_word(no_unset, &empty).unwrap(), "");
    let err = lex.process_word("${VAR?}", &unset).unwrap_err();
    assert_eq!(err.reason.to_string(), "VAR: is not allowed to be unset");
    let err = lex.process_word("${VAR:?}", &empty).unwrap_err();
    assert_eq!(err.reason.to_string(), "VAR: is not allowed to be empty");
}

#[test]
fn matches_and_unmatched() {
    let lex = Lex::new('\\');
    let e = env(&[("FOO", "xxx"), ("BAR", "")]);
    let r = lex.process("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", &e).unwrap();
    assert_eq!(r.result, "xxx  ccc");
    assert_eq!(r.matched.iter().collect::<Vec<_>>(), ["BAR", "FOO"]);
    assert_eq!(r.unmatched.iter().collect::<Vec<_>>(), ["BAZ"]);
    let r = lex
        .process("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", &e)
        .unwrap();
    assert_eq!(r.result, "aaa  ");
    for bad in [
        "${FOO=aaa}",
        "${FOO=:aaa}",
        "${FOO=}",
        "${FOO:#}",
        "${FOO:%%}",
    ] {
        assert!(lex.process(bad, &e).is_err(), "{bad}");
    }
}

/// `(input, environment, expected)`.
type PatternCase<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn patterns() {
    let lex = Lex::new('\\');
    let cases: &[PatternCase] = &[
        (
            "${FOO#()[]{\\}^$.\\*\\?|\\\\}",
            &[("FOO", "()[]{}^$.*?|\\x")],
            "x",
        ),
        ("${FOO%%\\**}", &[("FOO", "xx**")], "xx"),
        ("${FOO#*x*y}", &[("FOO", "xxyy")], "y"),
        ("${FOO#*}", &[("FOO", "xxyy")], "xxyy"),
        ("${FOO#$BAR}", &[("FOO", "xxyy"), ("BAR", "x")], "xyy"),
        ("${FOO##*x}", &[("FOO", "xxyy")], "yy"),
        ("${FOO#?\\?}", &[("FOO", "???y")], "?y"),
        ("${ABC:-.}${FOO%x}${ABC:-.}", &[("FOO", "xxyy")], ".xxyy."),
        ("${FOO%%\\**\\*}", &[("FOO", "a***yy*")], "a"),
        ("${FOO%}", &[("FOO", "xxyy")], "xxyy"),
        (
            "${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
            &[("FOO", "/foo*/*/*.txt"), ("NEEDLE", "\\*/")],
            "/foo.*/*.txt - /foo..*.txt",
        ),
        (
            "${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
            &[("FOO", "/tmp/tmp/bar.txt"), ("NEEDLE", "/tmp")],
            "/tmp/bar.txt - /bar.txt",
        ),
        (
            "${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
            &[
                ("FOO", "/a/foo/b/c.txt"),
                ("NEEDLE", "/?/"),
                ("REPLACEMENT", "/"),
            ],
            "/foo/b/c.txt - /foo/c.txt",
        ),
        (
            "${FOO//\\//\\/}",
            &[("FOO", "/tmp/foo.txt")],
            "\\/tmp\\/foo.txt",
        ),
        ("${FOO/$BAR/ww}", &[("FOO", "xxyy"), ("BAR", "")], "wwxxyy"),
        ("${FOO///}", &[("FOO", "xxyy")], "xxyy"),
        ("${FOO///}", &[], ""),
        (
            "x-${V}${TV:+-${TV}}.tgz",
            &[("V", "1.2"), ("TV", "v7")],
            "x-1.2-v7.tgz",
        ),
    ];
    for (input, e, want) in cases {
        assert_eq!(
            lex.process_word(input, &env(e)).unwrap(),
            *want,
            "input {input:?}"
        );
    }
    for bad in ["${FOO//ww}", "${FOO//}", "${FOO#\\x}"] {
        assert!(
            lex.process_word(bad, &env(&[("FOO", "xxyy")])).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn switches() {
    let mut lex = Lex::new('\\');
    lex.raw_quotes = true;
    lex.skip_unset_env = true;
    let e = env(&[("A", "a")]);
    assert_eq!(
        lex.process_word("'x' \"$A\" $B ${B} ${B:-d}", &e).unwrap(),
        "'x' \"a\" $B ${B} ${B:-d}"
    );
    assert_eq!(lex.process_word("${B//x/y}", &e).unwrap(), "${B/x/y}");
    let mut raw = Lex::new('\\');
    raw.raw_escapes = true;
    assert_eq!(raw.process_word("a\\ b\\", &NoEnv).unwrap(), "a\\ b\\");
    let mut heredoc = Lex::new('\\');
    heredoc.skip_process_quotes = true;
    assert_eq!(
        heredoc.process_word("'$A' \"\\$A\"", &e).unwrap(),
        "'a' \"$A\""
    );
    let tick = Lex::new('`');
    assert_eq!(tick.process_word("C:\\dir `$A", &e).unwrap(), "C:\\dir $A");
}

#[test]
fn heredoc_operators_stay_together() {
    let lex = Lex::new('\\');
    assert_eq!(
        lex.process_words("RUN <<  EOF  > foo", &NoEnv).unwrap(),
        ["RUN", "<<  EOF", ">", "foo"]
    );
    assert_eq!(lex.process_words("a<b", &NoEnv).unwrap(), ["a<b"]);
}

#[test]
fn error_messages() {
    let lex = Lex::new('\\');
    let msg = |w: &str| lex.process_word(w, &NoEnv).unwrap_err().to_string();
    assert_eq!(
        msg("${"),
        "failed to process \"${\": syntax error: missing '}'"
    );
    assert_eq!(
        msg("${}"),
        "failed to process \"${}\": syntax error: bad substitution"
    );
    assert_eq!(
        msg("${a:=b}"),
        "failed to process \"${a:=b}\": unsupported modifier (:=) in substitution"
    );
    assert_eq!(
        msg("${a/b"),
        "failed to process \"${a/b\": syntax error: missing '/' in ${}"
    );
    assert_eq!(msg("'a"), "failed to process \"'a\": unexpected end of statement while looking for matching single-quote");
    assert_eq!(
        msg("${a#\\x}"),
        "failed to process \"${a#\\\\x}\": invalid pattern (\\x) in substitution: invalid escape '\\x'"
    );
}
