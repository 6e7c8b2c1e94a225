//! What the server's tests share: a node (the router over a store, with its own package folder and
//! keys, as one server machine has), people with tokens, and requests.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use plughub_domain::Role;
use plughub_server::{AppState, Lifecycle, router};
use plughub_store::Store;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

/// One plughub server: its router, and its runner to look inside.
pub struct Node {
    pub app: axum::Router,
    pub runner: plughub_runner::Runner,
    pub catalog: Arc<Catalog>,
    state: AppState,
}

impl Node {
    /// A server on `store`, installing from the npm registry at `npm`, keeping its packages under `dir`;
    /// `keys` is the key ring file, which nodes sharing a store share too.
    pub async fn start(
        store: Store,
        npm: &str,
        dir: &Path,
        keys: &Path,
        policy: plughub_domain::execution_policy::ExecutionPolicy,
    ) -> Node {
        Node::start_with_egress(store, npm, dir, keys, policy, Default::default()).await
    }

    /// As `start`, the egress proxy's figures given (addresses an operator trusts, such as a test's
    /// loopback server).
    pub async fn start_with_egress(
        store: Store,
        npm: &str,
        dir: &Path,
        keys: &Path,
        policy: plughub_domain::execution_policy::ExecutionPolicy,
        egress: plughub_engine::EgressPolicy,
    ) -> Node {
        let packages = dir.join("packages");
        let catalog = Arc::new(Catalog::open(store.clone()).await.unwrap());
        let mut installer = plughub_lifecycle::Installer::open(store.clone(), &packages, npm)
            .await
            .unwrap();
        // As `plughub serve` wires it: installs through the API resolve names with the served catalogue.
        installer.set_catalogue(catalog.clone());
        // Share the pnpm other tests installed, when there is one.
        let shared_tools = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tools");
        std::fs::create_dir_all(&packages).unwrap();
        if shared_tools.exists() && !packages.join("tools").exists() {
            std::os::unix::fs::symlink(&shared_tools, packages.join("tools")).unwrap();
        }
        let keys = plughub_secrets::KeyRing::load_or_create(keys).unwrap();
        let runner = plughub_runner::Runner::new(
            installer,
            keys,
            plughub_runner::RunnerConfig {
                node: std::env::var_os("PLUGHUB_NODE").map_or_else(|| "node".into(), Into::into),
                run_dir: dir.join("run"),
                policy,
                sandbox: Some(Default::default()),
                egress,
            },
        );
        let state = AppState::new(
            catalog.clone(),
            Accounts::new(store),
            Some(Lifecycle {
                runner: runner.clone(),
            }),
        );
        Node {
            app: router(state.clone()),
            runner,
            catalog,
            state,
        }
    }

    /// The same server under other access settings (a shorter stream re-check, trusted proxies).
    pub fn with_access(mut self, access: plughub_server::Access) -> Node {
        self.state.access = access;
        self.app = router(self.state.clone());
        self
    }

    /// The same server telling of events with `notifier` (its webhook policy and retries).
    pub fn with_notifier(mut self, notifier: plughub_notify::Notifier) -> Node {
        self.state = self.state.clone().with_notifier(notifier);
        self.app = router(self.state.clone());
        self
    }

    /// The server's notifier, to run a round at once instead of waiting for the next.
    pub fn notifier(&self) -> &plughub_notify::Notifier {
        &self.state.notifier
    }

    /// Serves the node on a free port of loopback, as `plughub serve` does, until the test ends; its
    /// address (`127.0.0.1:PORT`). For what the in-process router cannot carry (a WebSocket).
    pub async fn listen(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = self.state.clone();
        tokio::spawn(plughub_server::serve(
            listener,
            state,
            std::future::pending(),
            std::time::Duration::from_secs(5),
        ));
        address
    }

    /// The server's accounts (its token checks are cached here, as on a real server).
    pub fn accounts(&self) -> &Accounts {
        &self.state.accounts
    }

    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let response = self.request(method, uri, token, body, None).await;
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn request(
        &self,
        method: &str,
        uri: &str,
        token: &str,
        body: Option<Value>,
        accept: Option<&str>,
    ) -> axum::response::Response {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        let request = request
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        self.app.clone().oneshot(request).await.unwrap()
    }
}

/// A person with `role` in `org` (created if need be) and a fresh token of theirs.
pub async fn person_with_token(store: &Store, email: &str, org: &str, role: Role) -> String {
    let accounts = Accounts::new(store.clone());
    if accounts
        .create_person(email, "", None, "test")
        .await
        .is_err()
    {
        // Made already (by another node of the same store).
    }
    accounts.set_role(email, org, role, "test").await.unwrap();
    accounts
        .create_token(email, "t", 1, "test")
        .await
        .unwrap()
        .1
}

/// Server-sent events from a body, as (event, data) pairs, read until `until` says stop or the body ends.
pub async fn read_events(
    body: Body,
    mut until: impl FnMut(&str, &Value) -> bool,
) -> Vec<(String, Value)> {
    let mut body = body;
    let mut buffer = String::new();
    let mut events = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.unwrap();
        let Some(data) = frame.data_ref() else {
            continue;
        };
        buffer.push_str(std::str::from_utf8(data).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut name = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            if data.is_empty() {
                continue; // a keep-alive comment
            }
            let value: Value = serde_json::from_str(&data).unwrap_or(Value::String(data));
            let stop = until(&name, &value);
            events.push((name, value));
            if stop {
                return events;
            }
        }
    }
    events
}

/// The server's `/metrics` text.
pub async fn metrics_text(node: &Node) -> String {
    let response = node.request("GET", "/metrics", "", None, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The sum of the samples of `name` whose labels include every one of `labels` (0 when none has).
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples(text)
        .filter(|(n, set, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| set.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, value)| value)
        .sum()
}

/// Every sample of a Prometheus text exposition: its name, labels and value.
pub fn samples(
    text: &str,
) -> impl Iterator<Item = (String, std::collections::BTreeMap<String, String>, f64)> + '_ {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            // Label values here never hold a comma or a quote (plugin names, route templates, words).
            let labels = labels
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').expect("label=value");
                    (k.to_string(), v.trim_matches('"').to_string())
                })
                .collect();
            (name.to_string(), labels, value.parse().expect("a number"))
        })
}
