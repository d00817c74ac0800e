//! `berth login [-u U] [-p P | --password-stdin] [SERVER]` and `berth logout [SERVER]`: the
//! daemon checks the credentials (`POST /auth`); they are kept in `config.json` (or its
//! credential helper) exactly as the docker CLI keeps them.

use std::io::{BufRead, Write};

use api_types::AuthConfig;

use super::{eprintln, println, Ctx};
use crate::args::{LoginArgs, LogoutArgs};
use crate::credentials::{self, DOCKER_HUB_KEY};
use crate::error::CliError;
use crate::stream::terminal::stdin_is_tty;

fn config_dir(ctx: &Ctx) -> std::path::PathBuf {
    credentials::config_dir(ctx.config.dir.as_ref().and_then(|d| d.to_str()))
}

/// Reads a line from the terminal, without echo when `secret`.
fn prompt(label: &str, secret: bool) -> Result<String, CliError> {
    let mut err = std::io::stderr();
    let _ = write!(err, "{label}");
    let _ = err.flush();
    let stdin = std::io::stdin();
    let fd = rustix::stdio::stdin();
    let saved = if secret && stdin_is_tty() {
        rustix::termios::tcgetattr(fd).ok().inspect(|t| {
            let mut t2 = t.clone();
            t2.local_modes.remove(rustix::termios::LocalModes::ECHO);
            let _ = rustix::termios::tcsetattr(fd, rustix::termios::OptionalActions::Now, &t2);
        })
    } else {
        None
    };
    let mut line = String::new();
    let r = stdin.lock().read_line(&mut line);
    if let Some(t) = saved {
        let _ = rustix::termios::tcsetattr(fd, rustix::termios::OptionalActions::Now, &t);
        let _ = writeln!(err);
    }
    r.map_err(|e| CliError::new(format!("reading {label}: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// `berth login`.
pub async fn login(ctx: &Ctx, args: LoginArgs) -> Result<(), CliError> {
    let server = args
        .server
        .clone()
        .unwrap_or_else(|| DOCKER_HUB_KEY.to_string());
    let key = credentials::server_key(&server);
    if args.password.is_some() && args.password_stdin {
        return Err(CliError::new(
            "--password and --password-stdin are mutually exclusive",
        ));
    }
    let mut password = args.password.clone();
    if args.password_stdin {
        if args.username.is_none() {
            return Err(CliError::new(
                "Must provide --username with --password-stdin",
            ));
        }
        let mut s = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut s)
            .map_err(|e| CliError::new(format!("reading the password from stdin: {e}")))?;
        password = Some(s.trim_end_matches(['\r', '\n']).to_string());
    } else if password.is_some() {
        eprintln("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    let username = match args.username.clone() {
        Some(u) => u,
        None => prompt("Username: ", false)?,
    };
    if username.is_empty() {
        return Err(CliError::new("Error: Non-null Username Required"));
    }
    let password = match password {
        Some(p) => p,
        None => prompt("Password: ", true)?,
    };
    if password.is_empty() {
        return Err(CliError::new("Error: Password Required"));
    }
    let mut auth = AuthConfig {
        username,
        password,
        serveraddress: key.clone(),
        ..Default::default()
    };
    let resp = ctx.client.login(&auth).await?;
    if !resp.identity_token.is_empty() {
        auth.password.clear();
        auth.identitytoken = resp.identity_token.clone();
    }
    if let Some(file) = credentials::store(&config_dir(ctx), &auth)? {
        eprintln(&format!(
            "WARNING! Your password will be stored unencrypted in {}.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n",
            file.display()
        ));
    }
    println(&resp.status);
    Ok(())
}

/// `berth logout`.
pub async fn logout(ctx: &Ctx, args: LogoutArgs) -> Result<(), CliError> {
    let server = args
        .server
        .clone()
        .unwrap_or_else(|| DOCKER_HUB_KEY.to_string());
    let key = credentials::server_key(&server);
    if credentials::erase(&config_dir(ctx), &key)? {
        println(&format!("Removing login credentials for {key}"));
    } else {
        println(&format!("Not logged in to {key}"));
    }
    Ok(())
}
