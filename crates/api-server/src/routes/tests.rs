//! Handler tests against fake backends (no daemon: the real engine is exercised end to end in
//! `tests/`). They check what only the handlers do — query and body parsing, refusing bad
//! input before the backend is reached, statuses and error bodies.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use tower::ServiceExt;

use api_types::{
    ContainerCreateRequest, ContainerCreateResponse, ContainerInspect, ContainerPathStat,
    ContainerPruneResponse, ContainerSummary, ContainerTopResponse, ExecConfig, ExecInspect,
    Filters, SystemInfo, SystemVersion, UpdateConfig, UpdateResponse,
};
use engine::container::{
    AttachOptions, AttachSession, ExecStart, ExecStartOptions, ExportStream, ExtractOptions,
    ListOptions, LogStream, LogsOptions, RemoveOptions, StatsOptions, StatsStream, StopOptions,
    WaitCondition, WaitFuture,
};
use engine::{Error, Result};
use tokio::io::AsyncRead;

use crate::backend::{ContainerBackend, EventStream, ExecBackend, SystemBackend};

mod volumes;

/// Records what reached it; `missing` does not exist.
#[derive(Default)]
struct Fake {
    calls: Mutex<Vec<String>>,
}

impl Fake {
    fn record(&self, call: String, id: &str) -> Result<()> {
        self.calls.lock().unwrap().push(call);
        if id == "missing" {
            return Err(Error::NoSuchContainer(id.into()));
        }
        Ok(())
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

fn not_faked<T>() -> Result<T> {
    Err(Error::invalid("not faked"))
}

impl ContainerBackend for Fake {
    async fn create(
        &self,
        name: Option<&str>,
        _: ContainerCreateRequest,
    ) -> Result<ContainerCreateResponse> {
        self.record(format!("create {name:?}"), "")?;
        Ok(ContainerCreateResponse {
            id: "c1".into(),
            warnings: vec![],
        })
    }
    async fn start(&self, id: &str) -> Result<()> {
        self.record(format!("start {id}"), id)
    }
    async fn stop(&self, id: &str, o: StopOptions) -> Result<()> {
        self.record(format!("stop {id} {:?} {:?}", o.signal, o.timeout), id)
    }
    async fn restart(&self, id: &str, _: StopOptions) -> Result<()> {
        self.record(format!("restart {id}"), id)
    }
    async fn kill(&self, id: &str, signal: Option<&str>) -> Result<()> {
        self.record(format!("kill {id} {signal:?}"), id)
    }
    async fn wait(&self, _: &str, _: WaitCondition) -> Result<WaitFuture> {
        not_faked()
    }
    async fn remove(&self, id: &str, o: RemoveOptions) -> Result<()> {
        self.record(format!("remove {id} force={}", o.force), id)
    }
    async fn list(&self, _: ListOptions) -> Result<Vec<ContainerSummary>> {
        Ok(vec![])
    }
    async fn inspect(&self, _: &str, _: bool) -> Result<ContainerInspect> {
        not_faked()
    }
    async fn logs(&self, _: &str, _: LogsOptions) -> Result<LogStream> {
        not_faked()
    }
    async fn attach(&self, _: &str, _: AttachOptions) -> Result<AttachSession> {
        not_faked()
    }
    async fn resize(&self, id: &str, h: u16, w: u16) -> Result<()> {
        self.record(format!("resize {id} {h}x{w}"), id)
    }
    async fn rename(&self, id: &str, name: &str) -> Result<()> {
        self.record(format!("rename {id} {name}"), id)
    }
    async fn top(&self, _: &str, _: &str) -> Result<ContainerTopResponse> {
        not_faked()
    }
    async fn prune(&self, _: Filters) -> Result<ContainerPruneResponse> {
        not_faked()
    }
    async fn stats(&self, id: &str, o: StatsOptions) -> Result<StatsStream> {
        self.record(
            format!("stats {id} stream={} one_shot={}", o.stream, o.one_shot),
            id,
        )?;
        let s = api_types::stats::StatsResponse {
            id: id.into(),
            ..Default::default()
        };
        Ok(Box::pin(futures_util::stream::iter([s.clone(), s])))
    }
    async fn pause(&self, id: &str) -> Result<()> {
        self.record(format!("pause {id}"), id)
    }
    async fn unpause(&self, id: &str) -> Result<()> {
        self.record(format!("unpause {id}"), id)
    }
    async fn update(&self, id: &str, cfg: UpdateConfig) -> Result<UpdateResponse> {
        self.record(format!("update {id} memory={}", cfg.memory), id)?;
        Ok(UpdateResponse::default())
    }
    async fn stat_path(&self, id: &str, path: &str) -> Result<ContainerPathStat> {
        self.record(format!("stat {id} {path}"), id)?;
        Ok(ContainerPathStat {
            name: "f".into(),
            size: 3,
            mode: 0o644,
            mtime: "2024-01-01T00:00:00Z".into(),
            link_target: String::new(),
        })
    }
    async fn archive_path(&self, _: &str, _: &str) -> Result<(ContainerPathStat, ExportStream)> {
        not_faked()
    }
    async fn extract_to_dir<R: AsyncRead + Send + Unpin + 'static>(
        &self,
        id: &str,
        path: &str,
        opts: ExtractOptions,
        mut body: R,
    ) -> Result<()> {
        let mut tar = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut body, &mut tar)
            .await
            .map_err(|e| Error::io("reading the body", e))?;
        self.record(
            format!(
                "extract {id} {path} {} bytes noOverwriteDirNonDir={} copyUIDGID={}",
                tar.len(),
                opts.no_overwrite_dir_non_dir,
                opts.copy_uid_gid
            ),
            id,
        )
    }
}

