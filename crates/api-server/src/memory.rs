//! Giving memory back once the requests that move a lot of data are done.
//!
//! After a pull, a load, an import or a save the allocator keeps the buffers it freed (glibc
//! keeps free pages in each thread's arena), so the daemon's resident set stays at its peak
//! long after the work. When the last such request ends — its response body finished or
//! dropped, which for a streamed pull is long after the handler returned — the heap is trimmed
//! once, on a blocking thread, and the code those requests ran is unmapped (it stays in the
//! page cache). There is no timer: nothing runs while the daemon is idle.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::Method;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};

static HEAVY_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Whether a request moves image or file data through the daemon (the docker CLI's paths,
/// without the version prefix).
pub fn is_heavy(method: &Method, path: &str) -> bool {
    let post = method == Method::POST;
    let get = method == Method::GET;
    let put = method == Method::PUT;
    match path {
        "/images/create" | "/images/load" | "/commit" | "/build" => post,
        "/images/get" => get,
        _ => {
            (get && path.starts_with("/images/") && path.ends_with("/get"))
                || (post && path.starts_with("/images/") && path.ends_with("/push"))
                || (get && path.starts_with("/containers/") && path.ends_with("/export"))
                || ((get || put) && path.starts_with("/containers/") && path.ends_with("/archive"))
        }
    }
}

/// Held for the life of a heavy request; the last one dropped trims the heap.
pub struct Heavy(());

impl Heavy {
    /// Counts a heavy request in.
    pub fn begin() -> Heavy {
        HEAVY_IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        Heavy(())
    }
}

impl Drop for Heavy {
    fn drop(&mut self) {
        if HEAVY_IN_FLIGHT.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        trim_soon();
    }
}

/// Gives back what the daemon's start touched (restore, network setup): called once the
/// daemon serves, so an idle daemon carries neither that heap nor that code.
pub fn trim_after_startup() {
    trim_soon();
}

/// [`trim`] on a blocking thread (inline outside a runtime).
fn trim_soon() {
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            rt.spawn_blocking(trim);
        }
        Err(_) => trim(),
    }
}

/// Trims the heap, then drops the page-table entries of the code and constants that ran
/// (`runtime::sys::trim_file_mappings`: they stay in the page cache, and what runs next faults
/// back in). The resident set is then what the daemon holds, not what it last executed.
fn trim() {
    let t0 = std::time::Instant::now();
    let released = runtime::sys::trim_heap();
    let unmapped = match runtime::sys::trim_file_mappings() {
        Ok(n) => n,
        Err(e) => {
            tracing::debug!(error = %e, "dropping code pages");
            0
        }
    };
    tracing::debug!(
        released,
        unmapped,
        elapsed_us = t0.elapsed().as_micros() as u64,
        "heap and code pages trimmed"
    );
}

/// `resp` with `guard` held until its body is finished or dropped.
pub fn hold_until_sent(resp: Response, guard: Heavy) -> Response {
    resp.map(|inner| {
        Body::new(Guarded {
            inner,
            _guard: guard,
        })
    })
}

struct Guarded {
    inner: Body,
    _guard: Heavy,
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_paths() {
        assert!(is_heavy(&Method::POST, "/images/create"));
        assert!(is_heavy(&Method::GET, "/images/busybox/get"));
        assert!(is_heavy(&Method::POST, "/images/127.0.0.1:5000/x/push"));
        assert!(is_heavy(&Method::PUT, "/containers/c1/archive"));
        assert!(!is_heavy(&Method::HEAD, "/containers/c1/archive"));
        assert!(!is_heavy(&Method::GET, "/images/json"));
        assert!(!is_heavy(&Method::POST, "/containers/create"));
    }

    #[tokio::test]
    async fn the_guard_lives_as_long_as_the_body() {
        let before = HEAVY_IN_FLIGHT.load(Ordering::SeqCst);
        let resp = hold_until_sent(Response::new(Body::from("data")), Heavy::begin());
        assert_eq!(HEAVY_IN_FLIGHT.load(Ordering::SeqCst), before + 1);
        let body = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"data");
        assert_eq!(HEAVY_IN_FLIGHT.load(Ordering::SeqCst), before);
    }
}
