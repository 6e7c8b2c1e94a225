//! plughub as an npm registry, read side: `GET /npm/{name}` (a package document) and
//! `GET /npm/{name}/-/{file}` (a tarball), so that `npm install --registry http://host/npm/` or
//! `@acme:registry=http://host/npm/` installs from plughub.
//!
//! A name published to plughub (any version of it in the registry's store) is served from the store only:
//! its published versions, and their tarballs; never from upstream, even when nothing of it is published
//! (404 then), so that a same-named package elsewhere cannot stand in for it. Every other name is passed
//! through from the upstream registry of the server's npm configuration, its tarball addresses rewritten
//! to come through `/npm/` as well and its tarballs streamed through within a size limit. The pass-through
//! sends none of the server's npm credentials: `/npm/` needs no sign-in, and must not hand anyone a
//! private package the operator's token can read.
//!
//! Tarball addresses in the documents are absolute, as npm wants: under the server's `--public-url`
//! when it has one (behind a proxy, set it), else `http://` and the request's Host header.

use crate::error::ApiError;
use crate::openapi::Public;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plughub_npm::{DocumentOutcome, NpmError};
use plughub_registry::npm_view;
use plughub_store::VERSION_PUBLISHED;
use serde_json::Value;
use std::sync::LazyLock;

/// The largest tarball passed through from upstream (npm's own packages stay well below).
pub const MAX_TARBALL_BYTES: u64 = 256 << 20;

/// The largest package document passed through from upstream (the biggest real ones are a few MB).
pub const MAX_DOCUMENT_BYTES: u64 = 32 << 20;

/// Pass-through requests to upstream at once, for everyone: `/npm/` needs no sign-in, and each request
/// holds upstream bandwidth and (for a document) memory. More wait their turn.
const PASS_THROUGH_AT_ONCE: usize = 16;
static PASS_THROUGH: LazyLock<std::sync::Arc<tokio::sync::Semaphore>> =
    LazyLock::new(|| std::sync::Arc::new(tokio::sync::Semaphore::new(PASS_THROUGH_AT_ONCE)));

async fn pass_through_turn() -> tokio::sync::OwnedSemaphorePermit {
    PASS_THROUGH
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed")
}

/// One answer for a name nobody can install from here, whether plughub holds it with nothing published
/// (quarantined, rejected, unpublished) or it exists nowhere: the difference is not anyone's to learn.
fn unknown_package(name: &str) -> ApiError {
    not_found(format!(
        "{name} is neither published to plughub nor on the upstream npm registry"
    ))
}

/// A scoped name the server's npm configuration sends to the scope's own registry: not passed through
/// from the default registry (where the same name may be someone else's).
fn routed_scope(state: &AppState, name: &str) -> Result<(), ApiError> {
    let scope = name
        .split_once('/')
        .map(|(s, _)| s.to_ascii_lowercase())
        .filter(|s| s.starts_with('@'));
    match scope {
        Some(scope) if state.npm_routed_scopes.contains(&scope) => Err(not_found(format!(
            "{name}: the scope {scope} has a registry of its own in this server's npm configuration, \
             which /npm/ does not pass through; ask that registry"
        ))),
        _ => Ok(()),
    }
}

/// A package name as npm takes it: `@scope/name` or `name`, URL-safe characters, no leading dot or
/// underscore. Anything else names no package (and never reaches the upstream registry: no `-/…`
/// endpoint, no path of its own).
static NAME: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^(@[A-Za-z0-9~-][A-Za-z0-9._~-]*/)?[A-Za-z0-9~-][A-Za-z0-9._~-]*$")
        .expect("a valid pattern")
});
static VERSION: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$").expect("a valid pattern")
});

/// An npm package document (packument), as npm clients read it; other fields of the upstream's pass
/// through as they are.
#[allow(dead_code)]
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct NpmDocument {
    pub name: String,
    /// Tag → version (`latest` among them).
    #[serde(rename = "dist-tags")]
    pub dist_tags: std::collections::BTreeMap<String, String>,
    /// Version → its package.json, with `dist` (`tarball` under this server's `/npm/`, `integrity`,
    /// `shasum`).
    #[schema(value_type = Object)]
    pub versions: Value,
    /// Version → when it was published; `created`, `modified`.
    #[schema(value_type = Option<Object>)]
    pub time: Option<Value>,
}

