//! What every request handler and server function can reach: the database,
//! the services and the settings. It imports nothing above the services.

use crate::server::auth_cache::AuthCache;
use crate::server::config::Settings;
use crate::server::db::Db;
use crate::server::throttle::AuthThrottle;
use crate::server::tokens::Tokens;
use crate::server::users::password;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// Verified tokens (see `auth_cache`): the tokens service reads it, and
    /// every change that can refuse a token empties it.
    pub auth_cache: Arc<AuthCache>,
    pub tokens: Tokens,
    pub throttle: Arc<AuthThrottle>,
    /// Leaked-token reports per client (`--leak-reports-per-hour`).
    pub reports: Arc<AuthThrottle>,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    /// Every password check and hash of the server goes through it.
    pub hasher: Arc<password::Hasher>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// The state over an open database; starts nothing (see `startup`).
    pub fn new(db: Db, settings: Settings) -> Self {
        let leptos_options = LeptosOptions::builder()
            .output_name(env!("CARGO_PKG_NAME"))
            .site_pkg_dir("pkg")
            .build();
        let trusted = settings
            .trusted_proxy_header
            .as_deref()
            .and_then(|h| axum::http::HeaderName::from_bytes(h.trim().as_bytes()).ok());
        let auth_cache = Arc::new(AuthCache::new(settings.auth_cache_ttl));
        AppState {
            auth_cache: auth_cache.clone(),
            throttle: Arc::new(AuthThrottle::new(
                settings.auth_failures_per_minute,
                settings.auth_failure_burst,
                trusted.clone(),
            )),
            reports: Arc::new(AuthThrottle::per_hour(
                settings.leak_reports_per_hour,
                trusted,
            )),
            tokens: Tokens::new(db.clone(), auth_cache.clone())
                .with_max_active_per_user(settings.max_active_tokens_per_user)
                .with_max_lifetime_days(settings.token_max_lifetime_days),
            db,
            hasher: password::Hasher::shared(settings.password_checks, settings.password_queue),
            settings: Arc::new(settings),
            leptos_options,
        }
    }
}
