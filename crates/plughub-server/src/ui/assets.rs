//! The UI's stylesheet, script and icon, carried by the binary. Each is served under a name that holds
//! a hash of its content (`/assets/app.1a2b3c4d5e6f.css`), so a browser may keep it for a year: a new
//! build with a changed file names it anew.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::LazyLock;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/app.js"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../assets/icon.svg"),
    },
];

/// Name → its hashed file name, and hashed file name → the asset.
struct Served {
    by_name: HashMap<&'static str, String>,
    by_file: HashMap<String, &'static Asset>,
}

static SERVED: LazyLock<Served> = LazyLock::new(|| {
    let mut by_name = HashMap::new();
    let mut by_file = HashMap::new();
    for asset in &ASSETS {
        let digest = Sha256::digest(asset.bytes);
        let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        let (stem, ext) = asset
            .name
            .rsplit_once('.')
            .expect("assets have an extension");
        let file = format!("{stem}.{hash}.{ext}");
        by_name.insert(asset.name, file.clone());
        by_file.insert(file, asset);
    }
    Served { by_name, by_file }
});

/// The URL of the asset `name` (`app.css`), for templates.
pub fn url(name: &str) -> String {
    match SERVED.by_name.get(name) {
        Some(file) => format!("/assets/{file}"),
        None => format!("/assets/{name}"),
    }
}

/// `GET /assets/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    match SERVED.by_file.get(&file) {
        Some(asset) => (
            [
                (CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
                (
                    CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            asset.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

/// `GET /favicon.ico`, which browsers ask for whatever the page says: the icon.
pub async fn favicon() -> Response {
    let icon = &ASSETS[2];
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(icon.content_type)),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        icon.bytes,
    )
        .into_response()
}