/// `GET /npm/{name}`: the package document (packument): `name`, `dist-tags`, `versions` (each a
/// package.json with its `dist`: `tarball`, `integrity`, `shasum`), `time`. Served by `serve`; this
/// function only carries the operation into the OpenAPI document.
#[allow(dead_code)]
#[utoipa::path(
    get,
    path = "/npm/{name}",
    tag = "npm",
    operation_id = "npm_document",
    summary = "A package document, as an npm registry serves it",
    description = "A package published to plughub: its published versions only (never a quarantined, \
        rejected or unpublished one), tarballs under this server's `/npm/`. It is never taken from the \
        upstream registry, even when nothing of it is published (404). Any other name: passed through from \
        the upstream npm registry of the server's npm configuration, tarball addresses rewritten to come \
        through `/npm/` too (a document over 32 MB is refused, 502; a scope the server's npm configuration \
        sends to a registry of its own is not passed through, 404). A name plughub holds with nothing \
        published gets the same 404 as an unknown name. A scoped name is one path segment (`@acme%2Fplugin-x`, as npm asks); \
        `/npm/@acme/plugin-x` is accepted too. `Accept: application/vnd.npm.install-v1+json` is answered \
        with the full document. No sign-in needed.",
    params(("name" = String, Path, description = "The package name, its scope's slash encoded", example = "@acme%2Fplugin-x")),
    security(()),
    responses(
        (status = 200, description = "The package document", body = NpmDocument, content_type = "application/json"),
        (status = 404, response = crate::openapi::NotFound),
        (status = 502, response = crate::openapi::UpstreamFailed),
        Public,
    )
)]
pub async fn document_doc() {}

/// `GET /npm/{name}/-/{file}`. Served by `serve`; this function only carries the operation into the
/// OpenAPI document.
#[allow(dead_code)]
#[utoipa::path(
    get,
    path = "/npm/{name}/-/{file}",
    tag = "npm",
    operation_id = "npm_tarball",
    summary = "A version's tarball, as an npm registry serves it",
    description = "A package published to plughub: the tarball of a published version, from plughub's \
        store (404 for any other version). Any other name: streamed through from the upstream registry \
        (at most 256 MB). `file` is `{bare name}-{version}.tgz` (`plugin-x-1.0.0.tgz` for \
        `@acme/plugin-x` 1.0.0). No sign-in needed.",
    params(
        ("name" = String, Path, description = "The package name, its scope's slash encoded", example = "@acme%2Fplugin-x"),
        ("file" = String, Path, description = "The tarball's file name", example = "plugin-x-1.0.0.tgz"),
    ),
    security(()),
    responses(
        (status = 200, description = "The tarball", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 404, response = crate::openapi::NotFound),
        (status = 502, response = crate::openapi::UpstreamFailed),
        Public,
    )
)]
pub async fn tarball_doc() {}

/// Every `/npm/…` request: a document or a tarball, by the path's shape.
pub async fn serve(
    State(state): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    // The extractor decoded `%2F`; a client may also have sent the slash as it is.
    let result = match path.split_once("/-/") {
        Some((name, file)) => tarball(&state, name, file).await,
        None => document(&state, &path, &headers).await,
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

fn not_found(what: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", what)
}

fn upstream_failed(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_GATEWAY, "upstream", message)
}

fn valid_name(name: &str) -> Result<(), ApiError> {
    if name.len() <= 214 && NAME.is_match(name) {
        Ok(())
    } else {
        Err(not_found(format!("'{name}' is not an npm package name")))
    }
}

/// Where this server's `/npm/` is, as clients reach it.
fn npm_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.public_url {
        return format!("{}/npm/", url.trim_end_matches('/'));
    }
    // Only a plain host[:port] is taken from the header: it lands in the document's URLs.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}/npm/")
}

async fn document(state: &AppState, name: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    valid_name(name)?;
    let store = state.catalog.store();
    let base = npm_base(state, headers);
    if store.registry_has_package(name).await? {
        return match npm_view::document(store, name, &base).await? {
            Some(doc) => Ok(json(doc)),
            None => Err(unknown_package(name)),
        };
    }
    routed_scope(state, name)?;
    let upstream = state.npm_upstream.as_ref().ok_or_else(|| {
        upstream_failed("this server has no upstream npm registry (set NPM_CONFIG_REGISTRY or `npm config set registry`)".into())
    })?;
    let _turn = pass_through_turn().await;
    match upstream
        .document_within(name, Some(MAX_DOCUMENT_BYTES))
        .await
    {
        DocumentOutcome::Found(doc) => Ok(json(rewrite_tarballs(*doc, name, &base))),
        DocumentOutcome::Missing => Err(unknown_package(name)),
        DocumentOutcome::Failed { reason, .. } => Err(upstream_failed(format!(
            "the upstream npm registry {} could not be read for {name}: {reason}",
            plughub_npm::without_userinfo(upstream.base())
        ))),
    }
}

