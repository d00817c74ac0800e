//! Authentication: htpasswd basic auth, the bearer-token flow with per-repository permissions,
//! and TLS (rustls, ring).

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::{files_under, TestImage, TestServer};
use registry::auth::Action;
use registry::config::{AccessRule, AuthMode, Config, TlsConfig};
use serde_json::Value;

fn rule(repo: &str, users: &[&str], anonymous: bool, actions: &[Action]) -> AccessRule {
    AccessRule {
        repository: repo.into(),
        users: users.iter().map(|s| s.to_string()).collect(),
        anonymous,
        actions: actions.to_vec(),
    }
}

/// alice may push/pull/delete `alice/*`; bob may pull everything; anonymous may pull `public/*`.
fn with_users(mode: AuthMode, dir: &std::path::Path) -> impl FnOnce(&mut Config) {
    let ht = dir.join("htpasswd");
    let alice = bcrypt::hash("alice-pw", 4).unwrap();
    let bob = bcrypt::hash("bob-pw", 4).unwrap();
    std::fs::write(&ht, format!("alice:{alice}\nbob:{bob}\n")).unwrap();
    move |c: &mut Config| {
        c.auth.mode = mode;
        c.auth.htpasswd = Some(ht);
        c.auth.access = vec![
            rule(
                "alice/*",
                &["alice"],
                false,
                &[Action::Pull, Action::Push, Action::Delete],
            ),
            rule("*", &["bob"], false, &[Action::Pull]),
            rule("public/*", &[], true, &[Action::Pull]),
        ];
    }
}

#[tokio::test]
async fn basic_auth_checks_credentials_and_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(with_users(AuthMode::Basic, dir.path())).await;
    let anon = s.client();
    let alice = anon.basic("alice", "alice-pw");
    let bob = anon.basic("bob", "bob-pw");

    let r = anon.get("/v2/_catalog").await;
    assert_eq!(r.status, 200, "anonymous may list what it may pull");
    alice.get("/v2/").await.expect(200, None);
    let wrong = anon.basic("alice", "nope").get("/v2/").await;
    wrong.expect(401, Some("UNAUTHORIZED"));
    assert!(wrong
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic realm="));
    anon.basic("mallory", "alice-pw")
        .get("/v2/")
        .await
        .expect(401, Some("UNAUTHORIZED"));
    // A malformed Basic header is not taken for anonymous.
    for bad in ["Basic !!!", "Basic bm9jb2xvbg=="] {
        anon.with_auth(bad)
            .get("/v2/_catalog")
            .await
            .expect(401, Some("UNAUTHORIZED"));
    }

    let img = TestImage::new("auth", "auth");
    img.push(&alice, "alice/app", "v1").await;
    // bob may pull but not push: 403 DENIED, nothing stored.
    bob.get("/v2/alice/app/manifests/v1")
        .await
        .expect(200, None);
    let before = files_under(&s.root);
    bob.push_blob("alice/app", b"bob was here")
        .await
        .1
        .expect(403, Some("DENIED"));
    bob.send("DELETE", "/v2/alice/app/manifests/v1", &[], Bytes::new())
        .await
        .expect(403, Some("DENIED"));
    assert_eq!(files_under(&s.root), before);
    // Anonymous: no access to alice/*, a challenge to log in.
    let r = anon.get("/v2/alice/app/manifests/v1").await;
    r.expect(401, Some("UNAUTHORIZED"));
    assert!(r.header("www-authenticate").is_some());
    // Search and the catalog only show what the caller may pull.
    assert_eq!(anon.get("/v1/search?q=app").await.json()["num_results"], 0);
    assert_eq!(bob.get("/v1/search?q=app").await.json()["num_results"], 1);
    assert_eq!(
        anon.get("/v2/_catalog").await.json()["repositories"],
        serde_json::json!([])
    );
    assert_eq!(
        alice.get("/v2/_catalog").await.json()["repositories"],
        serde_json::json!(["alice/app"])
    );
    anon.basic("alice", "nope")
        .get("/v1/search?q=app")
        .await
        .expect(401, None);
}

