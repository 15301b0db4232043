//! The console's own stylesheet, script and icon, embedded in the binary at build time. Their
//! URLs carry a hash of their content, so browsers keep them until they change.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// (file name, content type, content).
const FILES: &[(&str, &str, &str)] = &[
    ("console.css", "text/css; charset=utf-8", include_str!("assets/console.css")),
    ("console.js", "text/javascript; charset=utf-8", include_str!("assets/console.js")),
    ("favicon.svg", "image/svg+xml", include_str!("assets/favicon.svg")),
];

fn versions() -> &'static Vec<String> {
    static VERSIONS: OnceLock<Vec<String>> = OnceLock::new();
    VERSIONS.get_or_init(|| {
        FILES
            .iter()
            .map(|(_, _, content)| hex::encode(&Sha256::digest(content.as_bytes())[..6]))
            .collect()
    })
}

/// The URL of an asset, with its content's version.
pub(crate) fn url(name: &str) -> String {
    match FILES.iter().position(|(file, ..)| *file == name) {
        Some(i) => format!("/assets/{name}?v={}", versions()[i]),
        None => format!("/assets/{name}"),
    }
}

/// `GET /assets/{file}`.
pub(crate) async fn serve(Path(file): Path<String>) -> Response {
    let Some((_, content_type, content)) = FILES.iter().find(|(name, ..)| *name == file) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut response = (*content).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The URL changes with the content (`?v=`), so a year is safe.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