fn json(doc: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
        .into_response()
}

/// Every version's `dist.tarball` pointed at this server's `/npm/`, under npm's usual file name.
fn rewrite_tarballs(mut doc: Value, name: &str, base: &str) -> Value {
    if let Some(versions) = doc.get_mut("versions").and_then(Value::as_object_mut) {
        for (version, manifest) in versions.iter_mut() {
            if let Some(dist) = manifest.get_mut("dist").and_then(Value::as_object_mut)
                && dist.contains_key("tarball")
            {
                dist.insert(
                    "tarball".into(),
                    Value::String(format!(
                        "{base}{name}/-/{}",
                        npm_view::tarball_file(name, version)
                    )),
                );
            }
        }
    }
    doc
}

async fn tarball(state: &AppState, name: &str, file: &str) -> Result<Response, ApiError> {
    valid_name(name)?;
    let version = npm_view::version_of_file(name, file)
        .filter(|v| VERSION.is_match(v))
        .ok_or_else(|| not_found(format!("{file} is not a tarball of {name}")))?;
    let store = state.catalog.store();
    if store.registry_has_package(name).await? {
        let published = store
            .registry_version(name, version)
            .await?
            .is_some_and(|v| v.status == VERSION_PUBLISHED);
        let bytes = match published {
            true => store.registry_tarball(name, version).await?,
            false => None,
        };
        return match bytes {
            Some(bytes) => Ok(tarball_response(Body::from(bytes), None)),
            None => Err(unknown_package(name)),
        };
    }
    routed_scope(state, name)?;
    let upstream = state.npm_upstream.as_ref().ok_or_else(|| {
        upstream_failed("this server has no upstream npm registry (set NPM_CONFIG_REGISTRY or `npm config set registry`)".into())
    })?;
    // Held until the tarball is passed on (it moves into the body's stream).
    let turn = pass_through_turn().await;
    // The real address is the upstream document's: registries lay tarballs out differently.
    let doc = match upstream
        .document_within(name, Some(MAX_DOCUMENT_BYTES))
        .await
    {
        DocumentOutcome::Found(doc) => doc,
        DocumentOutcome::Missing => return Err(unknown_package(name)),
        DocumentOutcome::Failed { reason, .. } => {
            return Err(upstream_failed(format!(
                "the upstream npm registry {} could not be read for {name}: {reason}",
                plughub_npm::without_userinfo(upstream.base())
            )));
        }
    };
    let url = doc
        .pointer(&format!(
            "/versions/{}/dist/tarball",
            version.replace('~', "~0").replace('/', "~1")
        ))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            not_found(format!(
                "{name}@{version} is not on the upstream npm registry"
            ))
        })?;
    // Only from the upstream registry's own host: a document cannot make this server fetch elsewhere.
    if origin(url) != origin(upstream.base()) {
        return Err(upstream_failed(format!(
            "the upstream document of {name}@{version} puts its tarball on another host ({}); it is not passed through",
            plughub_npm::without_userinfo(url)
        )));
    }
    let stream = match upstream.tarball_stream(url, MAX_TARBALL_BYTES).await {
        Ok(s) => s,
        Err(NpmError::NotFound { .. }) => {
            return Err(not_found(format!(
                "{name}@{version}: the upstream registry has no tarball"
            )));
        }
        Err(e) => {
            return Err(upstream_failed(format!(
                "the upstream npm registry failed: {e}"
            )));
        }
    };
    let length = stream.length;
    let body = futures::stream::unfold(Some((stream, turn)), |state| async move {
        let (mut stream, turn) = state?;
        match stream.chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some((stream, turn)))),
            Ok(None) => None,
            // Breaking the body off tells the client the download failed.
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
        }
    });
    Ok(tarball_response(Body::from_stream(body), length))
}

fn origin(url: &str) -> Option<(String, String, Option<u16>)> {
    let parsed = url::Url::parse(url).ok()?;
    Some((
        parsed.scheme().to_string(),
        parsed.host_str()?.to_ascii_lowercase(),
        parsed.port_or_known_default(),
    ))
}

fn tarball_response(body: Body, length: Option<u64>) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response();
    if let Some(length) = length {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, length.into());
    }
    response
}
