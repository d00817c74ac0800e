//! What each router needs of the daemon, as narrow traits (moby's router backends): the
//! container routes see a [`ContainerBackend`], the exec routes an [`ExecBackend`], the system
//! routes a [`SystemBackend`], the image routes (import, list, inspect, history, tag, delete,
//! save, load, pull, push, search, login) an [`ImageBackend`], the build routes (build,
//! context sync, build cache prune) a [`BuildBackend`], the volume routes a
//! [`VolumeBackend`], the network routes a [`NetworkBackend`]. `berthd` hands them the real
//! [`Engine`], which implements them all; a router's unit tests hand it a fake. Commit, diff
//! and export are container operations; `system df` and the prune endpoints span services and
//! take the engine.

use std::future::Future;

use api_types::build::{ContextManifest, ContextSyncResponse};
use api_types::network::{
    EndpointSettings, Network, NetworkCreateRequest, NetworkCreateResponse, NetworkPruneResponse,
};
use api_types::BuildCachePruneResponse;
use api_types::{
    AuthResponse, HistoryResponseItem, ImageDeleteResponseItem, ImageInspect,
    ImageSearchResponseItem, ImageSummary, JsonMessage,
};
use api_types::{
    ContainerCreateRequest, ContainerCreateResponse, ContainerInspect, ContainerPathStat,
    ContainerPruneResponse, ContainerSummary, ContainerTopResponse, ExecConfig, ExecInspect,
    Filters, SystemInfo, SystemVersion, UpdateConfig, UpdateResponse,
};
use api_types::{Volume, VolumeCreateOptions, VolumeListResponse, VolumePruneResponse};
use distribution::AuthConfig;
use engine::builder::{BuildRequest, PruneOptions};
use engine::container::{
    AttachOptions, AttachSession, ExecStart, ExecStartOptions, ExportStream, ExtractOptions,
    ListOptions, LogStream, LogsOptions, RemoveOptions, StatsOptions, StatsStream, StopOptions,
    WaitCondition, WaitFuture,
};
use engine::image::progress::Receiver;
use engine::image::{
    ChannelStream, ImportOptions, ListImagesOptions, PullOptions, PushOptions, SaveStream,
    SearchOptions,
};
use engine::{Engine, Result};
use tokio::io::AsyncRead;

pub use engine::system::EventStream;

