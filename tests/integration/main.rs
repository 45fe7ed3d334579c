//! Integration tests: the real router on a real database.

mod admin_api;
mod api_base;
mod client;
mod common;
mod connections;
mod escalation;
mod faults;
mod fuzz;
mod gocd_fidelity;
mod hardening;
mod health;
mod input_limits;
mod lifecycle;
mod notify;
mod proxies;
mod scale_out;
mod scopes;
mod secrets;
mod server_functions;
mod throttle;
mod tokens_auth;
mod tokens_cache;
mod tokens_create;
mod tokens_revoke;
mod users_api;
mod web_auth;
