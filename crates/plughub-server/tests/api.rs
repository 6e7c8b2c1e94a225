//! The catalogue API through the real router, on the real registry snapshot.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use plughub_catalog::sync::NoProgress;
use plughub_catalog::{Catalog, SyncOptions};
use plughub_server::{AppState, router};
use plughub_testkit::{TestBackend, TestStore, registry_snapshot_dir};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

async fn app() -> (axum::Router, TestStore) {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let file = registry_snapshot_dir()
        .join("generated-registry.json")
        .display()
        .to_string();
    catalog
        .sync(&SyncOptions::offline(vec![file]), &NoProgress)
        .await
        .unwrap();
    let accounts = plughub_accounts::Accounts::new(t.store.clone());
    (router(AppState::new(Arc::new(catalog), accounts, None)), t)
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, body)
}

fn assert_error_shape(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body["error"].get("details").is_some(), "{body}");
}

#[tokio::test]
async fn metrics_are_served_in_prometheus_text() {
    let (app, t) = app().await;
    let (status, _) = get(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().unwrap();
    // The request before is counted by its route's template, with its latency.
    for line in [
        "# TYPE plughub_http_requests counter",
        "plughub_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1",
        "plughub_http_request_duration_seconds_count{route=\"/healthz\",method=\"GET\",status=\"200\"} 1",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    t.cleanup().await;
}

/// `/readyz` answers 200 while the store answers with every migration applied, and 503, naming the
/// store and why, once it does not; each answer carries a request id.
#[tokio::test]
async fn readiness_names_what_is_not_ready() {
    let (app, t) = app().await;
    let response = app
        .clone()
        .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    let (_, body) = get(&app, "/readyz").await;
    assert_eq!(body["status"], "ready", "{body}");
    let names: Vec<&str> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["store", "migrations"], "{body}");
    // A proxy's request id is kept; one that could forge a log line is not.
    let response = app
        .clone()
        .oneshot(
            Request::get("/readyz")
                .header("x-request-id", "lb-42")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "lb-42");
    t.store.close().await;
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_error_shape(&body, "not_ready");
    let store = &body["error"]["details"]["checks"][0];
    assert_eq!(store["name"], "store");
    assert_eq!(store["ready"], false);
    assert!(
        store["detail"]
            .as_str()
            .unwrap()
            .contains("does not answer"),
        "{body}"
    );
    t.cleanup().await;
}

#[tokio::test]
async fn health_search_and_show() {
    let (app, t) = app().await;
    let (status, body) = get(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    // The snapshot merged with the starter the fresh store began with.
    assert!(body["plugins"].as_u64().unwrap() >= 372, "{body}");
    assert_eq!(body["catalog"]["starter_only"], false);

    let (status, body) = get(&app, "/api/plugins?q=solana&per_page=5").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["hits"][0]["name"], "@elizaos/plugin-solana");
    assert_eq!(body["per_page"], 5);
    assert!(body["total"].as_u64().unwrap() >= 5);

    // The largest page the document allows is an empty page, served at once; an integral number is
    // an integer (JSON Schema reads `2.0` as 2), as the document's generator may send it.
    let (status, body) = get(&app, "/api/plugins?page=18446744073709551615&per_page=100").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["page"].as_u64(), body["hits"].as_array().map(Vec::len)),
        (Some(u64::MAX), Some(0))
    );
    let (status, body) = get(&app, "/api/plugins?q=solana&page=1.0&per_page=2.0").await;
    assert_eq!(
        (status, body["per_page"].as_u64()),
        (StatusCode::OK, Some(2)),
        "{body}"
    );

    let (_, body) = get(
        &app,
        "/api/plugins?topic=defi&compat=v0&sort=stars&facets=true",
    )
    .await;
    for hit in body["hits"].as_array().unwrap() {
        assert!(
            hit["topics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "defi"),
            "{hit}"
        );
        assert!(hit["compat"].get("v0").is_some(), "{hit}");
    }
    assert!(body["facets"]["topic"]["defi"].as_u64().unwrap() >= 1);

    // A misspelt word: what was meant, and its plugins.
    let (status, body) = get(&app, "/api/plugins?q=twiter").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["did_you_mean"], "twitter");
    assert_eq!(body["hits"][0]["name"], "@elizaos/plugin-twitter");
    // Plugins that need no network: each one's package was read, and asks for none.
    let (status, body) = get(
        &app,
        "/api/plugins?without_permission=network.external&facets=true",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hits = body["hits"].as_array().unwrap();
    assert!(!hits.is_empty(), "{body}");
    for hit in hits.iter().take(5) {
        let name = hit["name"].as_str().unwrap();
        let (status, detail) = get(&app, &format!("/api/plugins/{name}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(detail["package"]["permissions"].is_object(), "{detail}");
        assert!(
            detail["package"]["permissions"]
                .get("network.external")
                .is_none(),
            "{detail}"
        );
    }
    assert!(
        body["facets"]["permission"]
            .get("network.external")
            .is_none(),
        "{body}"
    );
    // An empty form field leaves its filter open.
    let (status, body) = get(&app, "/api/plugins?q=solana&topic=&license=").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["hits"][0]["name"], "@elizaos/plugin-solana");

    for uri in [
        "/api/plugins/@elizaos/plugin-solana",
        "/api/plugins/%40elizaos%2Fplugin-solana",
        "/api/plugins/solana",
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(body["name"], "@elizaos/plugin-solana", "{uri}");
        assert!(body["compat"]["v0"]["status"] == "compatible", "{body}");
    }
    t.cleanup().await;
}

#[tokio::test]
async fn bad_requests_get_one_error_shape() {
    let (app, t) = app().await;
    let (status, body) = get(&app, "/api/plugins/solanna").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_shape(&body, "plugin_not_found");
    assert_eq!(
        body["error"]["details"]["suggestions"][0],
        "@elizaos/plugin-solana"
    );

    for uri in [
        "/api/plugins?compat=v9",
        "/api/plugins?sort=sideways",
        "/api/plugins?page=0",
        "/api/plugins?per_page=1000",
        "/api/plugins?page=abc",
        "/api/plugins?page=1.5",
        "/api/plugins?page=18446744073709551616",
        "/api/plugins?compat=1",
        "/api/plugins?sort=popularity",
        "/api/plugins?qq=typo",
        "/api/plugins?deprecated=maybe",
        "/api/plugins?without_permission=network",
        "/api/plugins?permission=network.everything",
        "/api/plugins?kind=actions",
        "/api/plugins?kind=",
        "/api/plugins?without_permission=network.external,",
        "/api/plugins?without_permission=%20network.external",
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_error_shape(&body, "bad_request");
    }
    let (status, body) = get(&app, "/api/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_shape(&body, "not_found");
    t.cleanup().await;
}

#[tokio::test]
async fn the_catalogue_page_lists_and_searches() {
    let (app, t) = app().await;
    let (status, body) = get(&app, "/plugins?q=openai").await;
    assert_eq!(status, StatusCode::OK);
    let html = body.as_str().unwrap();
    assert!(html.contains("@elizaos/plugin-openai"), "{html}");
    assert!(html.contains("value=\"openai\""));
    // Text from the catalogue is escaped.
    let (_, body) = get(&app, "/plugins?q=%3Cscript%3E").await;
    assert!(!body.as_str().unwrap().contains("<script>"));
    // A misspelt query offers what was meant, as a link that searches it.
    let (_, body) = get(&app, "/plugins?q=twiter+bot").await;
    let html = body.as_str().unwrap();
    assert!(
        html.contains("Did you mean <a href=\"/plugins?q=twitter+bot\">twitter bot</a>?"),
        "{html}"
    );
    t.cleanup().await;
}
