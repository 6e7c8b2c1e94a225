//! Servers on loopback for tests: an npm registry serving package documents the test builds, and a server
//! that announces more bytes than it sends (a truncated download). Nothing here listens beyond 127.0.0.1.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;

#[derive(Default)]
struct RegistryState {
    documents: Mutex<HashMap<String, Value>>,
    tarballs: Mutex<HashMap<String, Vec<u8>>>,
    /// Names whose next requests answer 503, and how many more times.
    failures: Mutex<HashMap<String, usize>>,
    /// Names answered 403, as a registry answers a name it will not serve (capitals, say).
    refused: Mutex<std::collections::HashSet<String>>,
    search: std::sync::atomic::AtomicBool,
    requests: AtomicUsize,
    /// The token every request must carry (`Authorization: Bearer …`), as a private registry asks.
    token: Mutex<Option<String>>,
    /// The Authorization header of every request, in order (none: empty).
    authorizations: Mutex<Vec<String>>,
    /// Paths (as asked) of every request, in order.
    paths: Mutex<Vec<String>>,
    /// Names answered with a redirect (302) to another URL.
    redirects: Mutex<HashMap<String, String>>,
}

/// An npm registry on loopback. Unknown names answer 404 and the search endpoint answers 404, as the
/// mirror on these machines does.
pub struct LoopbackNpm {
    pub url: String,
    state: Arc<RegistryState>,
}

impl LoopbackNpm {
    pub async fn start() -> LoopbackNpm {
        let state = Arc::new(RegistryState::default());
        let app = Router::new()
            .route("/{*name}", get(serve_document))
            .with_state(state.clone());
        let addr = spawn(app).await;
        LoopbackNpm {
            url: format!("http://{addr}/"),
            state,
        }
    }

    pub fn publish(&self, name: &str, document: Value) {
        self.state
            .documents
            .lock()
            .unwrap()
            .insert(name.to_string(), document);
    }

    /// Publishes one version with its tarball, as `npm publish` would: the document gains the version
    /// with `dist.tarball` on this server and `dist.integrity` of the bytes (or `integrity` when given, to
    /// publish a lie). `latest` moves to it.
    pub fn publish_version(&self, manifest: Value, tarball: Vec<u8>, integrity: Option<&str>) {
        let name = manifest["name"]
            .as_str()
            .expect("manifest name")
            .to_string();
        let version = manifest["version"]
            .as_str()
            .expect("manifest version")
            .to_string();
        let file = format!("-/tarballs/{}-{version}.tgz", name.replace('/', "__"));
        let sri = ssri::IntegrityOpts::new()
            .algorithm(ssri::Algorithm::Sha512)
            .chain(&tarball)
            .result()
            .to_string();
        let mut version_doc = manifest.clone();
        version_doc["dist"] = json!({ "tarball": format!("{}{file}", self.url), "integrity": integrity.unwrap_or(&sri) });
        self.state.tarballs.lock().unwrap().insert(file, tarball);
        let mut docs = self.state.documents.lock().unwrap();
        let doc = docs.entry(name.clone()).or_insert_with(
            || json!({ "name": name, "dist-tags": {}, "versions": {}, "time": {} }),
        );
        doc["versions"][&version] = version_doc;
        doc["dist-tags"]["latest"] = json!(version);
        doc["time"][&version] = json!("2026-11-01T00:00:00.000Z");
    }

    pub fn unpublish(&self, name: &str) {
        self.state.documents.lock().unwrap().remove(name);
    }

    /// The next `times` requests for `name` answer 503, as a registry under load does.
    pub fn fail_next(&self, name: &str, times: usize) {
        self.state
            .failures
            .lock()
            .unwrap()
            .insert(name.to_string(), times);
    }

    /// Every request for `name` answers 403 Forbidden, as a registry answers a name it will not serve.
    pub fn refuse(&self, name: &str) {
        self.state.refused.lock().unwrap().insert(name.to_string());
    }

    /// Offers the search endpoint: every published package matches every query.
    pub fn enable_search(&self) {
        self.state.search.store(true, Ordering::SeqCst);
    }

    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// From now on every request without `Authorization: Bearer <token>` answers 401, as a private
    /// registry does.
    pub fn require_token(&self, token: &str) {
        *self.state.token.lock().unwrap() = Some(token.to_string());
    }

