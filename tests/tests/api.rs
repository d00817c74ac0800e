//! The Engine API at the HTTP level: version prefixes, `/_ping` headers, error statuses and
//! bodies for bad input.

use berth_tests::daemon::http;
use berth_tests::Daemon;

#[test]
fn ping_version_and_prefixes() {
    let d = Daemon::start().unwrap();
    let (st, h, body) = http(&d.socket, "GET", "/_ping", None).unwrap();
    assert_eq!((st, body.as_str()), (200, "OK"));
    let get = |k: &str| h.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("api-version").as_deref(), Some("1.47"));
    assert_eq!(get("ostype").as_deref(), Some("linux"));
    assert!(get("builder-version").is_some());
    let (st, _, _) = http(&d.socket, "HEAD", "/_ping", None).unwrap();
    assert_eq!(st, 200);
    for v in ["v1.24", "v1.41", "v1.47"] {
        let (st, _, body) = http(&d.socket, "GET", &format!("/{v}/version"), None).unwrap();
        assert_eq!(st, 200, "{v}: {body}");
        let j: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(j["ApiVersion"], "1.47");
        assert_eq!(j["Os"], "linux");
    }
    let (st, _, body) = http(&d.socket, "GET", "/v1.99/version", None).unwrap();
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("too new"), "{body}");
    let (st, _, body) = http(&d.socket, "GET", "/v1.12/version", None).unwrap();
    assert_eq!(st, 400, "{body}");
    let (st, _, body) = http(&d.socket, "GET", "/v1.47/nothing/here", None).unwrap();
    assert_eq!(st, 404, "{body}");
    let (st, _, body) = http(&d.socket, "GET", "/info", None).unwrap();
    assert_eq!(st, 200, "{body}");
}

#[test]
fn bad_input_gets_clear_errors() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let (st, _, body) = http(
        &d.socket,
        "POST",
        "/v1.47/containers/create",
        Some("{not json"),
    )
    .unwrap();
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("message"), "{body}");
    let (st, _, body) = http(
        &d.socket,
        "POST",
        "/v1.47/containers/create",
        Some(r#"{"Image":"busybox","HostConfig":{"Memory":"lots"}}"#),
    )
    .unwrap();
    assert_eq!(st, 400, "{body}");
    assert!(
        body.contains("HostConfig.Memory"),
        "the error names the field: {body}"
    );
    let (st, _, body) = http(
        &d.socket,
        "POST",
        "/v1.47/containers/create",
        Some(r#"{"Image":"nope:1"}"#),
    )
    .unwrap();
    assert_eq!(st, 404, "{body}");
    assert!(body.contains("No such image: nope:1"), "{body}");
    let (st, _, body) = http(&d.socket, "GET", "/v1.47/containers/nope/json", None).unwrap();
    assert_eq!(st, 404);
    assert!(body.contains("No such container: nope"), "{body}");
    let (st, _, body) = http(
        &d.socket,
        "POST",
        "/v1.47/containers/json?filters=%7Bbad",
        None,
    )
    .unwrap();
    assert!(st == 400 || st == 405, "{st} {body}");
    let (st, _, body) = http(
        &d.socket,
        "GET",
        "/v1.47/containers/json?filters=%7Bbad",
        None,
    )
    .unwrap();
    assert_eq!(st, 400, "{body}");
    let (st, _, body) = http(
        &d.socket,
        "POST",
        "/v1.47/containers/create?name=a%20b",
        Some(r#"{"Image":"busybox"}"#),
    )
    .unwrap();
    assert_eq!(st, 400, "{body}");
    // Nothing half-made was left by the failures.
    let (_, _, body) = http(&d.socket, "GET", "/v1.47/containers/json?all=1", None).unwrap();
    assert_eq!(body.trim(), "[]");
}
