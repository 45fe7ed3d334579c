//! Everything the browser never sees.

pub mod app;
pub mod assets;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod dev;
pub mod error;
pub mod limits;
pub mod rest;
pub mod time;
pub mod tokens;
pub mod users;

pub use app::{build_router, AppState};
