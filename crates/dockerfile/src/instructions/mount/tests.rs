//! `--mount` and `--device` values.

use super::*;

fn full(v: &str) -> Result<Mount, MountError> {
    let mut id = |s: &str| Ok::<String, LexError>(s.to_string());
    parse_mount(v, Some(&mut id))
}

#[test]
fn csv_quoting() {
    assert_eq!(csv_fields("a,b").unwrap(), ["a", "b"]);
    assert_eq!(csv_fields("\"a,b\",c").unwrap(), ["a,b", "c"]);
    assert_eq!(csv_fields("\"a\"\"b\"").unwrap(), ["a\"b"]);
    assert_eq!(csv_fields("a,").unwrap(), ["a", ""]);
    assert_eq!(csv_fields("a\n").unwrap(), ["a"]);
    assert_eq!(csv_fields("").unwrap_err(), "EOF");
    assert_eq!(
        csv_fields("ab\"c").unwrap_err(),
        "parse error on line 1, column 3: bare \" in non-quoted-field"
    );
    assert_eq!(
        csv_fields("\"abc").unwrap_err(),
        "parse error on line 1, column 2: extraneous or missing \" in quoted-field"
    );
    assert_eq!(
        csv_fields("\"a\"b").unwrap_err(),
        "parse error on line 1, column 3: extraneous or missing \" in quoted-field"
    );
}

#[test]
fn parse_time_checks_only_list_and_from() {
    assert!(parse_mount("type=nonsense,whatever=1,target=/x", None).is_ok());
    assert_eq!(
        parse_mount("from=$STAGE", None),
        Err(MountError::FromVariable)
    );
    assert!(parse_mount("from=a$", None).is_ok());
    assert!(matches!(parse_mount("a\"b", None), Err(MountError::Csv(_))));
}

#[test]
fn full_mounts() {
    let m = full("type=cache,target=/root/.cache,id=go,sharing=locked,mode=0755,uid=1").unwrap();
    assert_eq!(m.kind, MountType::Cache);
    assert_eq!(m.target.as_deref(), Some("/root/.cache"));
    assert_eq!(
        (m.cache_id.as_deref(), m.sharing, m.mode, m.uid),
        (Some("go"), Some(Sharing::Locked), Some(0o755), Some(1))
    );
    assert!(!m.read_only);
    let b = full("target=/src,from=build,source=/out").unwrap();
    assert_eq!(
        (b.kind, b.read_only, b.from.as_deref()),
        (MountType::Bind, true, Some("build"))
    );
    assert!(!full("type=bind,target=/x,rw").unwrap().read_only);
    assert!(
        full("type=bind,target=/x,readwrite=false")
            .unwrap()
            .read_only
    );
    let t = full("type=tmpfs,target=/t,size=64m").unwrap();
    assert_eq!(t.size_limit, 64 << 20);
    let s = full("type=secret,id=tok,required,env=TOKEN").unwrap();
    assert!(s.required && s.read_only);
    assert_eq!(s.env.as_deref(), Some("TOKEN"));
}

#[test]
fn full_mount_errors() {
    let msg = |v: &str| full(v).unwrap_err().to_string();
    assert_eq!(
        msg("type=cahce,target=/x"),
        "unsupported mount type \"cahce\" (did you mean cache?)"
    );
    assert_eq!(
        msg("type=cache,sharing=no"),
        "unsupported sharing value \"no\""
    );
    assert_eq!(
        msg("target=/x,tagret=/y"),
        "unexpected key 'tagret' in 'tagret=/y' (did you mean target?)"
    );
    assert_eq!(
        msg("target=/x,bogus"),
        "invalid field 'bogus' must be a key=value pair"
    );
    assert_eq!(
        msg("target=/x,required"),
        "unexpected key 'required' for mount type 'bind'"
    );
    assert_eq!(
        msg("target=/x,size=1m"),
        "unexpected key 'size' for mount type 'bind'"
    );
    assert_eq!(msg("type=tmpfs,size=big"), "invalid value for size: big");
    assert_eq!(msg("target=/x,ro=maybe"), "invalid value for ro: maybe");
    assert_eq!(msg("type=cache,mode=999"), "invalid value 999 for mode");
    assert_eq!(
        msg("target=/x,uid=0"),
        "uid not allowed for \"bind\" type mounts"
    );
    assert_eq!(
        msg("type=secret"),
        "invalid secret mount. one of source, target required"
    );
    assert_eq!(
        msg("type=secret,id=a,from=x"),
        "secret mount should not have a from"
    );
    assert_eq!(
        msg("type=secret,id=a,source=b"),
        "both source and id can't be set"
    );
    assert_eq!(
        msg("type=tmpfs,target=/x,sharing=shared"),
        "invalid cache sharing set for tmpfs mount"
    );
}

#[test]
fn devices() {
    assert_eq!(
        parse_device("vendor.com/gpu=all").unwrap().name,
        "vendor.com/gpu=all"
    );
    let d = parse_device("name=nvidia.com/gpu,required").unwrap();
    assert_eq!((d.name.as_str(), d.required), ("nvidia.com/gpu", true));
    let d = parse_device("gpu,required=false").unwrap();
    assert_eq!((d.name.as_str(), d.required), ("gpu", false));
    assert_eq!(
        parse_device("a,b").unwrap_err().to_string(),
        "invalid field 'b' must be a key=value pair"
    );
    assert_eq!(
        parse_device("a,name=b").unwrap_err().to_string(),
        "device name already set to a"
    );
    assert_eq!(
        parse_device("a,nme=b").unwrap_err().to_string(),
        "unexpected key 'nme' in 'nme=b' (did you mean name?)"
    );
}
