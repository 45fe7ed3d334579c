//! The router: pages, server functions, the REST API, sign-in and static files,
//! behind the request guard.

use crate::app::{shell, App};
use crate::model::{HOME_PATH, INTROSPECT_PATH, LOGIN_SUBMIT_PATH, LOGOUT_PATH, VERIFY_PATH};
use crate::server::auth::web;
use crate::server::guard;
use crate::server::metrics;
use crate::server::state::AppState;
use crate::server::{assets, gate, health, request_id, rest};
use axum::middleware::from_fn_with_state;
use axum::response::Redirect;
use axum::routing::{any, get, post};
use axum::Router;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use std::sync::OnceLock;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

/// The pages' routes, found once per process. Finding them renders the app in
/// leptos's route-generation mode, which sets a process-wide flag
/// (`SuppressResourceLoad`) under which any resource created anywhere in the
/// process never loads, and whatever awaits it is never woken
/// (leptos-rs/leptos#4773). Done again while another router of the same
/// process renders pages (the tests and benches build many routers), a page
/// would hang forever. Once, before any router exists, nothing can render
/// meanwhile: every caller waits here until it is done.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The routes beside the API that the OpenAPI document describes: health
/// checks, forward-auth and introspection.
fn service_routes() -> rest::Routes {
    rest::Routes::default()
        .any_accept("/healthz", get(health::live))
        .any_accept("/readyz", get(health::ready))
        .any_accept(VERIFY_PATH, any(gate::verify))
        .any_accept(INTROSPECT_PATH, post(gate::introspect))
}

/// Every path the router serves that the OpenAPI document must describe
/// (all but the pages, sign-in and static files), as the router is built
/// from them.
pub fn documented_paths() -> Vec<rest::ServedPath> {
    let mut paths = rest::routes().paths().to_vec();
    paths.extend_from_slice(service_routes().paths());
    paths
}

pub fn build_router(state: AppState) -> Router {
    let routes = page_routes();
    let pages = Router::new()
        .leptos_routes_with_context(&state, routes, || {}, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .route_layer(from_fn_with_state(state.clone(), web::require_page_session));

    // Bodies of forms and server functions are bounded here; the API's JSON
    // bodies are bounded by `rest::GoJson`, which answers in the API's own format.
    let web = Router::new()
        .route(LOGIN_SUBMIT_PATH, post(web::login_submit))
        .route(LOGOUT_PATH, post(web::logout))
        .merge(pages)
        .layer(RequestBodyLimitLayer::new(rest::BODY_LIMIT));

    let router = Router::new()
        .route("/", get(|| async { Redirect::to(HOME_PATH) }))
        .merge(rest::router(rest::routes()))
        .merge(service_routes().into_router())
        .merge(web)
        .fallback(assets::serve)
        .layer(from_fn_with_state(state.clone(), guard::guard))
        .layer(TraceLayer::new_for_http().make_span_with(request_id::span));
    // Outside the trace layer: its span sees the request's id.
    let router = request_id::layer(router);
    // Measured only when metrics are served: otherwise not even a label is made.
    let router = if state.settings.metrics && metrics::handle().is_some() {
        router.layer(axum::middleware::from_fn(metrics::track))
    } else {
        router
    };
    router.with_state(state)
}
