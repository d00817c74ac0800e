//! `berthd`: the daemon. It serves the Docker Engine API on a unix socket, owns all state
//! under `--data-root`, and keeps running containers' shims under `--exec-root`. Everything is
//! wired here, statically: the engine's services, then the API server on top.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Parser;

mod daemon_config;
mod net_flags;

/// The berth container engine daemon.
#[derive(Parser, Debug)]
#[command(
    name = "berthd",
    version,
    about = "The berth container engine daemon: serves the Docker Engine API"
)]
struct Args {
    /// Socket to listen on, as dockerd takes it (unix:///path)
    #[arg(
        short = 'H',
        long = "host",
        default_value = "unix:///run/berth/berth.sock"
    )]
    host: String,
    /// Root directory of persistent state
    #[arg(long, default_value = "/var/lib/berth")]
    data_root: PathBuf,
    /// Root directory of runtime state (shims, network namespaces)
    #[arg(long, default_value = "/run/berth")]
    exec_root: PathBuf,
    /// Parent cgroup of every container's cgroup
    #[arg(long, default_value = "/berth")]
    cgroup_parent: String,
    /// Path of the berth-shim binary (default: next to berthd)
    #[arg(long)]
    shim_path: Option<PathBuf>,
    /// Path of the static init binary used by `run --init`
    #[arg(long)]
    init_path: Option<PathBuf>,
    /// Group that owns the API socket (mode 0660)
    #[arg(short = 'G', long)]
    group: Option<String>,
    /// Default maximum size of a container's json-file log before rotation (e.g. 20m)
    #[arg(long, default_value = "20m")]
    log_max_size: String,
    /// Default number of json-file log files kept per container
    #[arg(long, default_value_t = 5)]
    log_max_file: u32,
    /// Log level: debug, info, warn, error
    #[arg(short = 'l', long, default_value = "info")]
    log_level: String,
    /// Daemon configuration file (JSON, like dockerd's daemon.json)
    #[arg(long)]
    config_file: Option<PathBuf>,
    /// Registry that may be reached over plain HTTP or unverified TLS (repeatable)
    #[arg(long = "insecure-registry", value_name = "host[:port]|CIDR")]
    insecure_registries: Vec<String>,
    /// Registry mirror URL, tried before the origin of every pull (repeatable)
    #[arg(long = "registry-mirror", value_name = "URL")]
    registry_mirrors: Vec<String>,
    /// Directory of per-registry certificates (<dir>/<host:port>/ca.crt, client.cert, client.key)
    #[arg(long)]
    certs_dir: Option<PathBuf>,
    /// Maximum concurrent layer downloads per pull
    #[arg(long)]
    max_concurrent_downloads: Option<usize>,
    /// Maximum concurrent layer uploads per push
    #[arg(long)]
    max_concurrent_uploads: Option<usize>,
    /// Default OCI runtime for containers (berth, runc, crun, or one added) [default: berth]
    #[arg(long, value_name = "NAME")]
    default_runtime: Option<String>,
    /// Register an OCI runtime binary: NAME=PATH (repeatable)
    #[arg(long = "add-runtime", value_name = "NAME=PATH")]
    add_runtimes: Vec<String>,
    /// Default log driver for containers: json-file, local or none [default: json-file]
    #[arg(long, value_name = "DRIVER")]
    log_driver: Option<String>,
    /// Default log driver option KEY=VALUE (repeatable)
    #[arg(long = "log-opt", value_name = "KEY=VALUE")]
    log_opts: Vec<String>,
    /// Largest build context accepted (e.g. 16g); larger ones are refused with a 400
    #[arg(long, default_value = "16g")]
    build_context_limit: String,
    #[command(flatten)]
    net: net_flags::NetFlags,
}

/// The config file's keys, or nothing.
fn daemon_file(args: &Args) -> Result<daemon_config::DaemonFile> {
    match &args.config_file {
        Some(p) => daemon_config::DaemonFile::load(p),
        None => Ok(daemon_config::DaemonFile::default()),
    }
}

/// The runtimes of the config file and of `--add-runtime`, with the default (flags win).
fn runtimes(args: &Args, file: &daemon_config::DaemonFile) -> Result<engine::runtimes::Runtimes> {
    let mut declared = file.runtimes.clone();
    for r in &args.add_runtimes {
        let (name, path) = r
            .split_once('=')
            .with_context(|| format!("--add-runtime {r}: expected NAME=PATH"))?;
        declared.insert(
            name.to_string(),
            engine::runtimes::DeclaredRuntime {
                path: path.to_string(),
                ..Default::default()
            },
        );
    }
    let default = args
        .default_runtime
        .as_deref()
        .or(file.default_runtime.as_deref());
    engine::runtimes::Runtimes::new(&declared, default).map_err(anyhow::Error::new)
}

/// The default log driver and options (flags win over the config file), checked.
fn log_defaults(
    args: &Args,
    file: &daemon_config::DaemonFile,
) -> Result<engine::container::logdriver::LogDefaults> {
    let driver = args
        .log_driver
        .clone()
        .or_else(|| file.log_driver.clone())
        .unwrap_or_else(|| "json-file".into());
    let mut opts = file.log_opts.clone();
    for o in &args.log_opts {
        let (k, v) = o
            .split_once('=')
            .with_context(|| format!("--log-opt {o}: expected KEY=VALUE"))?;
        opts.insert(k.to_string(), v.to_string());
    }
    engine::container::logdriver::validate(&driver, &opts).map_err(anyhow::Error::new)?;
    Ok(engine::container::logdriver::LogDefaults { driver, opts })
}

