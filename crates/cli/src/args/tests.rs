//! Flag parsing: combined short flags, explicit boolean values, `--`, commands with hyphens.

use clap::Parser;

use super::*;

fn parse(line: &str) -> Cli {
    let argv = std::iter::once("berth").chain(line.split_whitespace());
    Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn run(line: &str) -> RunArgs {
    match parse(line).command {
        Some(Command::Run(r)) => r,
        other => panic!("{line}: {other:?}"),
    }
}

#[test]
fn combined_short_flags_and_trailing_command() {
    let r = run("run -it --rm busybox sh -c ls");
    assert_eq!(r.flags.interactive, Some(true));
    assert_eq!(r.flags.tty, Some(true));
    assert_eq!(r.flags.rm, Some(true));
    assert_eq!(r.flags.args, vec!["busybox", "sh", "-c", "ls"]);
    let r = run("run -dit busybox");
    assert_eq!(
        (r.detach, r.flags.interactive, r.flags.tty),
        (Some(true), Some(true), Some(true))
    );
}

#[test]
fn flags_after_the_image_belong_to_the_command() {
    let r = run("run --name web -d busybox httpd -f -p 8080 -h /www --rm");
    assert_eq!(r.flags.name.as_deref(), Some("web"));
    assert_eq!(
        r.flags.args,
        vec!["busybox", "httpd", "-f", "-p", "8080", "-h", "/www", "--rm"]
    );
    assert!(r.flags.publish.is_empty() && r.flags.hostname.is_none() && r.flags.rm.is_none());
}

#[test]
fn double_dash() {
    assert_eq!(run("run -- busybox ls").flags.args, vec!["busybox", "ls"]);
    let r = run("run --rm -- busybox -x");
    assert_eq!(r.flags.args, vec!["busybox", "-x"]);
}

#[test]
fn explicit_boolean_values() {
    let r = run("run --sig-proxy=false -d=false --rm=true -t=0 busybox");
    assert_eq!(
        (r.sig_proxy, r.detach, r.flags.rm, r.flags.tty),
        (Some(false), Some(false), Some(true), Some(false))
    );
    assert!(Cli::try_parse_from(["berth", "run", "--rm=maybe", "busybox"]).is_err());
}

#[test]
fn h_is_hostname_for_run_and_values_may_start_with_hyphen() {
    let r = run("run -h box -e A=1 --env=B=2 -m 512m --memory-swap -1 --stop-timeout -1 --pids-limit -1 busybox");
    assert_eq!(r.flags.hostname.as_deref(), Some("box"));
    assert_eq!(r.flags.env, vec!["A=1", "B=2"]);
    assert_eq!(r.flags.memory.as_deref(), Some("512m"));
    assert_eq!(r.flags.memory_swap.as_deref(), Some("-1"));
    assert_eq!(r.flags.stop_timeout.as_deref(), Some("-1"));
    assert_eq!(r.flags.pids_limit.as_deref(), Some("-1"));
    let c = parse("create --name x --net none busybox");
    let Some(Command::Create(c)) = c.command else {
        panic!()
    };
    assert_eq!(c.flags.network, vec!["none"]);
}

#[test]
fn global_host_flag_and_management_commands() {
    let c =
        parse("-H unix:///tmp/x.sock ps -aq --no-trunc -n 3 --filter status=exited -f name=web");
    assert_eq!(c.host.as_deref(), Some("unix:///tmp/x.sock"));
    let Some(Command::Ps(p)) = c.command else {
        panic!()
    };
    assert!(p.all && p.quiet && p.no_trunc);
    assert_eq!(p.last, 3);
    assert_eq!(p.filter, vec!["status=exited", "name=web"]);
    assert!(matches!(
        parse("container ls -a").command,
        Some(Command::Container(ContainerCommand::Ls(_)))
    ));
    assert!(matches!(
        parse("container ps").command,
        Some(Command::Container(ContainerCommand::Ls(_)))
    ));
    assert!(matches!(
        parse("container remove -f x").command,
        Some(Command::Container(ContainerCommand::Rm(_)))
    ));
    assert!(matches!(
        parse("image list").command,
        Some(Command::Image(ImageCommand::Ls(_)))
    ));
    assert!(matches!(
        parse("image rmi x").command,
        Some(Command::Image(ImageCommand::Rm(_)))
    ));
    assert!(matches!(
        parse("container run --rm busybox true").command,
        Some(Command::Container(ContainerCommand::Run(_)))
    ));
}

#[test]
fn other_commands() {
    let Some(Command::Logs(l)) = parse("logs -f -n 5 -t web").command else {
        panic!()
    };
    assert!(l.follow && l.timestamps);
    assert_eq!(l.tail, "5");
    let Some(Command::Logs(l)) = parse("logs web").command else {
        panic!()
    };
    assert_eq!(l.tail, "all");
    let Some(Command::Top(t)) = parse("top web aux -o pid").command else {
        panic!()
    };
    assert_eq!(t.ps_args, vec!["aux", "-o", "pid"]);
    let Some(Command::Stop(s)) = parse("stop -t 0 -s SIGINT a b").command else {
        panic!()
    };
    assert_eq!(
        (s.timeout, s.signal.as_deref(), s.containers.len()),
        (Some(0), Some("SIGINT"), 2)
    );
    let Some(Command::Import(i)) = parse("import -c CMD=sh -m hi - busybox:latest").command else {
        panic!()
    };
    assert_eq!(
        (i.source.as_str(), i.reference.as_deref()),
        ("-", Some("busybox:latest"))
    );
    let Some(Command::Start(s)) = parse("start -ai web").command else {
        panic!()
    };
    assert!(s.attach && s.interactive);
    assert!(Cli::try_parse_from(["berth", "rm"]).is_err());
    assert!(Cli::try_parse_from(["berth", "ps", "--bogus"]).is_err());
}

#[test]
fn go_bool_spellings() {
    for t in ["1", "t", "T", "true", "TRUE", "True"] {
        assert_eq!(go_bool(t), Ok(true));
    }
    for f in ["0", "f", "F", "false", "FALSE", "False"] {
        assert_eq!(go_bool(f), Ok(false));
    }
    assert!(go_bool("yes").is_err());
}

#[test]
fn dash_dash_after_the_image() {
    // pflag stops parsing at the image: a later `--` is part of the command, as in docker.
    assert_eq!(
        run("run busybox -- ls").flags.args,
        vec!["busybox", "--", "ls"]
    );
}

/// Subcommands' arguments are built only when invoked (`defer`), which keeps the process that
/// runs one command from building all of them. Each subcommand still describes itself in the
/// docker CLI's words, at every level, and its flags are there once built.
#[test]
fn every_subcommand_has_a_description_and_its_flags_once_built() {
    use clap::CommandFactory;
    fn walk(cmd: &mut clap::Command, path: &str, seen: &mut usize) {
        cmd.build();
        for sub in cmd.get_subcommands_mut() {
            let name = format!("{path} {}", sub.get_name());
            if sub.get_name() == "help" {
                continue;
            }
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            assert!(
                !about.is_empty() && !about.starts_with('`'),
                "{name}: description {about:?}"
            );
            *seen += 1;
            walk(sub, &name, seen);
        }
    }
    let mut cli = Cli::command();
    let mut seen = 0;
    walk(&mut cli, "berth", &mut seen);
    assert!(seen > 80, "{seen} subcommands");
    let run = cli.find_subcommand_mut("container").unwrap();
    let run = run.find_subcommand_mut("run").unwrap();
    run.build();
    assert!(run.get_arguments().any(|a| a.get_long() == Some("publish")));
}
