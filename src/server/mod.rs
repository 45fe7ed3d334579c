//! Everything the browser never sees.

pub mod allowlist;
pub mod app;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod auth_cache;
pub mod cli;
pub mod config;
pub mod db;
pub mod dev;
pub mod error;
pub mod gate;
pub mod guard;
pub mod health;
pub mod identity;
pub mod logging;
pub mod metrics;
pub mod metrics_http;
pub mod request_id;
pub mod rest;
pub mod scan;
pub mod scope;
pub mod scopes;
pub mod serve;
pub mod startup;
pub mod state;
pub mod throttle;
pub mod time;
pub mod tokens;
pub mod users;

pub use app::build_router;
pub use state::AppState;

/// Lower-case hex, without a `format!` per byte (this is on the token-check
/// hot path).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// The SHA-256 of `input`, as lower-case hex.
pub fn sha256_hex(input: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(input))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_and_sha256() {
        assert_eq!(super::hex(&[0x00, 0x9f, 0xff]), "009fff");
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
