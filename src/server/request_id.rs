//! `X-Request-Id` (issue 16): every response carries one, the client's own
//! when it sent an acceptable one, a new UUID otherwise; and every log line
//! of the request carries it, in the `request` span [`span`] makes.
//!
//! A client's id ends up in the logs, so only a short one of plain
//! characters is kept: anything else (too long, spaces, quotes, control or
//! non-ASCII bytes, several `X-Request-Id` headers, or what looks like a
//! tollgate token) is replaced rather than logged, so that no client can
//! forge log lines or fields, or get a secret written to the logs.

use crate::server::tokens::format::PREFIX;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

/// The header, in requests and responses.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client id kept.
pub const MAX_LEN: usize = 128;

/// The `route` of a request that matched no route (static files, 404s): its
/// path is not logged, since a client chooses it.
pub const UNMATCHED: &str = "unmatched";

/// Whether a client's id is kept: 1 to [`MAX_LEN`] ASCII letters, digits
/// and `-_.:/+=@`, and no token prefix.
pub fn acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_LEN).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(b))
        && !bytes
            .windows(PREFIX.len())
            .any(|w| w.eq_ignore_ascii_case(PREFIX.as_bytes()))
}

/// Removes a client's `X-Request-Id` unless it is one [`acceptable`] header,
/// so that one is generated instead.
fn drop_unacceptable(mut req: Request<Body>) -> Request<Body> {
    let mut ids = req.headers().get_all(&X_REQUEST_ID).iter();
    let keep = matches!((ids.next(), ids.next()), (Some(v), None) if acceptable(v));
    if !keep {
        req.headers_mut().remove(&X_REQUEST_ID);
    }
    req
}

/// Wraps `router` so that each request has an id before it reaches the
/// router's own layers (the trace span among them) and each response
/// carries it. Applied twice (the accept loop wraps the router again, so
/// that its timeouts' 408 carry one too), the inner one keeps the outer id.
pub fn layer<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(
        ServiceBuilder::new()
            .map_request(drop_unacceptable)
            .layer(SetRequestIdLayer::new(X_REQUEST_ID, MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(X_REQUEST_ID)),
    )
}

/// The span of one request, for `TraceLayer::make_span_with`: its id, its
/// method and its route template. Never the path, the query or a header,
/// which may hold a token (tower-http's default span logs the whole URI).
pub fn span<B>(req: &Request<B>) -> tracing::Span {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str);
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        route = %route
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_short_ids_are_kept_and_others_replaced() {
        let ok = |s: &str| acceptable(&HeaderValue::from_str(s).unwrap());
        assert!(ok("test-req-123"));
        assert!(ok("0b5e3a3c-7d3e-4a50-9a55-6c1f1d6c8e2a"));
        assert!(ok("Root=1-5759e988-bd862e3fe1be46a994272793"));
        assert!(ok(&"a".repeat(MAX_LEN)));
        assert!(!ok(&"a".repeat(MAX_LEN + 1)));
        assert!(!ok(""));
        assert!(!ok("two words"));
        assert!(!ok("x\" level=\"ERROR"));
        assert!(!ok("tab\there"));
        assert!(!ok("id-tgp_abcdef"));
        assert!(!ok("TGP_abcdef"));
        assert!(!acceptable(
            &HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()
        ));
    }

    #[test]
    fn several_ids_or_a_bad_one_are_dropped() {
        let with = |values: &[&str]| {
            let mut req = Request::new(Body::empty());
            for v in values {
                req.headers_mut()
                    .append(X_REQUEST_ID, HeaderValue::from_str(v).unwrap());
            }
            drop_unacceptable(req)
                .headers()
                .get_all(X_REQUEST_ID)
                .iter()
                .count()
        };
        assert_eq!(with(&["abc"]), 1);
        assert_eq!(with(&["abc", "def"]), 0);
        assert_eq!(with(&["a b"]), 0);
        assert_eq!(with(&[]), 0);
    }
}