/// Registry settings from the config file and the flags (flags win).
fn registry_options(
    args: &Args,
    file: &daemon_config::DaemonFile,
) -> Result<distribution::RegistryOptions> {
    let mut opts = distribution::RegistryOptions::default();
    file.apply(&mut opts, &args.insecure_registries, &args.registry_mirrors)?;
    if let Some(d) = &args.certs_dir {
        opts.certs_dir = d.clone();
    }
    if let Some(n) = args.max_concurrent_downloads {
        opts.max_concurrent_downloads = n;
    }
    if let Some(n) = args.max_concurrent_uploads {
        opts.max_concurrent_uploads = n;
    }
    opts.validate()?;
    Ok(opts)
}

fn socket_path(host: &str) -> Result<PathBuf> {
    match host.strip_prefix("unix://") {
        Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
        _ => bail!("unsupported host {host}: only unix:///path is supported"),
    }
}

fn default_sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(name)))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

fn default_init() -> Option<PathBuf> {
    [
        "/usr/bin/tini-static",
        "/usr/libexec/docker/docker-init",
        "/usr/bin/docker-init",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

fn bind_socket(path: &Path, group: Option<&str>) -> Result<tokio::net::UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if path.exists() {
        // A live daemon answers on it; refuse to steal its socket.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!("another daemon is listening on {}", path.display());
        }
        std::fs::remove_file(path).with_context(|| format!("removing stale {}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(path)
        .with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    if let Some(g) = group {
        let gid = group_id(g).with_context(|| format!("group {g}"))?;
        std::os::unix::fs::chown(path, Some(0), Some(gid))?;
    }
    Ok(listener)
}

fn group_id(name: &str) -> Result<u32> {
    if let Ok(n) = name.parse() {
        return Ok(n);
    }
    let groups = std::fs::read_to_string("/etc/group")?;
    groups
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            (f.next() == Some(name)).then(|| f.nth(1).and_then(|g| g.parse().ok()))?
        })
        .context("no such group")
}

fn daemon_id(data_root: &Path) -> Result<String> {
    let path = data_root.join("engine-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        return Ok(id.trim().to_string());
    }
    let bytes: [u8; 16] = rand::random();
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&path, &id)?;
    Ok(id)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&args.log_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let sock = socket_path(&args.host)?;
    let file = daemon_file(&args)?;
    let registry = registry_options(&args, &file).context("registry configuration")?;
    let network =
        net_flags::network_config(&args.net, &file.network).context("network configuration")?;
    let runtimes = runtimes(&args, &file).context("runtimes")?;
    let log = log_defaults(&args, &file).context("log driver")?;
    std::fs::create_dir_all(&args.data_root)
        .with_context(|| format!("creating {}", args.data_root.display()))?;
    let log_max_size = engine::container::config::parse_size(&args.log_max_size)
        .with_context(|| format!("invalid --log-max-size {}", args.log_max_size))?;
    let cfg = engine::EngineConfig {
        daemon_id: daemon_id(&args.data_root)?,
        data_root: args.data_root.clone(),
        exec_root: args.exec_root.clone(),
        shim_binary: args
            .shim_path
            .clone()
            .unwrap_or_else(|| default_sibling("berth-shim")),
        init_binary: args.init_path.clone().or_else(default_init),
        cgroup_parent: args.cgroup_parent.clone(),
        log_max_size,
        log_max_files: args.log_max_file.max(1),
        default_stop_timeout: 10,
        registry,
        build_context_limit: engine::container::config::parse_size(&args.build_context_limit)
            .with_context(|| {
                format!("invalid --build-context-limit {}", args.build_context_limit)
            })?,
        network,
        runtimes,
        log,
        build: engine::BuildInfo {
            git_commit: env!("BERTH_GIT_COMMIT").into(),
            build_time: env!("BERTH_BUILD_TIME").into(),
            rustc_version: env!("BERTH_RUSTC_VERSION").into(),
        },
    };
    let listener = bind_socket(&sock, args.group.as_deref())?;
    let engine = match engine::Engine::open(cfg).await {
        Ok(engine) => Arc::new(engine),
        Err(e) => {
            // The socket is ours (bind refuses a live daemon's): leave nothing behind.
            let _ = std::fs::remove_file(&sock);
            return Err(anyhow::Error::new(e).context("starting the engine"));
        }
    };
    tracing::info!(socket = %sock.display(), data_root = %args.data_root.display(), "API listening");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let containers = engine.containers().clone();
    let networks = engine.networks().clone();
    let mut server = tokio::spawn(api_server::serve(listener, engine, async {
        let _ = stop_rx.await;
    }));
    api_server::memory::trim_after_startup();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        done = &mut server => {
            let _ = std::fs::remove_file(&sock);
            return match done {
                Ok(res) => res.context("serving the API"),
                Err(e) => Err(anyhow::anyhow!("API server task: {e}")),
            };
        }
    }
    tracing::info!("shutting down; running containers keep running (live restore)");
    let _ = stop_tx.send(());
    // Streams that never end on their own (events, logs -f, attach) must not hold the exit.
    match tokio::time::timeout(std::time::Duration::from_secs(2), server).await {
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "API server"),
        Ok(_) => {}
        Err(_) => tracing::info!("closing the connections still open"),
    }
    let _ = std::fs::remove_file(&sock);
    // Finish deleting what removed containers left (a crash would leave it to the next start).
    if !containers
        .drain_cleanups(std::time::Duration::from_secs(10))
        .await
    {
        tracing::warn!("cleanups of removed containers still running at exit");
    }
    networks.shutdown().await;
    Ok(())
}