impl ExecBackend for Fake {
    async fn exec_create(&self, id: &str, cfg: ExecConfig) -> Result<String> {
        self.record(format!("exec {id} {:?}", cfg.cmd), id)?;
        Ok("e1".into())
    }
    async fn exec_start(&self, _: &str, _: ExecStartOptions) -> Result<ExecStart> {
        not_faked()
    }
    async fn exec_resize(&self, id: &str, h: u16, w: u16) -> Result<()> {
        self.record(format!("exec resize {id} {h}x{w}"), id)
    }
    fn exec_inspect(&self, id: &str) -> Result<ExecInspect> {
        self.record(format!("exec inspect {id}"), id)?;
        Ok(ExecInspect {
            id: id.into(),
            ..Default::default()
        })
    }
}

impl SystemBackend for Fake {
    fn version(&self) -> SystemVersion {
        SystemVersion {
            version: "fake".into(),
            ..Default::default()
        }
    }
    async fn info(&self) -> Result<SystemInfo> {
        not_faked()
    }
    fn events(&self, _: Option<&str>, _: Option<&str>, _: Filters) -> Result<EventStream> {
        not_faked()
    }
}

/// Sends one request; returns the status and the body.
async fn send(app: Router, method: &str, uri: &str, body: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn container_routes_parse_queries_and_map_errors_to_statuses() {
    let fake = Arc::new(Fake::default());
    let app = || super::containers::routes(fake.clone());
    let (s, _) = send(app(), "POST", "/containers/c1/stop?t=5&signal=SIGINT", "").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = send(app(), "POST", "/containers/missing/start", "").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body, r#"{"message":"No such container: missing"}"#);
    let (s, _) = send(app(), "DELETE", "/containers/c1?force=1", "").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = send(app(), "POST", "/containers/c1/rename?name=web", "").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        fake.calls(),
        [
            "stop c1 Some(\"SIGINT\") Some(5)",
            "start missing",
            "remove c1 force=true",
            "rename c1 web"
        ]
    );
}