/// The container routes' view of the daemon.
pub trait ContainerBackend: Send + Sync + 'static {
    /// `POST /containers/create`.
    fn create(
        &self,
        name: Option<&str>,
        req: ContainerCreateRequest,
    ) -> impl Future<Output = Result<ContainerCreateResponse>> + Send;
    /// `POST /containers/{id}/start`.
    fn start(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    /// `POST /containers/{id}/stop`.
    fn stop(&self, id: &str, opts: StopOptions) -> impl Future<Output = Result<()>> + Send;
    /// `POST /containers/{id}/restart`.
    fn restart(&self, id: &str, opts: StopOptions) -> impl Future<Output = Result<()>> + Send;
    /// `POST /containers/{id}/kill`.
    fn kill(&self, id: &str, signal: Option<&str>) -> impl Future<Output = Result<()>> + Send;
    /// `POST /containers/{id}/wait`: registers the waiter, which resolves later.
    fn wait(
        &self,
        id: &str,
        cond: WaitCondition,
    ) -> impl Future<Output = Result<WaitFuture>> + Send;
    /// `DELETE /containers/{id}`.
    fn remove(&self, id: &str, opts: RemoveOptions) -> impl Future<Output = Result<()>> + Send;
    /// `GET /containers/json`.
    fn list(&self, opts: ListOptions)
        -> impl Future<Output = Result<Vec<ContainerSummary>>> + Send;
    /// `GET /containers/{id}/json`.
    fn inspect(
        &self,
        id: &str,
        size: bool,
    ) -> impl Future<Output = Result<ContainerInspect>> + Send;
    /// `GET /containers/{id}/logs`.
    fn logs(&self, id: &str, opts: LogsOptions) -> impl Future<Output = Result<LogStream>> + Send;
    /// `POST /containers/{id}/attach`.
    fn attach(
        &self,
        id: &str,
        opts: AttachOptions,
    ) -> impl Future<Output = Result<AttachSession>> + Send;
    /// `POST /containers/{id}/resize`.
    fn resize(&self, id: &str, h: u16, w: u16) -> impl Future<Output = Result<()>> + Send;
    /// `POST /containers/{id}/rename`.
    fn rename(&self, id: &str, name: &str) -> impl Future<Output = Result<()>> + Send;
    /// `GET /containers/{id}/top`.
    fn top(
        &self,
        id: &str,
        ps_args: &str,
    ) -> impl Future<Output = Result<ContainerTopResponse>> + Send;
    /// `POST /containers/prune`.
    fn prune(
        &self,
        filters: Filters,
    ) -> impl Future<Output = Result<ContainerPruneResponse>> + Send;
    /// `GET /containers/{id}/stats`.
    fn stats(
        &self,
        id: &str,
        opts: StatsOptions,
    ) -> impl Future<Output = Result<StatsStream>> + Send;
    /// `POST /containers/{id}/pause`.
    fn pause(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    /// `POST /containers/{id}/unpause`.
    fn unpause(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    /// `POST /containers/{id}/update`.
    fn update(
        &self,
        id: &str,
        cfg: UpdateConfig,
    ) -> impl Future<Output = Result<UpdateResponse>> + Send;
    /// `HEAD /containers/{id}/archive?path=`: the stat of a path in the container.
    fn stat_path(
        &self,
        id: &str,
        path: &str,
    ) -> impl Future<Output = Result<ContainerPathStat>> + Send;
    /// `GET /containers/{id}/archive?path=`: the stat and a tar of the path.
    fn archive_path(
        &self,
        id: &str,
        path: &str,
    ) -> impl Future<Output = Result<(ContainerPathStat, ExportStream)>> + Send;
    /// `PUT /containers/{id}/archive?path=`: extracts the tar `body` into the directory `path`.
    fn extract_to_dir<R: AsyncRead + Send + Unpin + 'static>(
        &self,
        id: &str,
        path: &str,
        opts: ExtractOptions,
        body: R,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The volume routes' view of the daemon.
pub trait VolumeBackend: Send + Sync + 'static {
    /// `GET /volumes`.
    fn volume_list(&self, filters: &Filters) -> Result<VolumeListResponse>;
    /// `POST /volumes/create`.
    fn volume_create(
        &self,
        opts: VolumeCreateOptions,
    ) -> impl Future<Output = Result<Volume>> + Send;
    /// `GET /volumes/{name}`.
    fn volume_inspect(&self, name: &str) -> Result<Volume>;
    /// `DELETE /volumes/{name}`.
    fn volume_remove(&self, name: &str, force: bool) -> impl Future<Output = Result<()>> + Send;
    /// `POST /volumes/prune`; `all_by_default`: named volumes too unless the filters say
    /// otherwise (API < 1.42).
    fn volume_prune(
        &self,
        filters: Filters,
        all_by_default: bool,
    ) -> impl Future<Output = Result<VolumePruneResponse>> + Send;
}

impl VolumeBackend for Engine {
    fn volume_list(&self, filters: &Filters) -> Result<VolumeListResponse> {
        Ok(self.volumes().list(filters)?)
    }

    async fn volume_create(&self, opts: VolumeCreateOptions) -> Result<Volume> {
        Ok(self.volumes().create(opts).await?)
    }

    fn volume_inspect(&self, name: &str) -> Result<Volume> {
        Ok(self.volumes().inspect(name)?)
    }

    async fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        Ok(self.volumes().remove(name, force).await?)
    }

    async fn volume_prune(
        &self,
        filters: Filters,
        all_by_default: bool,
    ) -> Result<VolumePruneResponse> {
        Ok(self.volumes().prune(filters, all_by_default).await?)
    }
}

/// The exec routes' view of the daemon.
pub trait ExecBackend: Send + Sync + 'static {
    /// `POST /containers/{id}/exec`: the new exec's id.
    fn exec_create(&self, id: &str, cfg: ExecConfig)
        -> impl Future<Output = Result<String>> + Send;
    /// `POST /exec/{id}/start`.
    fn exec_start(
        &self,
        id: &str,
        opts: ExecStartOptions,
    ) -> impl Future<Output = Result<ExecStart>> + Send;
    /// `POST /exec/{id}/resize`.
    fn exec_resize(&self, id: &str, h: u16, w: u16) -> impl Future<Output = Result<()>> + Send;
    /// `GET /exec/{id}/json`.
    fn exec_inspect(&self, id: &str) -> Result<ExecInspect>;
}

