//! One module per command, and the context every command runs with.

pub mod archive;
pub mod attach;
pub mod build;
pub mod build_context;
pub mod commit;
pub mod cp;
pub mod create;
pub mod exec;
pub mod images;
pub mod import;
pub mod info;
pub mod inspect;
pub mod lifecycle;
pub mod login;
pub mod logs;
pub mod network;
pub mod operate;
pub mod outfile;
pub mod ps;
pub mod pull;
pub mod push;
pub mod rm;
pub mod run;
pub mod search;
pub mod simple;
pub mod system;
pub mod usage;
pub mod volume;

use std::io::Write;

use client::Client;

use crate::args::{BuilderCommand, Command, ContainerCommand, ImageCommand, SystemCommand};
use crate::config::ConfigFile;
use crate::error::CliError;

/// What every command needs: the daemon client and the user's config file.
pub struct Ctx {
    pub client: Client,
    pub config: ConfigFile,
}

/// Runs one parsed command.
pub async fn dispatch(ctx: &Ctx, cmd: Command) -> Result<(), CliError> {
    use Command as C;
    match cmd {
        C::Run(a) => run::run(ctx, a).await,
        C::Create(a) => create::create(ctx, a).await,
        C::Start(a) => lifecycle::start(ctx, a).await,
        C::Stop(a) => lifecycle::stop(ctx, a, false).await,
        C::Restart(a) => lifecycle::stop(ctx, a, true).await,
        C::Kill(a) => lifecycle::kill(ctx, a).await,
        C::Rm(a) => rm::rm(ctx, a).await,
        C::Ps(a) => ps::ps(ctx, a).await,
        C::Logs(a) => logs::logs(ctx, a).await,
        C::Wait(a) => lifecycle::wait(ctx, a).await,
        C::Inspect(a) => inspect::inspect(ctx, a).await,
        C::Attach(a) => attach::attach(ctx, a).await,
        C::Exec(a) => exec::exec(ctx, a).await,
        C::Top(a) => simple::top(ctx, a).await,
        C::Rename(a) => simple::rename(ctx, a).await,
        C::Stats(a) => operate::stats(ctx, a).await,
        C::Pause(a) => operate::pause(ctx, a, false).await,
        C::Unpause(a) => operate::pause(ctx, a, true).await,
        C::Update(a) => operate::update(ctx, a).await,
        C::Import(a) => import::import(ctx, a).await,
        C::Images(a) => images::images(ctx, a, true).await,
        C::Tag(a) => images::tag(ctx, a).await,
        C::Rmi(a) => images::rmi(ctx, a).await,
        C::History(a) => images::history(ctx, a).await,
        C::Build(a) => build::build(ctx, *a).await,
        C::Commit(a) => commit::commit(ctx, a).await,
        C::Diff(a) => commit::diff(ctx, a).await,
        C::Export(a) => commit::export(ctx, a).await,
        C::Save(a) => archive::save(ctx, a).await,
        C::Load(a) => archive::load(ctx, a).await,
        C::Version(a) => system::version(ctx, a).await,
        C::Info(a) => system::info(ctx, a).await,
        C::Events(a) => system::events(ctx, a).await,
        C::Pull(a) => pull::pull(ctx, a).await,
        C::Push(a) => push::push(ctx, a).await,
        C::Search(a) => search::search(ctx, a).await,
        C::Login(a) => login::login(ctx, a).await,
        C::Logout(a) => login::logout(ctx, a).await,
        C::Port(a) => network::port(ctx, a).await,
        C::Network(c) => network::network(ctx, c).await,
        C::Container(c) => container(ctx, c).await,
        C::Image(c) => image(ctx, c).await,
        C::System(c) => match c {
            SystemCommand::Info(a) => system::info(ctx, a).await,
            SystemCommand::Events(a) => system::events(ctx, a).await,
            SystemCommand::Df(a) => usage::df(ctx, a).await,
            SystemCommand::Prune(a) => usage::system_prune(ctx, a).await,
        },
        C::Builder(c) => match c {
            BuilderCommand::Build(a) => build::build(ctx, *a).await,
            BuilderCommand::Prune(a) => usage::builder_prune(ctx, a).await,
        },
        C::Cp(a) => cp::cp(ctx, a).await,
        C::Volume(c) => volume::volume(ctx, c).await,
    }
}

