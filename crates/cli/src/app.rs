//! The program: parse arguments (reporting mistakes as docker does), build the client, run
//! the command on a single-threaded runtime, and turn the outcome into an exit status.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};

use crate::args::Cli;
use crate::commands::{dispatch, Ctx};
use crate::config::ConfigFile;
use crate::error::{CliError, BIN};

/// Runs `berth` with the process arguments; returns the exit status.
pub fn main() -> i32 {
    let argv: Vec<String> = std::env::args().collect();
    match run(argv) {
        Ok(()) => 0,
        Err(e) => {
            if !e.message.is_empty() {
                crate::commands::eprintln(&e.message);
            }
            e.code
        }
    }
}

/// Runs `berth` with `argv`.
pub fn run(argv: Vec<String>) -> Result<(), CliError> {
    let cli = match Cli::try_parse_from(&argv) {
        Ok(c) => c,
        Err(e) => return clap_error(e, &argv),
    };
    if cli.version {
        crate::commands::println(&format!(
            "{BIN} version {}, build {}",
            env!("CARGO_PKG_VERSION"),
            option_env!("BERTH_GIT_COMMIT").unwrap_or("unknown")
        ));
        return Ok(());
    }
    let Some(command) = cli.command else {
        let _ = Cli::command().print_help();
        return Ok(());
    };
    if let Some(c) = cli.context.as_deref().filter(|c| *c != "default") {
        return Err(CliError::new(format!("context {c:?} does not exist")));
    }
    let client = client::Client::from_env(cli.host.as_deref())?;
    let ctx = Ctx {
        client,
        config: ConfigFile::load(cli.config.as_deref()),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(dispatch(&ctx, command))
}

/// The command path the user typed (`berth container ls`), for messages.
fn command_path(argv: &[String]) -> String {
    let mut path = vec![BIN.to_string()];
    let mut cmd = Cli::command();
    let mut skip_value = false;
    for a in argv.iter().skip(1) {
        if skip_value {
            skip_value = false;
            continue;
        }
        if a.starts_with('-') {
            // Global flags with a separate value.
            skip_value = matches!(
                a.as_str(),
                "-H" | "--host" | "-l" | "--log-level" | "--config" | "-c" | "--context"
            );
            continue;
        }
        let found = cmd
            .get_subcommands()
            .find(|s| s.get_name() == a || s.get_all_aliases().any(|al| al == a))
            .cloned();
        match found {
            Some(sub) => {
                path.push(a.clone());
                cmd = sub;
            }
            None => break,
        }
    }
    path.join(" ")
}

/// pflag's name for a flag: `-m, --memory` when it has a short form, else `--rm`.
fn flag_display(argv: &[String], clap_arg: &str) -> String {
    let long = clap_arg
        .split(['[', ' ', '<', '='])
        .next()
        .unwrap_or(clap_arg)
        .trim_start_matches('-')
        .to_string();
    let mut cmd = Cli::command();
    for part in command_path(argv).split(' ').skip(1) {
        match cmd.find_subcommand(part).cloned() {
            Some(sub) => cmd = sub,
            None => break,
        }
    }
    // Subcommands get their arguments when built (they are deferred, see `args`).
    cmd.build();
    let short = cmd
        .get_arguments()
        .find(|a| a.get_long() == Some(long.as_str()))
        .and_then(|a| a.get_short());
    match short {
        Some(c) => format!("-{c}, --{long}"),
        None => format!("--{long}"),
    }
}

/// How many positional arguments a command takes (cobra's `Args` validators).
enum ArgRule {
    None,
    Exact(usize),
    Min(usize),
    Max(usize),
    Range(usize, usize),
}

fn arg_rule(path: &str) -> ArgRule {
    match path.rsplit(' ').next().unwrap_or("") {
        "logs" | "attach" | "history" | "diff" | "export" => ArgRule::Exact(1),
        "commit" => ArgRule::Range(1, 2),
        "load" | "df" => ArgRule::None,
        "rename" | "tag" => ArgRule::Exact(2),
        "exec" => ArgRule::Min(2),
        "ps" | "ls" | "list" | "version" | "info" | "events" | "prune" => ArgRule::None,
        "images" => ArgRule::Max(1),
        _ if path == format!("{BIN} image ls") => ArgRule::Max(1),
        _ => ArgRule::Min(1),
    }
}

/// The wrong-number-of-arguments message of cobra's validators (typos included).
fn args_error(path: &str, usage: &str) -> CliError {
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    let msg = match arg_rule(path) {
        ArgRule::None => format!("{BIN}: '{path}' accepts no arguments\n\nUsage:  {usage}\n\nRun '{path} --help' for more information"),
        ArgRule::Exact(n) => format!("{BIN}: '{path}' requires {n} {}\n\nUsage:  {usage}\n\nRun '{path} --help' for more information", plural(n)),
        ArgRule::Min(n) => format!("{BIN}: '{path}' requires at least {n} {}\n\nUsage:  {usage}\n\nSee '{path} --help' for more information", plural(n)),
        ArgRule::Range(a, b) => format!("{BIN}: '{path}' requires at least {a} and at most {b} {}\n\nUsage:  {usage}\n\nRun '{path} --help' for more information", plural(b)),
        ArgRule::Max(n) => format!("{BIN}: '{path}' requires at most {n} {}\n\nUsage:  {usage}\n\nSRun '{path} --help' for more information", plural(n)),
    };
    CliError::new(msg)
}

/// docker's usage line for the command at `path`.
fn usage_of(path: &str) -> String {
    let mut cmd = Cli::command();
    for part in path.split(' ').skip(1) {
        match cmd.find_subcommand(part).cloned() {
            Some(sub) => cmd = sub,
            None => break,
        }
    }
    cmd.render_usage()
        .to_string()
        .trim_start_matches("Usage:")
        .trim()
        .to_string()
}

/// How the user wrote the flag a value is missing for: pflag names shorthands differently.
fn needs_argument(argv: &[String], flag: &str) -> String {
    let long = flag
        .split(['[', ' ', '<', '='])
        .next()
        .unwrap_or(flag)
        .to_string();
    match argv
        .iter()
        .rev()
        .find(|a| a.starts_with('-') && !a.starts_with("--"))
    {
        Some(short) if !argv.iter().any(|a| a == &long) => {
            let c = short.chars().last().unwrap_or('?');
            format!("flag needs an argument: '{c}' in -{c}")
        }
        _ => format!("flag needs an argument: {long}"),
    }
}

fn clap_error(e: clap::Error, argv: &[String]) -> Result<(), CliError> {
    let path = command_path(argv);
    let usage = usage_of(&path);
    let ctx = |k: ContextKind| match e.get(k) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let (arg, value) = (ctx(ContextKind::InvalidArg), ctx(ContextKind::InvalidValue));
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            Ok(())
        }
        ErrorKind::UnknownArgument if !arg.starts_with('-') => Err(args_error(&path, &usage)),
        ErrorKind::UnknownArgument => {
            let flag = arg.split('=').next().unwrap_or(&arg).to_string();
            let msg = if flag.starts_with("--") {
                format!("unknown flag: {flag}")
            } else {
                let c = flag.trim_start_matches('-').chars().next().unwrap_or('?');
                format!("unknown shorthand flag: '{c}' in {flag}")
            };
            Err(CliError::usage(msg, &usage, &path))
        }
        ErrorKind::InvalidValue if value.is_empty() => {
            Err(CliError::usage(needs_argument(argv, &arg), &usage, &path))
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation | ErrorKind::NoEquals => {
            let flag = flag_display(argv, &arg);
            let reason = std::error::Error::source(&e)
                .map(|s| s.to_string())
                .unwrap_or_else(|| "invalid value".into());
            Err(CliError::usage(
                format!("invalid argument {value:?} for \"{flag}\" flag: {reason}"),
                &usage,
                &path,
            ))
        }
        ErrorKind::MissingRequiredArgument
        | ErrorKind::TooFewValues
        | ErrorKind::TooManyValues
        | ErrorKind::WrongNumberOfValues => Err(args_error(&path, &usage)),
        ErrorKind::InvalidSubcommand => {
            // clap names the word in its own context slot, not as the invalid argument.
            let word = ctx(ContextKind::InvalidSubcommand);
            Err(CliError::new(format!(
                "{BIN}: unknown command: {path} {word}\n\nRun '{path} --help' for more information"
            )))
        }
        _ => Err(CliError::usage(
            e.kind().as_str().unwrap_or("invalid arguments"),
            &usage,
            &path,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(line: &str) -> CliError {
        run(line.split_whitespace().map(str::to_string).collect()).unwrap_err()
    }

    #[test]
    fn flag_mistakes_exit_125_like_docker() {
        let e = err("berth ps --bogus");
        assert_eq!(e.code, 125);
        assert!(
            e.message.starts_with("unknown flag: --bogus\n\nUsage:  "),
            "{}",
            e.message
        );
        assert!(e
            .message
            .ends_with("Run 'berth ps --help' for more information"));
        let e = err("berth container ls -x");
        assert!(
            e.message.starts_with("unknown shorthand flag: 'x' in -x"),
            "{}",
            e.message
        );
        assert!(e
            .message
            .ends_with("Run 'berth container ls --help' for more information"));
        // A flag with a shorthand is named by both, also in a command whose arguments are
        // built only when it runs (deferred).
        for (line, name) in [
            ("berth ps -n x", "\"-n, --last\""),
            ("berth container stop -t x c", "\"-t, --timeout\""),
        ] {
            let e = err(line);
            assert!(
                e.message
                    .starts_with(&format!("invalid argument \"x\" for {name} flag")),
                "{line}: {}",
                e.message
            );
        }
        let e = err("berth run --rm=maybe busybox");
        assert_eq!(e.code, 125);
        assert!(
            e.message
                .starts_with("invalid argument \"maybe\" for \"--rm\" flag: strconv.ParseBool"),
            "{}",
            e.message
        );
    }

    #[test]
    fn unknown_commands_are_named() {
        let e = err("berth frobnicate");
        assert_eq!(e.code, 1);
        assert_eq!(
            e.message,
            "berth: unknown command: berth frobnicate\n\nRun 'berth --help' for more information"
        );
        let e = err("berth image frob");
        assert_eq!(
            e.message,
            "berth: unknown command: berth image frob\n\nRun 'berth image --help' for more information"
        );
    }

    #[test]
    fn missing_arguments_exit_1() {
        let e = err("berth rm");
        assert_eq!(e.code, 1);
        assert!(
            e.message
                .starts_with("berth: 'berth rm' requires at least 1 argument"),
            "{}",
            e.message
        );
    }

    #[test]
    fn bad_run_options_exit_125_before_any_request() {
        // No daemon is contacted: validation happens first.
        let e = err("berth -H unix:///nonexistent/sock run --pull sometimes busybox");
        assert_eq!(e.code, 125);
        assert_eq!(e.message, "berth: invalid pull option: 'sometimes': must be one of \"always\", \"missing\" or \"never\"\n\nRun 'berth run --help' for more information");
        let e = err("berth -H unix:///nonexistent/sock run -m 1x busybox");
        assert_eq!(e.code, 125);
        assert!(e.message.starts_with("invalid argument \"1x\" for \"-m, --memory\" flag: invalid suffix: 'x'\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]"));
    }

    #[test]
    fn unreachable_daemon_is_reported() {
        let e = err("berth -H unix:///nonexistent/sock ps");
        assert_eq!(e.code, 1);
        assert_eq!(e.message, "Cannot connect to the berth daemon at unix:///nonexistent/sock. Is the berth daemon running?");
        let e = err("berth -H unix:///nonexistent/sock run busybox");
        assert_eq!(e.code, 125);
        assert!(e
            .message
            .starts_with("berth: Cannot connect to the berth daemon"));
    }
}
