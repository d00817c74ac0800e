//! Where `save` and `export` write: a file given with `-o`, written to a temporary file
//! beside it and renamed into place only when complete (docker's `atomicwriter`, without its
//! habit of keeping a truncated archive when the stream fails), or stdout — never a terminal.

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::CliError;
use crate::opts::kvfile::io_reason;
use crate::stream::terminal::stdout_is_tty;

const REFUSE_TTY: &str = "cowardly refusing to save to a terminal. Use the -o flag or redirect";

/// Checks the destination before any request is made; `what` prefixes failures
/// (`failed to save image`).
pub fn check(output: Option<&str>, what: &str) -> Result<(), CliError> {
    match output {
        None if stdout_is_tty() => Err(CliError::new(REFUSE_TTY)),
        None => Ok(()),
        Some(f) => validate(f).map_err(|e| CliError::new(format!("{what}: {e}"))),
    }
}

fn validate(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("file name is empty".into());
    }
    let dir = Path::new(name)
        .parent()
        .filter(|d| !d.as_os_str().is_empty());
    if let Some(d) = dir {
        match std::fs::metadata(d) {
            Err(e) => {
                return Err(format!(
                    "invalid output path: stat {}: {}",
                    d.display(),
                    io_reason(&e)
                ))
            }
            Ok(m) if !m.is_dir() => {
                return Err(format!(
                    "invalid output path: stat {}: not a directory",
                    d.display()
                ))
            }
            Ok(_) => {}
        }
    }
    let m = match std::fs::symlink_metadata(name) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("failed to stat output path: {}", io_reason(&e))),
        Ok(m) => m,
    };
    let t = m.file_type();
    Err(if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "cannot write to a directory"
    } else if t.is_symlink() {
        "cannot write to a symbolic link directly"
    } else if t.is_fifo() {
        "cannot write to a named pipe (FIFO)"
    } else if t.is_socket() {
        "cannot write to a socket"
    } else if t.is_char_device() {
        "cannot write to a character device file"
    } else {
        "cannot write to a block device file"
    }
    .to_string())
}

/// Copies `body` to the destination; a file appears only once everything was written.
pub async fn write<R: AsyncRead + Unpin>(
    mut body: R,
    output: Option<&str>,
    what: &str,
) -> Result<(), CliError> {
    let Some(name) = output else {
        let mut out = tokio::io::stdout();
        tokio::io::copy(&mut body, &mut out)
            .await
            .map_err(|e| CliError::new(io_reason(&e)))?;
        return Ok(());
    };
    let target = std::path::absolute(name).map_err(|e| CliError::new(e.to_string()))?;
    let dir = target.parent().unwrap_or(Path::new("/")).to_path_buf();
    let base = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".tmp-{base}{}", std::process::id()));
    let res = copy_to(&mut body, &tmp).await;
    let res = res.and_then(|()| {
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&tmp, &target)
    });
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(CliError::new(format!("{what}: {}", io_reason(&e))));
    }
    Ok(())
}

async fn copy_to<R: AsyncRead + Unpin>(body: &mut R, path: &Path) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = body.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        f.write_all(&buf[..n])?;
    }
    f.sync_all()
}
