//! The volume routes and the archive (`docker cp`) routes against fakes.

use api_types::{Volume, VolumeCreateOptions, VolumeListResponse, VolumePruneResponse};
use base64::Engine as _;
use engine::volume::VolumeError;

use super::*;
use crate::backend::VolumeBackend;

impl VolumeBackend for Fake {
    fn volume_list(&self, filters: &Filters) -> Result<VolumeListResponse> {
        let names: Vec<&str> = filters.get("name").collect();
        self.record(format!("list name={names:?}"), "")?;
        Ok(VolumeListResponse::default())
    }
    async fn volume_create(&self, opts: VolumeCreateOptions) -> Result<Volume> {
        self.record(format!("create {} {:?}", opts.name, opts.driver_opts), "")?;
        Ok(Volume {
            name: opts.name,
            driver: "local".into(),
            ..Default::default()
        })
    }
    fn volume_inspect(&self, name: &str) -> Result<Volume> {
        self.record(format!("inspect {name}"), "")?;
        Err(VolumeError::NotFound(name.into()).into())
    }
    async fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        self.record(format!("remove {name} force={force}"), "")?;
        Err(VolumeError::InUse {
            name: name.into(),
            users: vec!["c1".into()],
        }
        .into())
    }
    async fn volume_prune(&self, _: Filters, all_by_default: bool) -> Result<VolumePruneResponse> {
        self.record(format!("prune all_by_default={all_by_default}"), "")?;
        Ok(VolumePruneResponse::default())
    }
}

#[tokio::test]
async fn volume_routes_parse_bodies_and_map_volume_errors_to_statuses() {
    let fake = Arc::new(Fake::default());
    let app = || super::super::volumes::routes(fake.clone());
    let (s, body) = send(
        app(),
        "POST",
        "/volumes/create",
        r#"{"Name":"data","DriverOpts":{"type":"tmpfs"}}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert!(body.contains(r#""Name":"data""#), "{body}");
    let (s, body) = send(app(), "POST", "/volumes/create", r#"{"Labels":7}"#).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("Labels"), "{body}");
    let (s, body) = send(app(), "GET", "/volumes/nope", "").await;
    assert_eq!(
        (s, body.as_str()),
        (
            StatusCode::NOT_FOUND,
            r#"{"message":"get nope: no such volume"}"#
        )
    );
    let (s, body) = send(app(), "DELETE", "/volumes/data?force=1", "").await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("volume is in use - [c1]"), "{body}");
    let (s, _) = send(
        app(),
        "GET",
        "/volumes?filters=%7B%22name%22%3A%5B%22d%22%5D%7D",
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = send(app(), "GET", "/volumes?filters=notjson", "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = send(app(), "POST", "/volumes/prune", "").await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = send(app(), "PUT", "/volumes/data", "{}").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("only valid for cluster volumes"), "{body}");
    assert_eq!(
        fake.calls(),
        [
            "create data Some({\"type\": \"tmpfs\"})",
            "inspect nope",
            "remove data force=true",
            "list name=[\"d\"]",
            "prune all_by_default=false"
        ]
    );
}

#[tokio::test]
async fn archive_routes_carry_the_path_stat_header_and_the_put_flags() {
    let fake = Arc::new(Fake::default());
    let app = || super::super::containers::routes(fake.clone());
    let (s, body) = send(app(), "HEAD", "/containers/c1/archive", "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let req = Request::builder()
        .method("HEAD")
        .uri("/containers/c1/archive?path=/etc/f")
        .body(Body::empty())
        .unwrap();
    let resp = app().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let stat = resp
        .headers()
        .get("X-Docker-Container-Path-Stat")
        .expect("the stat header");
    let json = base64::engine::general_purpose::STANDARD
        .decode(stat.as_bytes())
        .unwrap();
    let stat: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(stat["name"], "f");
    assert_eq!(stat["size"], 3);
    let (s, _) = send(app(), "HEAD", "/containers/missing/archive?path=/", "").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = send(
        app(),
        "PUT",
        "/containers/c1/archive?path=/tmp&noOverwriteDirNonDir=1&copyUIDGID=true",
        "tarbytes",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        fake.calls(),
        [
            "stat c1 /etc/f",
            "stat missing /",
            "extract c1 /tmp 8 bytes noOverwriteDirNonDir=true copyUIDGID=true"
        ]
    );
}
