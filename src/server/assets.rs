//! The site (WASM, JS, CSS, public files) embedded in the binary, so that
//! `tollgate` runs from any directory with nothing beside it.

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "target/site/"]
#[allow_missing = true]
struct Site;

/// The fallback: an embedded file, or a plain 404.
pub async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    match Site::get(path) {
        Some(file) if !path.is_empty() => (
            [
                (header::CONTENT_TYPE, file.metadata.mimetype().to_string()),
                // File names carry no hash, so revalidate; the ETag keeps that cheap.
                (header::CACHE_CONTROL, "no-cache".to_string()),
                (
                    header::ETAG,
                    format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16])),
                ),
            ],
            file.data,
        )
            .into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Not found.",
        )
            .into_response(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// True when the WASM bundle was embedded (a `cargo leptos build` ran first).
pub fn has_bundle() -> bool {
    Site::iter().any(|f| f.ends_with(".wasm"))
}
