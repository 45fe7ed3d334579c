//! tollgate: self-hosted personal access tokens with GoCD's API.
//!
//! The crate is built twice: natively with `ssr` (the server) and to WASM with
//! `hydrate` (the browser). `model`, `api`, `pages` and `components` are shared;
//! `server` is everything the browser never sees.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // `hydrate_lazy`: a page that is a lazy route waits for its WASM chunk.
    leptos::mount::hydrate_lazy(app::App);
}
