use super::*;

fn full(s: &str) -> String {
    Reference::parse(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .to_string()
}

#[test]
fn normalises_like_docker() {
    let cases = [
        ("busybox", "docker.io/library/busybox"),
        ("library/debian", "docker.io/library/debian"),
        ("docker/docker", "docker.io/docker/docker"),
        ("docker.io/debian", "docker.io/library/debian"),
        ("index.docker.io/docker/docker", "docker.io/docker/docker"),
        ("index.docker.io/debian", "docker.io/library/debian"),
        ("localhost/debian", "localhost/debian"),
        ("localhost:5000/x:1", "localhost:5000/x:1"),
        (
            "127.0.0.1:5000/library/debian",
            "127.0.0.1:5000/library/debian",
        ),
        ("192.168.0.1/a/b/c", "192.168.0.1/a/b/c"),
        ("[fc00::1]:5000/repo:v1", "[fc00::1]:5000/repo:v1"),
        ("Foo/bar", "Foo/bar"),
        ("localhost:5000", "docker.io/library/localhost:5000"),
        ("foo_bar.com:8080", "docker.io/library/foo_bar.com:8080"),
        ("a--b__c_d/f", "docker.io/a--b__c_d/f"),
        // Has a dot so it is taken as a registry, but is not a valid host: Docker then parses
        // the whole string as a path with no domain.
        ("a--b__c.d_e/f", "a--b__c.d_e/f"),
        (
            "busybox:Latest_1.0-rc",
            "docker.io/library/busybox:Latest_1.0-rc",
        ),
        ("sha256:dbcc1c", "docker.io/library/sha256:dbcc1c"),
    ];
    for (input, want) in cases {
        assert_eq!(full(input), want, "{input}");
    }
}

#[test]
fn default_tag_only_when_no_tag_and_no_digest() {
    assert_eq!(
        Reference::parse_tagged("busybox").unwrap().to_string(),
        "docker.io/library/busybox:latest"
    );
    let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let r = Reference::parse_tagged(&format!("busybox@{d}")).unwrap();
    assert_eq!(r.tag(), None);
    assert_eq!(r.digest().unwrap().as_str(), d);
    let r = Reference::parse(&format!("busybox:1@{d}")).unwrap();
    assert_eq!(r.to_string(), format!("docker.io/library/busybox:1@{d}"));
    assert_eq!(r.familiar(), format!("busybox:1@{d}"));
}

#[test]
fn familiar_form_is_what_docker_prints() {
    let cases = [
        ("busybox", "busybox:latest"),
        ("docker.io/library/ubuntu:22.04", "ubuntu:22.04"),
        ("docker.io/foo/bar", "foo/bar:latest"),
        ("docker.io/library/foo/bar:1", "library/foo/bar:1"),
        ("localhost:5000/x:1", "localhost:5000/x:1"),
        ("quay.io/a/b", "quay.io/a/b:latest"),
    ];
    for (input, want) in cases {
        assert_eq!(
            Reference::parse_tagged(input).unwrap().familiar(),
            want,
            "{input}"
        );
    }
    assert_eq!(
        Reference::parse("busybox:1").unwrap().familiar_name(),
        "busybox"
    );
}

#[test]
fn rejects_what_docker_rejects_with_its_messages() {
    let err = |s: &str| Reference::parse(s).unwrap_err().to_string();
    assert_eq!(
        err("Busybox"),
        "invalid reference format: repository name (library/Busybox) must be lowercase"
    );
    assert_eq!(
        err("docker.io/docker/Docker"),
        "invalid reference format: repository name (docker/Docker) must be lowercase"
    );
    for bad in [
        "https://github.com/docker/docker",
        "-docker",
        "docker///docker",
        "busybox:",
        "busybox:-tag",
        ":tag",
        "busybox@sha256:abc",
        "a/b@",
        "foo___bar",
        "foo..bar",
        "foo-.bar",
        "foo.",
        "[fe80::1%eth0]:5000/repo",
        "localhost:port/repo",
        "a b",
        "busybox@@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ] {
        assert_eq!(err(bad), "invalid reference format", "{bad}");
    }
    let hex = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";
    assert_eq!(
        err(hex),
        format!("invalid repository name ({hex}), cannot specify 64-byte hexadecimal strings")
    );
    assert_eq!(err(""), "invalid reference format");
    assert_eq!(
        Reference::parse_canonical("").unwrap_err(),
        ReferenceError::NameEmpty
    );
    assert!(
        err(&format!("busybox@md5:{}", "a".repeat(32))).starts_with("unsupported digest algorithm")
    );
    assert!(err(&format!("busybox@sha256:{}", "a".repeat(40)))
        .starts_with("invalid checksum digest length"));
    assert_eq!(
        Reference::parse("a b").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn tag_length_and_name_length_limits() {
    let ok_tag = format!("busybox:{}", "a".repeat(128));
    assert!(Reference::parse(&ok_tag).is_ok());
    let long_tag = format!("busybox:{}", "a".repeat(129));
    assert!(Reference::parse(&long_tag).is_err());
    // docker.io/ (10) + 245 = 255: accepted; one more is too long.
    let ok_name = format!("x/{}", "a".repeat(243));
    assert!(Reference::parse(&ok_name).is_ok());
    let long_name = format!("x/{}", "a".repeat(244));
    assert_eq!(
        Reference::parse(&long_name).unwrap_err().to_string(),
        "repository name must not be more than 255 characters"
    );
}

#[test]
fn with_tag_validates_and_drops_digest() {
    let r = Reference::parse("localhost:5000/app").unwrap();
    assert_eq!(
        r.with_tag("v2").unwrap().to_string(),
        "localhost:5000/app:v2"
    );
    assert_eq!(
        r.with_tag("bad tag").unwrap_err().to_string(),
        "invalid tag format"
    );
    let d = Digest::sha256_of(b"x");
    assert_eq!(r.with_digest(d.clone()).digest(), Some(&d));
    assert_eq!(
        r.with_tag("v1").unwrap().name_only().to_string(),
        "localhost:5000/app"
    );
}

#[test]
fn any_reference_tells_ids_from_names() {
    let hex = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
    assert_eq!(
        AnyReference::parse(hex).unwrap(),
        AnyReference::Id(Digest::parse(&format!("sha256:{hex}")).unwrap())
    );
    assert!(matches!(
        AnyReference::parse(&format!("sha256:{hex}")),
        Ok(AnyReference::Id(_))
    ));
    match AnyReference::parse("dbcc1c").unwrap() {
        AnyReference::Named(r) => assert_eq!(r.to_string(), "docker.io/library/dbcc1c"),
        other => panic!("{other:?}"),
    }
    assert_eq!(id_prefix("dbcc1c"), Some("dbcc1c"));
    assert_eq!(id_prefix("sha256:dbcc"), Some("dbcc"));
    assert_eq!(id_prefix(hex), Some(hex));
    assert_eq!(id_prefix("busybox"), None);
    assert_eq!(id_prefix("DBCC"), None);
    assert_eq!(id_prefix(""), None);
    assert!(is_full_hex_id(hex));
    assert!(!is_full_hex_id("dbcc1c"));
}

#[test]
fn serde_uses_the_full_string() {
    let r = Reference::parse_tagged("busybox").unwrap();
    let j = serde_json::to_string(&r).unwrap();
    assert_eq!(j, "\"docker.io/library/busybox:latest\"");
    assert_eq!(serde_json::from_str::<Reference>(&j).unwrap(), r);
    assert!(serde_json::from_str::<Reference>("\"Bad\"").is_err());
}

#[test]
fn canonical_parse_keeps_empty_domain() {
    let r = Reference::parse_canonical("busybox:1").unwrap();
    assert_eq!((r.domain(), r.path(), r.tag()), ("", "busybox", Some("1")));
}

/// The cases the CLI's own copy of the grammar was tested with, before it used this one.
#[test]
fn normalises_and_familiarises_like_the_docker_cli() {
    let r = Reference::parse("busybox").unwrap();
    assert_eq!(r.repository(), "docker.io/library/busybox");
    assert_eq!(r.clone().with_default_tag().familiar(), "busybox:latest");
    let r = Reference::parse("docker.io/library/busybox:1.36").unwrap();
    assert_eq!(r.familiar(), "busybox:1.36");
    let r = Reference::parse("me/app").unwrap();
    assert_eq!(r.repository(), "docker.io/me/app");
    assert_eq!(r.familiar_name(), "me/app");
    let r = Reference::parse("localhost:5000/app:v1").unwrap();
    assert_eq!(
        (r.domain(), r.path(), r.tag()),
        ("localhost:5000", "app", Some("v1"))
    );
    assert_eq!(r.familiar(), "localhost:5000/app:v1");
    let d = format!("busybox@sha256:{}", "a".repeat(64));
    assert_eq!(Reference::parse(&d).unwrap().with_default_tag().tag(), None);
    assert!(Reference::parse("Busybox").is_err());
    assert!(Reference::parse("bad:tag:x").is_err());
    assert!(Reference::parse("a//b").is_err());
    assert!(is_full_hex_id(&"0".repeat(64)));
    assert!(valid_path("library/busybox") && !valid_path("a//b") && !valid_path("A"));
    assert!(valid_tag("_v1.0-rc") && !valid_tag(".bad") && !valid_tag(&"t".repeat(129)));
}