async fn token(s: &TestServer, creds: Option<(&str, &str)>, scopes: &[&str]) -> (u16, Value) {
    let mut q: Vec<(&str, &str)> = vec![("service", "berth-registry")];
    q.extend(scopes.iter().map(|s| ("scope", *s)));
    let path = format!("/token?{}", serde_urlencoded::to_string(&q).unwrap());
    let c = match creds {
        Some((u, p)) => s.client().basic(u, p),
        None => s.client(),
    };
    let r = c.get(&path).await;
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

#[tokio::test]
async fn token_flow_grants_per_repository_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(with_users(AuthMode::Token, dir.path())).await;
    let anon = s.client();

    // The challenge names the realm, service and scope.
    let r = anon.get("/v2/").await;
    r.expect(401, Some("UNAUTHORIZED"));
    let realm = format!(
        "Bearer realm=\"http://{}/token\",service=\"berth-registry\"",
        s.addr
    );
    assert_eq!(r.header("www-authenticate"), Some(realm.as_str()));
    let r = anon.push_blob("alice/app", b"x").await.1;
    r.expect(401, Some("UNAUTHORIZED"));
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .ends_with(",scope=\"repository:alice/app:push\""));

    // Wrong credentials at the token endpoint.
    let (st, _) = token(
        &s,
        Some(("alice", "wrong")),
        &["repository:alice/app:pull,push"],
    )
    .await;
    assert_eq!(st, 401);

    let (st, t) = token(
        &s,
        Some(("alice", "alice-pw")),
        &["repository:alice/app:pull,push"],
    )
    .await;
    assert_eq!(st, 200);
    assert!(t["expires_in"].as_u64().unwrap() > 0);
    assert!(t["issued_at"].as_str().is_some());
    let alice = anon.with_auth(format!("Bearer {}", t["token"].as_str().unwrap()));
    alice.get("/v2/").await.expect(200, None);
    TestImage::new("tok", "tok")
        .push(&alice, "alice/app", "v1")
        .await;

    // The same token for another repository: 401 insufficient_scope, nothing stored.
    let before = files_under(&s.root);
    let r = alice.push_blob("alice/other", b"y").await.1;
    r.expect(401, Some("UNAUTHORIZED"));
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"insufficient_scope\""));
    alice
        .send("DELETE", "/v2/alice/app/manifests/v1", &[], Bytes::new())
        .await
        .expect(401, Some("UNAUTHORIZED"));
    assert_eq!(files_under(&s.root), before);

    // bob asks for push on alice/app: the token grants only pull.
    let (_, t) = token(
        &s,
        Some(("bob", "bob-pw")),
        &["repository:alice/app:pull,push"],
    )
    .await;
    let bob = anon.with_auth(format!("Bearer {}", t["token"].as_str().unwrap()));
    bob.get("/v2/alice/app/manifests/v1")
        .await
        .expect(200, None);
    // A signed-in user the rules refuse is denied (403), naming the scope, rather than told
    // to authenticate again as if the password were wrong.
    let r = bob.push_blob("alice/app", b"z").await.1;
    r.expect(403, Some("DENIED"));
    let body = String::from_utf8_lossy(&r.body);
    assert!(body.contains("repository:alice/app:push"), "{body}");

    // Anonymous tokens reach public/* only.
    let (st, t) = token(
        &s,
        None,
        &["repository:public/x:pull", "repository:alice/app:pull"],
    )
    .await;
    assert_eq!(st, 200);
    let anon_t = anon.with_auth(format!("Bearer {}", t["token"].as_str().unwrap()));
    anon_t
        .get("/v2/alice/app/manifests/v1")
        .await
        .expect(401, Some("UNAUTHORIZED"));
    anon_t
        .get("/v2/public/x/tags/list")
        .await
        .expect(404, Some("NAME_UNKNOWN"));

    // Forged and foreign tokens.
    anon.with_auth("Bearer abc.def.ghi")
        .get("/v2/")
        .await
        .expect(401, Some("UNAUTHORIZED"));
    let r = anon
        .get("/token?service=elsewhere&scope=repository:a:pull")
        .await;
    r.expect(400, Some("UNSUPPORTED"));
}

