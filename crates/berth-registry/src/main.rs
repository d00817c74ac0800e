//! `berth-registry`: an OCI distribution registry with auth, search and a web UI.
//!
//! ```text
//! berth-registry serve --config FILE
//! berth-registry serve --addr 127.0.0.1:5000 --root DIR     anonymous, no config file
//! berth-registry gc   (--config FILE | --root DIR) [--dry-run] [--delete-untagged]
//! berth-registry fsck (--config FILE | --root DIR) [--quick] [--repair]
//! ```
//!
//! `serve` prints `listening on http(s)://ADDR` on stdout once it accepts connections (with
//! `--addr 127.0.0.1:0` that tells the chosen port) and stops gracefully on SIGINT/SIGTERM.
//! `gc` and `fsck --repair` work on the store directly and refuse to run while a server holds
//! the root (`<root>/.lock`); a plain `fsck` and `gc --dry-run` only read and may run beside it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use registry::storage::fs::{FsDriver, RootLock};
use registry::store::Store;
use registry::Config;

#[derive(Parser)]
#[command(
    name = "berth-registry",
    version,
    about = "OCI distribution registry with auth, search and a web UI"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the registry.
    Serve(ServeArgs),
    /// Delete blobs no repository needs (refused while a server holds the root).
    Gc(GcArgs),
    /// Check the store's consistency; exits 1 if it is not consistent.
    Fsck(FsckArgs),
}

#[derive(Args)]
struct Source {
    /// Config file (TOML).
    #[arg(long, conflicts_with = "root")]
    config: Option<PathBuf>,
    /// Storage root, for a registry without a config file.
    #[arg(long)]
    root: Option<PathBuf>,
}

impl Source {
    /// The config file's settings, or an anonymous registry on `addr` over `--root`.
    fn config(&self, addr: Option<SocketAddr>) -> Result<Config> {
        match (&self.config, &self.root) {
            (Some(_), _) if addr.is_some() => {
                bail!("--addr goes with --root; set server.addr in the config file")
            }
            (Some(path), _) => Ok(Config::load(path)?),
            (None, Some(root)) => {
                let addr = addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5000)));
                Ok(Config::anonymous(addr, root))
            }
            (None, None) => bail!("give --config FILE, or --root DIR (and --addr for serve)"),
        }
    }
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    source: Source,
    /// Listen address, with --root (default 127.0.0.1:5000).
    #[arg(long)]
    addr: Option<SocketAddr>,
}

#[derive(Args)]
struct GcArgs {
    #[command(flatten)]
    source: Source,
    /// Report what would be deleted, delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also delete manifests no tag reaches.
    #[arg(long)]
    delete_untagged: bool,
    /// Keep layers no manifest names yet if linked within this many seconds.
    #[arg(long, default_value_t = 3600)]
    layer_grace_secs: u64,
}

#[derive(Args)]
struct FsckArgs {
    #[command(flatten)]
    source: Source,
    /// Do not re-hash blob contents.
    #[arg(long)]
    quick: bool,
    /// Remove scratch files left by interrupted writes.
    #[arg(long)]
    repair: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth-registry: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("berth-registry: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.cmd {
        Cmd::Serve(a) => serve(a).await,
        Cmd::Gc(a) => gc(a).await,
        Cmd::Fsck(a) => fsck(a).await,
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    tracing::info!("shutting down");
}

async fn serve(a: ServeArgs) -> Result<ExitCode> {
    let config = a.source.config(a.addr)?;
    let reg = registry::Registry::open(&config)
        .await
        .context("cannot start the registry")?;
    let listener = tokio::net::TcpListener::bind(config.server.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.addr))?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!("listening on {scheme}://{}", listener.local_addr()?);
    tracing::info!(
        addr = %listener.local_addr()?,
        root = %config.storage.filesystem.root.display(),
        "berth-registry serving"
    );
    reg.serve(listener, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Opens the store; with `exclusive`, also takes the root's lock, which a running server holds.
fn open_store(config: &Config, exclusive: bool) -> Result<(Store, Option<RootLock>)> {
    let root = &config.storage.filesystem.root;
    if !root.is_dir() {
        bail!("storage root {} does not exist", root.display());
    }
    let driver = FsDriver::new(root).with_context(|| format!("cannot open {}", root.display()))?;
    let lock = if exclusive {
        Some(RootLock::acquire(root)?)
    } else {
        None
    };
    Ok((Store::new(Arc::new(driver)), lock))
}

async fn gc(a: GcArgs) -> Result<ExitCode> {
    let config = a.source.config(None)?;
    // A dry run changes nothing, so it may look at a store in use.
    let (store, _lock) = open_store(&config, !a.dry_run)?;
    let opts = registry::gc::GcOptions {
        dry_run: a.dry_run,
        delete_untagged: a.delete_untagged,
        layer_grace: Duration::from_secs(a.layer_grace_secs),
        upload_expiry: Duration::from_secs(config.limits.upload_expiry_secs),
    };
    let r = registry::gc::collect(&store, &opts).await?;
    let verb = if a.dry_run { "would delete" } else { "deleted" };
    for (repo, d) in &r.manifests {
        println!("{verb} manifest {repo}@{d}");
    }
    for (repo, d) in &r.layer_links {
        println!("{verb} layer link {repo} -> {d}");
    }
    for (repo, id) in &r.uploads {
        println!("{verb} upload {repo}/{id}");
    }
    for p in &r.scratch {
        println!("{verb} scratch file {p}");
    }
    for d in &r.blobs {
        println!("{verb} blob {d}");
    }
    println!(
        "{verb} {} blobs ({} bytes), {} manifests, {} layer links, {} uploads; kept {} blobs",
        r.blobs.len(),
        r.bytes,
        r.manifests.len(),
        r.layer_links.len(),
        r.uploads.len(),
        r.kept
    );
    Ok(ExitCode::SUCCESS)
}

async fn fsck(a: FsckArgs) -> Result<ExitCode> {
    let config = a.source.config(None)?;
    // Checking only reads; repairing removes files, so it needs the store to itself.
    let (store, _lock) = open_store(&config, a.repair)?;
    let r = registry::fsck::check(&store, !a.quick, a.repair).await?;
    for p in &r.problems {
        println!("problem: {p}");
    }
    for w in &r.warnings {
        println!("warning: {w}");
    }
    for g in &r.garbage {
        println!("garbage: {g}");
    }
    let verdict = if r.consistent() {
        "consistent"
    } else {
        "INCONSISTENT"
    };
    println!(
        "{verdict}: {} blobs, {} repositories, {} problems, {} warnings, {} garbage",
        r.blobs,
        r.repositories,
        r.problems.len(),
        r.warnings.len(),
        r.garbage.len()
    );
    Ok(if r.consistent() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