    /// Requests for `name` answer 302 to `to`, as a registry sending clients to a CDN does.
    pub fn redirect(&self, name: &str, to: &str) {
        self.state
            .redirects
            .lock()
            .unwrap()
            .insert(name.to_string(), to.to_string());
    }

    /// The Authorization header each request carried, in order ("" for none).
    pub fn authorizations(&self) -> Vec<String> {
        self.state.authorizations.lock().unwrap().clone()
    }

    /// The path of each request, in order (the package name or tarball as asked).
    pub fn paths(&self) -> Vec<String> {
        self.state.paths.lock().unwrap().clone()
    }
}

async fn serve_document(
    State(state): State<Arc<RegistryState>>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    state
        .authorizations
        .lock()
        .unwrap()
        .push(authorization.clone());
    state.paths.lock().unwrap().push(name.clone());
    if let Some(token) = state.token.lock().unwrap().as_deref()
        && authorization != format!("Bearer {token}")
    {
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Bearer")],
            axum::Json(json!({ "error": "authentication required" })),
        )
            .into_response();
    }
    // npm clients encode the scope's slash; the path extractor has already decoded it.
    let name = name.replace("%2f", "/").replace("%2F", "/");
    if let Some(to) = state.redirects.lock().unwrap().get(&name) {
        return (StatusCode::FOUND, [("location", to.clone())]).into_response();
    }
    if name == "-/v1/search" && state.search.load(Ordering::SeqCst) {
        let docs = state.documents.lock().unwrap();
        let objects: Vec<Value> = docs
            .keys()
            .map(|n| json!({ "package": { "name": n } }))
            .collect();
        return axum::Json(json!({ "objects": objects, "total": objects.len() })).into_response();
    }
    if name.starts_with("-/tarballs/") {
        return match state.tarballs.lock().unwrap().get(&name) {
            Some(bytes) => (
                [("content-type", "application/octet-stream")],
                bytes.clone(),
            )
                .into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    if state.refused.lock().unwrap().contains(&name) {
        return (StatusCode::FORBIDDEN, "forbidden").into_response();
    }
    if let Some(left) = state.failures.lock().unwrap().get_mut(&name)
        && *left > 0
    {
        *left -= 1;
        return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
    }
    match state.documents.lock().unwrap().get(&name) {
        Some(doc) => axum::Json(doc.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": "Not found" })),
        )
            .into_response(),
    }
}

/// A package document as npm serves it, with one version per `(version, core range)`.
pub fn packument(name: &str, description: &str, versions: &[(&str, &str)]) -> Value {
    let mut docs = serde_json::Map::new();
    let mut times = serde_json::Map::new();
    for (i, (version, core)) in versions.iter().enumerate() {
        docs.insert(
            version.to_string(),
            json!({
                "name": name, "version": version, "description": description, "license": "MIT",
                "keywords": ["elizaos", "elizaos-plugins"],
                "dependencies": { "@elizaos/core": core },
                "agentConfig": { "pluginType": "elizaos:plugin:1.0.0", "pluginParameters": {
                    "EXAMPLE_API_KEY": { "type": "string", "description": "key", "required": true, "sensitive": true } } }
            }),
        );
        times.insert(
            version.to_string(),
            json!(format!("2026-0{}-01T00:00:00.000Z", i % 9 + 1)),
        );
    }
    times.insert("modified".into(), json!("2026-10-01T00:00:00.000Z"));
    let latest = versions.last().map(|v| v.0).unwrap_or("0.0.0");
    json!({
        "name": name, "dist-tags": { "latest": latest }, "versions": docs, "time": times,
        "maintainers": [{ "name": "tester" }], "readme": format!("# {name}\n\n{description}\n")
    })
}

/// Serves `body` at any path but announces `announced` bytes: a download cut short.
pub async fn truncating_server(body: Vec<u8>, announced: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {announced}\r\nconnection: close\r\n\r\n"
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}/generated-registry.json")
}

/// A loopback address where nothing listens (bound, then freed).
pub fn closed_port_url(path: &str) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/{path}")
}

async fn spawn(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    addr
}