/// The system routes' view of the daemon.
pub trait SystemBackend: Send + Sync + 'static {
    /// `GET /version`.
    fn version(&self) -> SystemVersion;
    /// `GET /info`.
    fn info(&self) -> impl Future<Output = Result<SystemInfo>> + Send;
    /// `GET /events`.
    fn events(
        &self,
        since: Option<&str>,
        until: Option<&str>,
        filters: Filters,
    ) -> Result<EventStream>;
}

/// The image routes' view of the daemon.
pub trait ImageBackend: Send + Sync + 'static {
    /// `POST /images/create?fromSrc=-`: the body is a root filesystem tarball.
    fn import<R: AsyncRead + Send + Unpin + 'static>(
        &self,
        body: R,
        opts: ImportOptions,
    ) -> impl Future<Output = Result<String>> + Send;
    /// `POST /images/create?fromSrc=<URL>`: the tarball at that URL.
    fn import_url(
        &self,
        url: &str,
        opts: ImportOptions,
    ) -> impl Future<Output = Result<String>> + Send;
    /// `GET /images/json`.
    fn list(
        &self,
        opts: ListImagesOptions,
    ) -> impl Future<Output = Result<Vec<ImageSummary>>> + Send;
    /// `GET /images/{name}/json`.
    fn inspect(&self, name: &str) -> impl Future<Output = Result<ImageInspect>> + Send;
    /// `GET /images/{name}/history`.
    fn history(&self, name: &str) -> impl Future<Output = Result<Vec<HistoryResponseItem>>> + Send;
    /// `POST /images/{name}/tag`.
    fn tag(
        &self,
        name: &str,
        repo: &str,
        tag: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// `DELETE /images/{name}`.
    fn delete(
        &self,
        name: &str,
        force: bool,
        noprune: bool,
    ) -> impl Future<Output = Result<Vec<ImageDeleteResponseItem>>> + Send;
    /// `GET /images/get`, `GET /images/{name}/get`.
    fn save(&self, names: Vec<String>) -> impl Future<Output = Result<SaveStream>> + Send;
    /// `POST /images/load`: progress messages, a failure as the last one.
    fn load<R: AsyncRead + Send + Unpin + 'static>(
        &self,
        body: R,
        quiet: bool,
    ) -> ChannelStream<JsonMessage>;
    /// `POST /images/create?fromImage=`: progress events.
    fn pull(&self, opts: PullOptions) -> Receiver;
    /// `POST /images/{name}/push`: progress events.
    fn push(&self, opts: PushOptions) -> Receiver;
    /// `GET /images/search`.
    fn search(
        &self,
        opts: SearchOptions,
    ) -> impl Future<Output = Result<Vec<ImageSearchResponseItem>>> + Send;
    /// `POST /auth`.
    fn login(&self, auth: AuthConfig) -> impl Future<Output = Result<AuthResponse>> + Send;
}

impl ImageBackend for Engine {
    async fn import<R: AsyncRead + Send + Unpin + 'static>(
        &self,
        body: R,
        opts: ImportOptions,
    ) -> Result<String> {
        self.images().import(body, opts).await
    }

    async fn import_url(&self, url: &str, opts: ImportOptions) -> Result<String> {
        self.images().import_url(url, opts).await
    }

    async fn list(&self, opts: ListImagesOptions) -> Result<Vec<ImageSummary>> {
        self.images().list(opts).await
    }

    async fn inspect(&self, name: &str) -> Result<ImageInspect> {
        self.images().inspect(name).await
    }

    async fn history(&self, name: &str) -> Result<Vec<HistoryResponseItem>> {
        self.images().history(name).await
    }

    async fn tag(&self, name: &str, repo: &str, tag: Option<&str>) -> Result<()> {
        self.images().tag(name, repo, tag).await
    }

    async fn delete(
        &self,
        name: &str,
        force: bool,
        noprune: bool,
    ) -> Result<Vec<ImageDeleteResponseItem>> {
        self.images().delete(name, force, noprune).await
    }

    async fn save(&self, names: Vec<String>) -> Result<SaveStream> {
        self.images().save(names).await
    }

    fn load<R: AsyncRead + Send + Unpin + 'static>(
        &self,
        body: R,
        quiet: bool,
    ) -> ChannelStream<JsonMessage> {
        self.images().load(body, quiet)
    }

    fn pull(&self, opts: PullOptions) -> Receiver {
        self.images().pull(opts)
    }

    fn push(&self, opts: PushOptions) -> Receiver {
        self.images().push(opts)
    }

    async fn search(&self, opts: SearchOptions) -> Result<Vec<ImageSearchResponseItem>> {
        self.images().search(opts).await
    }

    async fn login(&self, auth: AuthConfig) -> Result<AuthResponse> {
        self.images().login(auth).await
    }
}

