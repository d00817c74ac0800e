//! `--sig-proxy` and TTY resizing: signals the CLI receives are sent to the container as
//! `POST /containers/{id}/kill?signal=NAME` (docker's `ForwardAllSignals`), and SIGWINCH
//! resizes the container's TTY (docker's `MonitorTtySize`).

use std::time::Duration;

use client::Client;
use tokio::signal::unix::{signal, SignalKind};

use super::terminal::stdout_size;

/// The catchable signals docker forwards: all but SIGCHLD, SIGPIPE, SIGURG (Go's runtime),
/// and the synchronous faults no process can meaningfully catch.
const FORWARDED: &[(i32, &str)] = &[
    (libc::SIGHUP, "HUP"),
    (libc::SIGINT, "INT"),
    (libc::SIGQUIT, "QUIT"),
    (libc::SIGTRAP, "TRAP"),
    (libc::SIGABRT, "ABRT"),
    (libc::SIGUSR1, "USR1"),
    (libc::SIGUSR2, "USR2"),
    (libc::SIGALRM, "ALRM"),
    (libc::SIGTERM, "TERM"),
    (libc::SIGSTKFLT, "STKFLT"),
    (libc::SIGCONT, "CONT"),
    (libc::SIGTSTP, "TSTP"),
    (libc::SIGTTIN, "TTIN"),
    (libc::SIGTTOU, "TTOU"),
    (libc::SIGXCPU, "XCPU"),
    (libc::SIGXFSZ, "XFSZ"),
    (libc::SIGVTALRM, "VTALRM"),
    (libc::SIGPROF, "PROF"),
    (libc::SIGWINCH, "WINCH"),
    (libc::SIGIO, "IO"),
    (libc::SIGPWR, "PWR"),
    (libc::SIGSYS, "SYS"),
];

/// Starts forwarding signals to container `id` for the rest of the process's life.
pub fn forward_all(client: &Client, id: &str) {
    for &(num, name) in FORWARDED {
        let Ok(mut sig) = signal(SignalKind::from_raw(num)) else {
            continue;
        };
        let client = client.clone();
        let id = id.to_string();
        tokio::spawn(async move {
            while sig.recv().await.is_some() {
                // Failures are not the user's business (docker logs them at debug level).
                let _ = client.container_kill(&id, Some(name)).await;
            }
        });
    }
}

/// Sizes the container's TTY to the terminal now (retrying in the background as docker
/// does) and again on every SIGWINCH.
pub async fn monitor_tty_size(client: &Client, id: &str) {
    if resize(client, id, 0).await.is_err() {
        let (client, id) = (client.clone(), id.to_string());
        tokio::spawn(async move {
            for retry in 0..10u64 {
                tokio::time::sleep(Duration::from_millis((retry + 1) * 10)).await;
                if resize(&client, &id, 0).await.is_ok() {
                    return;
                }
            }
            eprintln!("failed to resize tty, using default size");
        });
    }
    if let Ok(mut winch) = signal(SignalKind::window_change()) {
        let (client, id) = (client.clone(), id.to_string());
        tokio::spawn(async move {
            while winch.recv().await.is_some() {
                let _ = resize(&client, &id, 0).await;
            }
        });
    }
}

/// Resizes to the terminal size plus `bump` in each dimension (`attach` bumps by one first so
/// a re-attached shell redraws its prompt).
pub async fn resize(client: &Client, id: &str, bump: u16) -> Result<(), client::Error> {
    let (h, w) = stdout_size();
    if h == 0 && w == 0 {
        return Ok(());
    }
    client.container_resize(id, h + bump, w + bump).await
}
