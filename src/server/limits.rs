//! Abuse limits: failed-authentication throttling per client IP, same-origin
//! checks for cookie-authenticated writes, security headers, header bounds.

use crate::server::app::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most clients tracked as blocked at once; older entries are dropped first.
const BLOCKED_MAX: usize = 100_000;

/// Throttles failed authentication per client IP with a GCRA rate limiter
/// (`governor`): `per_minute` failures replenish each minute, up to `burst`
/// at once. Once over, the client is refused with 429 until a failure is
/// allowed again. Successful requests never touch it.
pub struct AuthThrottle {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    trusted_header: Option<HeaderName>,
}

impl AuthThrottle {
    /// `per_minute == 0` turns throttling off.
    pub fn new(per_minute: u32, burst: u32, trusted_header: Option<HeaderName>) -> Self {
        let limiter = NonZeroU32::new(per_minute).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst))
        });
        AuthThrottle {
            limiter,
            blocked: Mutex::new(HashMap::new()),
            trusted_header,
        }
    }

    /// The client's address: the trusted proxy header's last (nearest) entry
    /// when one is configured and present, else the peer address.
    pub fn client_ip(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
        let from_header = self.trusted_header.as_ref().and_then(|name| {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|v| v.trim().parse::<IpAddr>().ok())
                .next_back()
        });
        from_header
            .or(peer.map(|p| p.ip()))
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    /// `Err(wait)` while the client is blocked.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let mut blocked = self.blocked.lock().map_err(|_| Duration::from_secs(1))?;
        match blocked.get(&ip) {
            Some(&until) if until > Instant::now() => Err(until - Instant::now()),
            Some(_) => {
                blocked.remove(&ip);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Records a failure; `Err(wait)` when the client is now over its budget.
    pub fn failed(&self, ip: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        match limiter.check_key(&ip) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(limiter.clock().now());
                if let Ok(mut blocked) = self.blocked.lock() {
                    if blocked.len() >= BLOCKED_MAX {
                        let now = Instant::now();
                        blocked.retain(|_, until| *until > now);
                        limiter.retain_recent();
                    }
                    blocked.insert(ip, Instant::now() + wait);
                }
                tracing::warn!(client = %ip, wait_secs = wait.as_secs(), "too many failed authentications");
                Err(wait)
            }
        }
    }
}

/// Whole seconds for `Retry-After`, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// The client's IP address, as [`AuthThrottle::client_ip`] sees it.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(ClientIp(state.throttle.client_ip(&parts.headers, peer)))
    }
}

/// Headers larger than this in total are refused with 431.
pub const HEADERS_MAX: usize = 16 * 1024;

fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response()
}

/// Bounds the request headers, refuses cross-site writes made with the browser's
/// cookies (CSRF), and adds security headers to every response.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if header_bytes > HEADERS_MAX {
        return refuse(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request headers are too large: at most 16 KiB is accepted.",
        );
    }
    if is_cross_site_write(&state, &req) {
        tracing::warn!(path = %req.uri().path(), "refused a cross-site request");
        return refuse(StatusCode::FORBIDDEN, "Cross-site request refused.");
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// A write (not GET/HEAD/OPTIONS) that a browser could authenticate on its
/// own (our cookies, or Basic credentials it cached), or that targets sign-in
/// or a server function, must come from our own origin: `Sec-Fetch-Site` must
/// not say another site, and `Origin`, when sent, must be ours. Scripts (curl
/// and the like) send neither header.
fn is_cross_site_write(state: &AppState, req: &Request) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let headers = req.headers();
    let path = req.uri().path();
    let browser_authenticated = headers.contains_key(header::COOKIE)
        || headers.contains_key(header::AUTHORIZATION)
        || path.starts_with("/go/fn/")
        || path.starts_with("/go/auth/");
    if !browser_authenticated {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return true;
        }
    }
    match headers.get(header::ORIGIN) {
        Some(origin) => {
            origin.as_bytes() != crate::server::rest::base_url(state, headers).as_bytes()
        }
        None => false,
    }
}

/// The Content-Security-Policy for pages: scripts only from us or inline with
/// this response's nonce, WASM allowed to compile, no framing, no plugins.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_beyond_the_burst_are_blocked_per_client() {
        let t = AuthThrottle::new(60, 3, None);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(t.failed(a).is_ok());
        }
        let wait = t.failed(a).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(t.check(a).is_err());
        assert!(t.check(b).is_ok(), "other clients are not affected");
        assert!(t.failed(b).is_ok());
    }

    #[test]
    fn zero_disables_throttling() {
        let t = AuthThrottle::new(0, 0, None);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..1000 {
            assert!(t.failed(a).is_ok());
        }
    }

    #[test]
    fn client_ip_comes_from_the_trusted_header_only() {
        let peer: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 198.51.100.4"),
        );
        let untrusting = AuthThrottle::new(10, 10, None);
        assert_eq!(untrusting.client_ip(&h, Some(peer)), peer.ip());
        let trusting = AuthThrottle::new(10, 10, Some(HeaderName::from_static("x-forwarded-for")));
        assert_eq!(
            trusting.client_ip(&h, Some(peer)),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(trusting.client_ip(&HeaderMap::new(), Some(peer)), peer.ip());
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
    }
}