async fn container(ctx: &Ctx, cmd: ContainerCommand) -> Result<(), CliError> {
    use ContainerCommand as C;
    match cmd {
        C::Run(a) => run::run(ctx, a).await,
        C::Create(a) => create::create(ctx, a).await,
        C::Start(a) => lifecycle::start(ctx, a).await,
        C::Stop(a) => lifecycle::stop(ctx, a, false).await,
        C::Restart(a) => lifecycle::stop(ctx, a, true).await,
        C::Kill(a) => lifecycle::kill(ctx, a).await,
        C::Rm(a) => rm::rm(ctx, a).await,
        C::Ls(a) => ps::ps(ctx, a).await,
        C::Logs(a) => logs::logs(ctx, a).await,
        C::Wait(a) => lifecycle::wait(ctx, a).await,
        C::Inspect(a) => inspect::inspect_typed(ctx, a, inspect::Kind::Container).await,
        C::Attach(a) => attach::attach(ctx, a).await,
        C::Exec(a) => exec::exec(ctx, a).await,
        C::Top(a) => simple::top(ctx, a).await,
        C::Rename(a) => simple::rename(ctx, a).await,
        C::Stats(a) => operate::stats(ctx, a).await,
        C::Pause(a) => operate::pause(ctx, a, false).await,
        C::Unpause(a) => operate::pause(ctx, a, true).await,
        C::Update(a) => operate::update(ctx, a).await,
        C::Prune(a) => rm::prune(ctx, a).await,
        C::Commit(a) => commit::commit(ctx, a).await,
        C::Diff(a) => commit::diff(ctx, a).await,
        C::Export(a) => commit::export(ctx, a).await,
        C::Cp(a) => cp::cp(ctx, a).await,
        C::Port(a) => network::port(ctx, a).await,
    }
}

async fn image(ctx: &Ctx, cmd: ImageCommand) -> Result<(), CliError> {
    use ImageCommand as C;
    match cmd {
        C::Import(a) => import::import(ctx, a).await,
        C::Ls(a) => images::images(ctx, a, false).await,
        C::Inspect(a) => inspect::inspect_typed(ctx, a, inspect::Kind::Image).await,
        C::Tag(a) => images::tag(ctx, a).await,
        C::Rm(a) => images::rmi(ctx, a).await,
        C::History(a) => images::history(ctx, a).await,
        C::Save(a) => archive::save(ctx, a).await,
        C::Load(a) => archive::load(ctx, a).await,
        C::Prune(a) => usage::image_prune(ctx, a).await,
        C::Pull(a) => pull::pull(ctx, a).await,
        C::Push(a) => push::push(ctx, a).await,
        C::Build(a) => build::build(ctx, *a).await,
    }
}

/// `key=value` list flags as a map (docker's `MapOpts`; a bare key maps to `""`).
pub fn kv_map(values: &[String]) -> std::collections::BTreeMap<String, String> {
    values
        .iter()
        .map(|v| match v.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (v.clone(), String::new()),
        })
        .collect()
}

/// Writes to stdout. A closed pipe (`berth ps | head -1`) ends the process quietly with
/// the status a SIGPIPE death gives, as the docker CLI's would.
pub fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
    }
}

/// Writes a line to stdout.
pub fn println(s: &str) {
    print(&format!("{s}\n"));
}

/// Writes a line to stderr.
pub fn eprintln(s: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{s}");
}

/// Joins several errors into one, one message per line (Go's `errors.Join`).
pub fn join_errors(errs: Vec<CliError>) -> Result<(), CliError> {
    if errs.is_empty() {
        return Ok(());
    }
    let msg = errs
        .iter()
        .map(|e| e.message.as_str())
        .filter(|m| !m.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    Err(CliError::new(msg))
}

/// The current time as a unix timestamp with fractions.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
