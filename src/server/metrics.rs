//! Prometheus metrics (issue 16), served on a listener of their own
//! (`--metrics-addr`), so they are never public by accident.
//!
//! `metrics` with `metrics-exporter-prometheus`, rather than
//! `prometheus-client`: the exporter writes the Prometheus text format 0.0.4
//! that `promtool check metrics` reads (prometheus-client writes OpenMetrics),
//! and the `metrics` macros cost an atomic add on the hot path. No label ever
//! carries a user, a token, an address or free text: routes are templates,
//! methods and outcomes are from fixed lists.

use crate::server::identity::AuthError;
use crate::server::tokens::format::FormatError;
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const HTTP_DURATION: &str = "tollgate_http_request_duration_seconds";
const FLUSH_DURATION: &str = "tollgate_last_used_flush_duration_seconds";
/// Request latencies here are well under a millisecond to a few seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use (once per process: every
/// app built in it records into the same one).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &BUCKETS)
                .ok()?
                .set_buckets_for_metric(Matcher::Full(FLUSH_DURATION.into()), &BUCKETS)
                .ok()?;
            let handle = builder.install_recorder().ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    describe_counter!(
        "tollgate_http_requests_total",
        "HTTP requests answered, by route template, method and status class."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request, by route template and method."
    );
    describe_counter!(
        "tollgate_auth_attempts_total",
        "Authentication attempts by method (bearer, basic, session, forward_auth, introspect) and outcome."
    );
    describe_counter!(
        "tollgate_auth_cache_hits_total",
        "Presented tokens answered from the verified-token cache."
    );
    describe_counter!(
        "tollgate_auth_cache_misses_total",
        "Presented tokens looked up in the database."
    );
    describe_histogram!(
        FLUSH_DURATION,
        Unit::Seconds,
        "Time to write a batch of last-used times."
    );
    describe_gauge!(
        "tollgate_last_used_pending",
        "Tokens whose last use is held in memory, not yet written."
    );
    describe_gauge!(
        "tollgate_db_pool_connections",
        "Database pool connections, by state (idle, in_use)."
    );
    describe_gauge!(
        "tollgate_tokens",
        "Access tokens by state (active, expired, revoked), read at most once a minute."
    );
    describe_gauge!(
        "tollgate_build_info",
        "The running build: always 1, labelled with its version."
    );
}

/// Whether metrics are being recorded in this process.
pub fn enabled() -> bool {
    HANDLE.get().is_some_and(Option::is_some)
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times every request by its route template (never its path).
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let res = next.run(req).await;
    let class = match res.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    histogram!(HTTP_DURATION, "route" => route.clone(), "method" => method)
        .record(start.elapsed().as_secs_f64());
    counter!("tollgate_http_requests_total", "route" => route, "method" => method, "status_class" => class)
        .increment(1);
    res
}

/// The outcome label of an authentication attempt.
pub fn outcome<T>(result: &Result<T, AuthError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => refusal(e),
    }
}

/// The outcome label of a refused authentication.
pub fn refusal(e: &AuthError) -> &'static str {
    match e {
        AuthError::BadToken(FormatError::Checksum) => "bad_checksum",
        AuthError::BadToken(_) | AuthError::BadCredentials | AuthError::UnsupportedScheme => {
            "malformed"
        }
        AuthError::InvalidToken | AuthError::Anonymous => "unknown",
        AuthError::RevokedToken(_) => "revoked",
        AuthError::ExpiredToken(_) => "expired",
        AuthError::Disabled => "disabled",
        AuthError::NotAllowedFrom(_) => "forbidden",
        AuthError::Throttled(_) => "throttled",
        AuthError::Busy | AuthError::Service(_) => "unavailable",
    }
}

/// Counts one authentication attempt.
pub fn auth_attempt(method: &'static str, outcome: &'static str) {
    counter!("tollgate_auth_attempts_total", "method" => method, "outcome" => outcome).increment(1);
}

pub fn auth_cache(hit: bool) {
    if hit {
        counter!("tollgate_auth_cache_hits_total").increment(1);
    } else {
        counter!("tollgate_auth_cache_misses_total").increment(1);
    }
}

pub fn last_used_flushed(took: Duration) {
    histogram!(FLUSH_DURATION).record(took.as_secs_f64());
}
