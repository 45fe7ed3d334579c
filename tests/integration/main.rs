//! Integration tests: the real router on a real database.

mod admin_api;
mod api_base;
mod common;
mod faults;
mod fuzz;
mod hardening;
mod scale_out;
mod secrets;
mod throttle;
mod tokens_api;
mod users_api;
mod web_auth;