#[tokio::test]
async fn oauth2_password_grant_for_containerd_style_clients() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(with_users(AuthMode::Token, dir.path())).await;
    let c = s.client();
    let form = |body: &str| {
        let c = c.clone();
        let body = body.to_owned();
        async move {
            c.send(
                "POST",
                "/token",
                &[("content-type", "application/x-www-form-urlencoded")],
                body,
            )
            .await
        }
    };
    let r = form("grant_type=password&username=alice&password=alice-pw&service=berth-registry&client_id=containerd-client&scope=repository%3Aalice%2Fapp%3Apull%2Cpush").await;
    r.expect(200, None);
    let t = r.json()["access_token"].as_str().unwrap().to_owned();
    let alice = c.with_auth(format!("Bearer {t}"));
    TestImage::new("oauth", "oauth")
        .push(&alice, "alice/app", "v1")
        .await;
    let r = form("grant_type=password&username=alice&password=nope&service=berth-registry").await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (401, serde_json::json!("invalid_grant"))
    );
    let r = form("grant_type=refresh_token&refresh_token=x&service=berth-registry").await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, serde_json::json!("unsupported_grant_type"))
    );
    let r = form("grant_type=password&username=alice").await;
    assert_eq!(r.status, 400);
}

fn self_signed(dir: &std::path::Path) -> (TlsConfig, Arc<rustls::ClientConfig>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (TlsConfig { cert, key }, Arc::new(client))
}

#[tokio::test]
async fn serves_https_with_rustls() {
    let dir = tempfile::tempdir().unwrap();
    let (tls, client_cfg) = self_signed(dir.path());
    let mut s = TestServer::start(move |c| c.tls = Some(tls)).await;
    s.tls = Some(client_cfg);
    let c = s.client();
    c.get("/v2/").await.expect(200, None);
    let img = TestImage::new("tls", "tls");
    img.push(&c, "secure/app", "v1").await;
    let g = c.get("/v2/secure/app/manifests/v1").await;
    assert_eq!(&g.body[..], &img.manifest[..]);
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let io = hyper_util::rt::TokioIo::new(plain);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    tokio::spawn(conn);
    let req = http::Request::get("/v2/")
        .header("host", "localhost")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    assert!(sender.send_request(req).await.is_err());
}

#[tokio::test]
async fn bad_tls_material_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    let mut cfg = Config::anonymous("127.0.0.1:0".parse().unwrap(), dir.path().join("root"));
    cfg.tls = Some(TlsConfig {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
    });
    let err = registry::Registry::open(&cfg)
        .await
        .err()
        .expect("must fail");
    assert!(err.to_string().contains("cert.pem"), "{err}");
}

#[tokio::test]
async fn web_ui_sign_in_shows_what_the_user_may_pull() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(with_users(AuthMode::Basic, dir.path())).await;
    let anon = s.client();
    let alice = anon.basic("alice", "alice-pw");
    TestImage::new("ui", "private app")
        .push(&alice, "alice/app", "v1")
        .await;
    TestImage::new("pub", "public app")
        .push(&alice, "alice/pub", "v1")
        .await;

    let home = String::from_utf8(anon.get("/").await.body.to_vec()).unwrap();
    assert!(home.contains("href=\"/login\""), "{home}");
    assert!(!home.contains("alice/app"));
    let r = anon.get("/login").await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"berth-registry\"")
    );
    assert_eq!(anon.basic("alice", "wrong").get("/login").await.status, 401);
    let r = alice.get("/login").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/")));
    let home = String::from_utf8(alice.get("/").await.body.to_vec()).unwrap();
    assert!(
        home.contains("signed in as alice") && home.contains("href=\"/r/alice/app\""),
        "{home}"
    );
    assert_eq!(
        anon.get("/r/alice/app").await.status,
        404,
        "private repository page leaked"
    );
    assert_eq!(alice.get("/r/alice/app").await.status, 200);
    assert_eq!(anon.basic("alice", "wrong").get("/").await.status, 401);
}
