//! Reading the user's stdin on a dedicated thread. A blocking read on a terminal cannot be
//! cancelled, so it must not sit on the async runtime; the process exits without joining
//! the thread once the container is done.

use bytes::Bytes;
use std::io::Read;
use tokio::sync::mpsc;

/// Starts reading stdin; chunks arrive on the receiver, which closes at EOF or on error.
pub fn spawn_reader() -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let spawned = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
        });
    if spawned.is_err() {
        // Without a reader thread stdin is simply empty: the receiver is already closed.
        return mpsc::channel(1).1;
    }
    rx
}
