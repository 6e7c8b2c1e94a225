//! The OpenAPI document at /api/openapi.json: generated from the handlers, it lists every route the API
//! serves with its method, its parameters and its error shape.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use plughub_catalog::Catalog;
use plughub_server::{AppState, router};
use plughub_testkit::{TestBackend, TestStore};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

/// Every route of the API, as a client sees it.
const ROUTES: [(&str, &str); 25] = [
    ("get", "/api/me"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/logout"),
    ("get", "/api/plugins"),
    ("get", "/api/plugins/{name}"),
    ("get", "/api/catalog/status"),
    ("get", "/api/orgs/{org}/plugins"),
    ("post", "/api/orgs/{org}/plugins"),
    ("delete", "/api/orgs/{org}/plugins/{plugin}"),
    ("put", "/api/orgs/{org}/plugins/{plugin}/config"),
    ("post", "/api/orgs/{org}/plugins/{plugin}/run"),
    ("get", "/api/orgs/{org}/plugins/{plugin}/permissions"),
    ("post", "/api/orgs/{org}/plugins/{plugin}/permissions"),
    ("delete", "/api/orgs/{org}/plugins/{plugin}/permissions"),
    ("post", "/api/orgs/{org}/plugins/{plugin}/activate"),
    ("post", "/api/orgs/{org}/plugins/{plugin}/deactivate"),
    ("post", "/api/orgs/{org}/plugins/{plugin}/update"),
    ("post", "/api/orgs/{org}/plugins/{plugin}/rollback"),
    ("get", "/api/orgs/{org}/agents"),
    ("post", "/api/orgs/{org}/agents"),
    ("get", "/api/orgs/{org}/events"),
    ("get", "/api/orgs/{org}/executions"),
    ("get", "/api/orgs/{org}/executions/live"),
    ("get", "/healthz"),
    ("get", "/metrics"),
];

#[tokio::test]
async fn the_document_lists_every_route() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let app = router(AppState::new(
        Arc::new(Catalog::open(t.store.clone()).await.unwrap()),
        plughub_accounts::Accounts::new(t.store.clone()),
        None,
    ));
    let response = app
        .oneshot(
            Request::get("/api/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let listed: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        listed,
        ROUTES.len(),
        "no route more or less than the API serves"
    );
    for (method, path) in ROUTES {
        let operation = &paths[path][method];
        assert!(operation.is_object(), "{method} {path} is documented");
        if path.contains("{org}") {
            let params = operation["parameters"].to_string();
            assert!(params.contains("\"org\""), "{method} {path}: {params}");
            let responses = operation["responses"].as_object().unwrap();
            for status in ["401", "403", "404", "429"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} documents {status}"
                );
            }
        }
    }
    let mut ids: Vec<&str> = paths
        .values()
        .flat_map(|p| p.as_object().unwrap().values())
        .map(|o| o["operationId"].as_str().unwrap())
        .collect();
    ids.sort();
    let count = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids are unique: {ids:?}");
    // Failed sign-ins wait: 429 with Retry-After wherever a credential is checked.
    let login = &paths["/api/auth/login"]["post"]["responses"]["429"];
    assert!(login["headers"]["Retry-After"].is_object(), "{login}");
    // Request bodies carry their fields; query parameters are listed.
    let install = &paths["/api/orgs/{org}/plugins"]["post"]["requestBody"];
    assert!(install.to_string().contains("Install"), "{install}");
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(schemas["Install"]["properties"]["plugin"].is_object());
    assert!(schemas["ErrorBody"]["properties"]["error"].is_object());
    let search = paths["/api/plugins"]["get"]["parameters"].to_string();
    for q in ["q", "topic", "compat", "sort", "page", "per_page"] {
        assert!(search.contains(&format!("\"{q}\"")), "{q}: {search}");
    }
}