impl ContainerBackend for Engine {
    async fn create(
        &self,
        name: Option<&str>,
        req: ContainerCreateRequest,
    ) -> Result<ContainerCreateResponse> {
        self.containers().create(name, req).await
    }

    async fn start(&self, id: &str) -> Result<()> {
        self.containers().start(id).await
    }

    async fn stop(&self, id: &str, opts: StopOptions) -> Result<()> {
        self.containers().stop(id, opts).await
    }

    async fn restart(&self, id: &str, opts: StopOptions) -> Result<()> {
        self.containers().restart(id, opts).await
    }

    async fn kill(&self, id: &str, signal: Option<&str>) -> Result<()> {
        self.containers().kill(id, signal).await
    }

    async fn wait(&self, id: &str, cond: WaitCondition) -> Result<WaitFuture> {
        self.containers().wait(id, cond).await
    }

    async fn remove(&self, id: &str, opts: RemoveOptions) -> Result<()> {
        self.containers().remove(id, opts).await
    }

    async fn list(&self, opts: ListOptions) -> Result<Vec<ContainerSummary>> {
        self.containers().list(opts).await
    }

    async fn inspect(&self, id: &str, size: bool) -> Result<ContainerInspect> {
        self.containers().inspect(id, size).await
    }

    async fn logs(&self, id: &str, opts: LogsOptions) -> Result<LogStream> {
        self.containers().logs(id, opts).await
    }

    async fn attach(&self, id: &str, opts: AttachOptions) -> Result<AttachSession> {
        self.containers().attach(id, opts).await
    }

    async fn resize(&self, id: &str, h: u16, w: u16) -> Result<()> {
        self.containers().resize(id, h, w).await
    }

    async fn rename(&self, id: &str, name: &str) -> Result<()> {
        self.containers().rename(id, name).await
    }

    async fn top(&self, id: &str, ps_args: &str) -> Result<ContainerTopResponse> {
        self.containers().top(id, ps_args).await
    }

    async fn prune(&self, filters: Filters) -> Result<ContainerPruneResponse> {
        self.containers().prune(filters).await
    }

    async fn stats(&self, id: &str, opts: StatsOptions) -> Result<StatsStream> {
        self.containers().stats(id, opts).await
    }

    async fn pause(&self, id: &str) -> Result<()> {
        self.containers().pause(id).await
    }

    async fn unpause(&self, id: &str) -> Result<()> {
        self.containers().unpause(id).await
    }

    async fn update(&self, id: &str, cfg: UpdateConfig) -> Result<UpdateResponse> {
        self.containers().update(id, cfg).await
    }

    async fn stat_path(&self, id: &str, path: &str) -> Result<ContainerPathStat> {
        self.containers().stat_path(id, path).await
    }

    async fn archive_path(
        &self,
        id: &str,
        path: &str,
    ) -> Result<(ContainerPathStat, ExportStream)> {
        self.containers().archive_path(id, path).await
    }

    async fn extract_to_dir<R: AsyncRead + Send + Unpin + 'static>(
        &self,
        id: &str,
        path: &str,
        opts: ExtractOptions,
        body: R,
    ) -> Result<()> {
        self.containers().extract_to_dir(id, path, opts, body).await
    }
}

impl ExecBackend for Engine {
    async fn exec_create(&self, id: &str, cfg: ExecConfig) -> Result<String> {
        self.containers().exec_create(id, cfg).await
    }

    async fn exec_start(&self, id: &str, opts: ExecStartOptions) -> Result<ExecStart> {
        self.containers().exec_start(id, opts).await
    }

