//! Connection hijacking for attach and exec: answer `101 UPGRADED` with `Upgrade: tcp`, then
//! hand the raw, two-way connection to the engine. This is what the docker CLI requires
//! ("unable to upgrade to tcp, received 200" otherwise).

use std::future::Future;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use hyper_util::rt::TokioIo;

/// The upgraded connection handed to the engine.
pub type Upgraded = TokioIo<hyper::upgrade::Upgraded>;

/// Answers `101` and runs `session` on the upgraded connection in its own task.
pub fn upgrade<F, Fut>(mut req: Request, content_type: &'static str, session: F) -> Response
where
    F: FnOnce(Upgraded) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => session(TokioIo::new(upgraded)).await,
            Err(e) => tracing::debug!(error = %e, "client went away before the upgrade"),
        }
    });
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
