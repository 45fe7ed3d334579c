//! The site (WASM, JS, CSS, public files) embedded in the binary, so that
//! `tollgate` runs from any directory with nothing beside it. cargo-leptos
//! precompresses the release site; the brotli or gzip copy is sent when the
//! client accepts it.

use crate::server::hex;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "target/site/"]
#[allow_missing = true]
struct Site;

fn accepts(headers: &HeaderMap, encoding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| e.split(';').next().unwrap_or("").trim() == encoding)
}

/// The fallback: an embedded file, or a plain 404.
pub async fn serve(uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    let Some(original) = Site::get(path).filter(|_| !path.is_empty() && !path.ends_with('/'))
    else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Not found.",
        )
            .into_response();
    };
    let etag = format!("\"{}\"", hex(&original.metadata.sha256_hash()[..16]));
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let mime = original.metadata.mimetype().to_string();
    let compressed = [("br", ".br"), ("gzip", ".gz")]
        .into_iter()
        .filter(|(enc, _)| accepts(&headers, enc))
        .find_map(|(enc, ext)| Site::get(&format!("{path}{ext}")).map(|f| (enc, f)));
    let (encoding, file) = match compressed {
        Some((enc, f)) => (Some(enc), f),
        None => (None, original),
    };
    let mut res = (
        [
            (header::CONTENT_TYPE, mime),
            // File names carry no hash, so revalidate; the ETag keeps that cheap.
            (header::CACHE_CONTROL, "no-cache".to_string()),
            (header::ETAG, etag),
            (header::VARY, "accept-encoding".to_string()),
        ],
        file.data,
    )
        .into_response();
    if let Some(enc) = encoding {
        res.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    res
}

/// True when the WASM bundle was embedded (a `cargo leptos build` ran first).
pub fn has_bundle() -> bool {
    Site::iter().any(|f| f.ends_with(".wasm"))
}
