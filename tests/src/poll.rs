//! Bounded waiting for something that happens asynchronously (a health verdict, a log line):
//! poll until it holds or a generous limit passes — never a sleep whose length the test
//! depends on.

use std::time::{Duration, Instant};

/// Polls `f` every 50 ms until it returns `Some`, for at most `limit`; panics naming `what`.
pub fn until<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
