//! The accept loop: the one place that turns TCP connections into requests
//! for the router. `tollgate serve` and the tests' real-HTTP servers call
//! [`serve`].
//!
//! What it bounds, so a client that opens connections and sends nothing (or
//! a byte now and then: slowloris) cannot hold the server:
//!
//! - the time to send a request's headers, which is also how long an idle
//!   keep-alive connection stays open (hyper's `header_read_timeout`; the
//!   clock does not restart when a byte arrives);
//! - the time a request may take, its body included (tower-http's
//!   `TimeoutLayer`, answering 408), and the time between two pieces of a
//!   body (`RequestBodyTimeoutLayer`), so a stalled upload ends;
//! - the number of connections open at once: past it, new connections wait
//!   in the kernel's listen queue until one closes.
//!
//! Connections speak HTTP/1.1 only (tollgate sits behind a TLS proxy, which
//! speaks HTTP/2 to browsers if it likes): hyper's HTTP/2 server has no
//! header-read timeout, and cleartext HTTP/2 is not something clients ask for.

use crate::server::config::Settings;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

/// How long clients may take, and how many may be connected at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// To send a request's headers; also the idle keep-alive timeout.
    pub header_read_timeout: Duration,
    /// For a whole request, body included, until the response starts.
    pub request_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits::from(&Settings::default())
    }
}

impl From<&Settings> for ServeLimits {
    fn from(s: &Settings) -> Self {
        ServeLimits {
            header_read_timeout: s.header_read_timeout,
            request_timeout: s.request_timeout,
            max_connections: s.max_connections,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops
/// accepting and lets the requests in flight finish (for at most the request
/// timeout, and a little more for their responses to go out). Each request
/// carries its peer address as `ConnectInfo<SocketAddr>`.
pub async fn serve<F>(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()>,
{
    let app = router
        .layer(RequestBodyTimeoutLayer::new(limits.request_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ));
    // Outermost, so that a 408 carries the request's id too; the router's
    // own request-id layer keeps the one set here.
    let app = crate::server::request_id::layer(app);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut at_cap_logged = false;
    loop {
        // A free slot first: while every slot is taken, new connections wait
        // in the listen queue rather than being accepted and starved.
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if !at_cap_logged {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached; new connections wait until one closes"
                    );
                    at_cap_logged = true;
                }
                tokio::select! {
                    p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to close.
                    tracing::error!(error = %e, "cannot accept connections; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if permits.available_permits() > limits.max_connections / 10 {
            at_cap_logged = false;
        }
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        });
        let conn = graceful.watch(
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)),
        );
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(client = %peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    let open = graceful.count();
    tracing::info!(
        connections = open,
        "no longer accepting; finishing requests in flight"
    );
    let drain = limits.request_timeout + Duration::from_secs(5);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "some connections were still open {} s after shutdown began; closing them",
            drain.as_secs()
        );
    }
    Ok(())
}

/// Errors that concern one connection, not the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Raises this process's soft limit on open files towards its hard limit so
/// that `wanted` descriptors (connections plus database files and the like)
/// fit, as Go's runtime does at start; warns when they cannot.
// `rlim_t` is u64 on Linux and macOS, not on every Unix.
#[allow(clippy::unnecessary_cast)]
pub fn raise_open_files_limit(wanted: u64) {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct we pass it.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return;
        }
        let current = lim.rlim_cur as u64;
        if current >= wanted {
            return;
        }
        let target = wanted.min(lim.rlim_max as u64);
        if target > current {
            let new = libc::rlimit {
                rlim_cur: target as libc::rlim_t,
                rlim_max: lim.rlim_max,
            };
            // SAFETY: setrlimit only reads the struct we pass it.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } == 0 {
                tracing::debug!(from = current, to = target, "raised the open files limit");
            }
        }
        if target < wanted {
            tracing::warn!(
                limit = target,
                wanted,
                "the open files limit is below --max-connections plus a reserve; \
                 past it, connections wait until descriptors free up (raise `ulimit -n` or lower --max-connections)"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = wanted;
}