    async fn exec_resize(&self, id: &str, h: u16, w: u16) -> Result<()> {
        self.containers().exec_resize(id, h, w).await
    }

    fn exec_inspect(&self, id: &str) -> Result<ExecInspect> {
        self.containers().exec_inspect(id)
    }
}

impl SystemBackend for Engine {
    fn version(&self) -> SystemVersion {
        self.system().version()
    }

    async fn info(&self) -> Result<SystemInfo> {
        self.system().info().await
    }

    fn events(
        &self,
        since: Option<&str>,
        until: Option<&str>,
        filters: Filters,
    ) -> Result<EventStream> {
        self.system().events(since, until, filters)
    }
}

/// The build routes' view of the daemon.
pub trait BuildBackend: Send + Sync + 'static {
    /// `POST /build`: the build's messages, once the context and the Dockerfile are read.
    fn build<R: AsyncRead + Send + Unpin + 'static>(
        &self,
        req: BuildRequest,
        body: R,
    ) -> impl Future<Output = Result<engine::builder::Receiver>> + Send;
    /// `POST /build/context` (berth's context sync): the files the build must send.
    fn sync_context(
        &self,
        key: &str,
        manifest: ContextManifest,
    ) -> impl Future<Output = Result<ContextSyncResponse>> + Send;
    /// `POST /build/prune`.
    fn prune(
        &self,
        opts: PruneOptions,
    ) -> impl Future<Output = Result<BuildCachePruneResponse>> + Send;
}

impl BuildBackend for Engine {
    async fn build<R: AsyncRead + Send + Unpin + 'static>(
        &self,
        req: BuildRequest,
        body: R,
    ) -> Result<engine::builder::Receiver> {
        self.builds().build(req, body).await
    }

    async fn sync_context(
        &self,
        key: &str,
        manifest: ContextManifest,
    ) -> Result<ContextSyncResponse> {
        self.builds().sync_context(key, manifest).await
    }

    async fn prune(&self, opts: PruneOptions) -> Result<BuildCachePruneResponse> {
        self.builds().prune(opts).await
    }
}

/// The network routes' view of the daemon.
pub trait NetworkBackend: Send + Sync + 'static {
    /// `POST /networks/create`.
    fn network_create(
        &self,
        req: NetworkCreateRequest,
    ) -> impl Future<Output = Result<NetworkCreateResponse>> + Send;
    /// `GET /networks`.
    fn network_list(&self, filters: &Filters) -> Result<Vec<Network>>;
    /// `GET /networks/{id}`.
    fn network_inspect(&self, id: &str) -> Result<Network>;
    /// `DELETE /networks/{id}`.
    fn network_remove(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    /// `POST /networks/{id}/connect`.
    fn network_connect(
        &self,
        network: &str,
        container: &str,
        settings: Option<EndpointSettings>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// `POST /networks/{id}/disconnect`.
    fn network_disconnect(
        &self,
        network: &str,
        container: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// `POST /networks/prune`.
    fn network_prune(
        &self,
        filters: &Filters,
    ) -> impl Future<Output = Result<NetworkPruneResponse>> + Send;
}

impl NetworkBackend for Engine {
    async fn network_create(&self, req: NetworkCreateRequest) -> Result<NetworkCreateResponse> {
        Ok(self.networks().create(req).await?)
    }

    fn network_list(&self, filters: &Filters) -> Result<Vec<Network>> {
        Ok(self.networks().list(filters)?)
    }

    fn network_inspect(&self, id: &str) -> Result<Network> {
        Ok(self.networks().inspect(id)?)
    }

    async fn network_remove(&self, id: &str) -> Result<()> {
        Ok(self.networks().remove(id).await?)
    }

    async fn network_connect(
        &self,
        network: &str,
        container: &str,
        settings: Option<EndpointSettings>,
    ) -> Result<()> {
        self.containers()
            .connect_network(container, network, settings)
            .await
    }

    async fn network_disconnect(&self, network: &str, container: &str) -> Result<()> {
        self.containers()
            .disconnect_network(container, network)
            .await
    }

    async fn network_prune(&self, filters: &Filters) -> Result<NetworkPruneResponse> {
        Ok(self.networks().prune(filters).await?)
    }
}