#[tokio::test]
async fn bad_container_requests_never_reach_the_backend() {
    let fake = Arc::new(Fake::default());
    let app = || super::containers::routes(fake.clone());
    let (s, body) = send(app(), "POST", "/containers/create?platform=windows", "{}").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("requested platform windows is not supported"),
        "{body}"
    );
    let (s, body) = send(app(), "POST", "/containers/c1/resize?h=70000&w=80", "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("invalid terminal size 70000x80"), "{body}");
    let (s, body) = send(app(), "POST", "/containers/c1/wait?condition=bogus", "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains(r#"invalid condition: \"bogus\""#), "{body}");
    let (s, body) = send(app(), "DELETE", "/containers/c1?link=1", "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("links are not supported"), "{body}");
    let (s, body) = send(
        app(),
        "POST",
        "/containers/create",
        r#"{"HostConfig":{"Memory":"x"}}"#,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("HostConfig.Memory"), "{body}");
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
    let (s, body) = send(
        app(),
        "POST",
        "/containers/create?name=web",
        r#"{"Image":"busybox"}"#,
    )
    .await;
    assert_eq!(
        (s, body.as_str()),
        (StatusCode::CREATED, r#"{"Id":"c1","Warnings":[]}"#)
    );
    assert_eq!(fake.calls(), ["create Some(\"web\")"]);
}

#[tokio::test]
async fn exec_and_system_routes_use_their_backends() {
    let fake = Arc::new(Fake::default());
    let (s, body) = send(
        super::exec::routes(fake.clone()),
        "GET",
        "/exec/e9/json",
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(r#""ID":"e9""#), "{body}");
    let (s, _) = send(
        super::exec::routes(fake.clone()),
        "POST",
        "/exec/e9/resize?h=-1&w=3",
        "",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, body) = send(
        super::exec::routes(fake.clone()),
        "POST",
        "/containers/c1/exec",
        r#"{"Cmd":["true"]}"#,
    )
    .await;
    assert_eq!((s, body.as_str()), (StatusCode::CREATED, r#"{"Id":"e1"}"#));
    assert_eq!(
        fake.calls(),
        ["exec inspect e9", "exec c1 Some([\"true\"])"]
    );
    let sys = || super::system::routes(fake.clone());
    let (s, body) = send(sys(), "GET", "/version", "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(r#""Version":"fake""#), "{body}");
    let (s, body) = send(sys(), "GET", "/events?filters=notjson", "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, body) = send(sys(), "GET", "/_ping", "").await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, "OK"));
}

#[tokio::test]
async fn operate_routes_parse_their_queries_and_bodies() {
    let fake = Arc::new(Fake::default());
    let app = || super::containers::routes(fake.clone());
    let (s, body) = send(app(), "GET", "/containers/c1/stats", "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body.lines().count(), 2, "one JSON sample per line: {body}");
    let (s, _) = send(app(), "GET", "/containers/c1/stats?stream=0&one-shot=1", "").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = send(app(), "POST", "/containers/c1/pause", "").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = send(app(), "POST", "/containers/missing/unpause", "").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let (s, body) = send(
        app(),
        "POST",
        "/containers/c1/update",
        r#"{"Memory":"lots"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("Memory"), "{body}");
    let (s, body) = send(
        app(),
        "POST",
        "/containers/c1/update",
        r#"{"Memory":67108864}"#,
    )
    .await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, r#"{"Warnings":[]}"#));
    assert_eq!(
        fake.calls(),
        [
            "stats c1 stream=true one_shot=false",
            "stats c1 stream=false one_shot=true",
            "pause c1",
            "unpause missing",
            "update c1 memory=67108864"
        ]
    );
}

mod images {
    use super::*;
    use crate::backend::ImageBackend;
    use api_types::{
        AuthResponse, HistoryResponseItem, ImageDeleteResponseItem, ImageInspect,
        ImageSearchResponseItem, ImageSummary, JsonMessage,
    };
    use distribution::AuthConfig;
    use engine::image::progress::Receiver;
    use engine::image::{
        ChannelStream, ImportOptions, ListImagesOptions, PullOptions, PushOptions, SaveStream,
        SearchOptions,
    };

    impl ImageBackend for Fake {
        async fn import<R: AsyncRead + Send + Unpin + 'static>(
            &self,
            _: R,
            opts: ImportOptions,
        ) -> Result<String> {
            self.record(format!("import {:?} {:?}", opts.repo, opts.changes), "")?;
            Ok("sha256:feed".into())
        }
        async fn import_url(&self, url: &str, opts: ImportOptions) -> Result<String> {
            self.record(format!("import {url} {:?}", opts.repo), "")?;
            Ok("sha256:beef".into())
        }
        async fn list(&self, opts: ListImagesOptions) -> Result<Vec<ImageSummary>> {
            self.record(format!("list all={}", opts.all), "")?;
            Ok(vec![])
        }
        async fn inspect(&self, name: &str) -> Result<ImageInspect> {
            self.record(format!("inspect {name}"), "")?;
            Err(Error::NoSuchImage(name.into()))
        }
        async fn history(&self, _: &str) -> Result<Vec<HistoryResponseItem>> {
            not_faked()
        }
        async fn tag(&self, name: &str, repo: &str, tag: Option<&str>) -> Result<()> {
            self.record(format!("tag {name} {repo} {tag:?}"), "")
        }
        async fn delete(
            &self,
            name: &str,
            force: bool,
            noprune: bool,
        ) -> Result<Vec<ImageDeleteResponseItem>> {
            self.record(format!("delete {name} force={force} noprune={noprune}"), "")?;
            Ok(vec![])
        }
        async fn save(&self, _: Vec<String>) -> Result<SaveStream> {
            not_faked()
        }
        fn load<R: AsyncRead + Send + Unpin + 'static>(
            &self,
            _: R,
            _: bool,
        ) -> ChannelStream<JsonMessage> {
            unimplemented!("not faked")
        }
        fn pull(&self, _: PullOptions) -> Receiver {
            unimplemented!("not faked")
        }
        fn push(&self, _: PushOptions) -> Receiver {
            unimplemented!("not faked")
        }
        async fn search(&self, _: SearchOptions) -> Result<Vec<ImageSearchResponseItem>> {
            not_faked()
        }
        async fn login(&self, _: AuthConfig) -> Result<AuthResponse> {
            not_faked()
        }
    }

    #[tokio::test]
    async fn image_routes_dispatch_on_the_last_segment_of_a_slashed_name() {
        let fake = Arc::new(Fake::default());
        let app = || super::super::images::routes(fake.clone());
        let (s, _) = send(
            app(),
            "POST",
            "/images/127.0.0.1:5000/a/b:1/tag?repo=c&tag=2",
            "",
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, body) = send(app(), "GET", "/images/reg.io/x/y/json", "").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(body, r#"{"message":"No such image: reg.io/x/y"}"#);
        let (s, _) = send(app(), "DELETE", "/images/a/b?force=1&noprune=0", "").await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = send(app(), "GET", "/images/a/b/bogus", "").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, body) = send(
            app(),
            "POST",
            "/images/create?fromSrc=-&repo=r&changes=CMD%20sh",
            "",
        )
        .await;
        assert_eq!(
            (s, body.as_str()),
            (StatusCode::OK, "{\"status\":\"sha256:feed\"}\r\n")
        );
        let (s, _) = send(app(), "POST", "/images/create", "").await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "neither fromSrc nor fromImage");
        assert_eq!(
            fake.calls(),
            [
                "tag 127.0.0.1:5000/a/b:1 c Some(\"2\")",
                "inspect reg.io/x/y",
                "delete a/b force=true noprune=false",
                "import Some(\"r\") [\"CMD sh\"]"
            ]
        );
    }

    #[tokio::test]
    async fn import_from_a_url_says_where_it_downloads_from() {
        let fake = Arc::new(Fake::default());
        let app = || super::super::images::routes(fake.clone());
        let (s, body) = send(
            app(),
            "POST",
            "/images/create?fromSrc=127.0.0.1:8/r.tar&repo=r",
            "",
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(
            body,
            "{\"status\":\"Downloading from http://127.0.0.1:8/r.tar\"}\r\n{\"status\":\"sha256:beef\"}\r\n"
        );
        assert_eq!(fake.calls(), ["import 127.0.0.1:8/r.tar Some(\"r\")"]);
    }
}

mod build {
    use super::*;
    use api_types::build::{ContextManifest, ContextSyncResponse};
    use api_types::BuildCachePruneResponse;
    use engine::builder::{BuildRequest, PruneOptions, Receiver};
    use tokio::io::{AsyncRead, AsyncReadExt};

    use crate::backend::BuildBackend;

    impl BuildBackend for Fake {
        async fn build<R: AsyncRead + Send + Unpin + 'static>(
            &self,
            req: BuildRequest,
            mut body: R,
        ) -> Result<Receiver> {
            let mut ctx = Vec::new();
            let _ = body.read_to_end(&mut ctx).await;
            let o = &req.options;
            self.record(
                format!(
                    "build {} tags={:?} args={:?} target={:?} q={} token={:?} body={}",
                    o.dockerfile,
                    o.tags,
                    o.build_args,
                    o.target,
                    req.quiet,
                    req.context_token,
                    ctx.len()
                ),
                "",
            )?;
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let _ = tx.send(api_types::JsonMessage {
                stream: Some("Step 1/1 : FROM scratch\n".into()),
                ..Default::default()
            });
            let _ = tx.send(api_types::JsonMessage {
                aux: Some(serde_json::json!({"ID": "sha256:feed"})),
                ..Default::default()
            });
            Ok(rx)
        }
        async fn sync_context(
            &self,
            key: &str,
            manifest: ContextManifest,
        ) -> Result<ContextSyncResponse> {
            self.record(format!("sync {key} {}", manifest.entries.len()), "")?;
            Ok(ContextSyncResponse {
                token: "t1".into(),
                want: manifest.entries.iter().map(|e| e.path.clone()).collect(),
            })
        }
        async fn prune(&self, opts: PruneOptions) -> Result<BuildCachePruneResponse> {
            self.record(format!("prune all={}", opts.all), "")?;
            Ok(BuildCachePruneResponse::default())
        }
    }

    #[tokio::test]
    async fn build_routes_parse_the_classic_query_and_refuse_what_berth_cannot_do() {
        let fake = Arc::new(Fake::default());
        let app = || super::super::build::routes(fake.clone());
        let q = "/build?t=a:1&t=b&dockerfile=df&target=final&q=1&buildargs=%7B%22X%22%3A%221%22%7D";
        let (s, body) = send(app(), "POST", q, "ctx").await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(
            body.contains(r#""stream":"Step 1/1 : FROM scratch\n""#),
            "{body}"
        );
        assert!(body.contains(r#""aux":{"ID":"sha256:feed"}"#), "{body}");
        for (uri, says) in [
            ("/build?squash=1", "--squash is not supported"),
            ("/build?version=2", "BuildKit sessions"),
            ("/build?remote=https://example.com/x.git", "remote build contexts"),
            ("/build?buildargs=nope", "error reading buildargs"),
            ("/build?t=a@sha256:0000000000000000000000000000000000000000000000000000000000000000", "digest"),
            ("/build/prune?keep-storage=1000", "keep-storage is not supported"),
            ("/build/context?key=k", "JSON"),
        ] {
            let (s, body) = send(app(), "POST", uri, "not json").await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {body}");
            assert!(body.contains(says), "{uri}: {body}");
        }
        let (s, body) = send(
            app(),
            "POST",
            "/build/context?key=k",
            r#"{"entries":[{"path":"a","kind":"file","mode":420,"size":1}]}"#,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body, r#"{"token":"t1","want":["a"]}"#);
        let (s, _) = send(app(), "POST", "/build/prune?all=1", "").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            fake.calls(),
            [
                r#"build df tags=["a:1", "b"] args={"X": Some("1")} target=Some("final") q=true token=None body=3"#,
                "sync k 1",
                "prune all=true",
            ],
            "refused requests never reach the backend"
        );
    }
}
