//! `/api/docs`: the API reference page made from the OpenAPI document. Every operation of the document is
//! on it (its method and path, under its anchor), every named schema has its section, and it is public.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use plughub_catalog::Catalog;
use plughub_server::{AppState, router};
use plughub_testkit::{TestBackend, TestStore};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

/// The document and the page, from one server, asked without signing in.
async fn document_and_page() -> (Value, String, Option<String>) {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let app = router(AppState::new(
        Arc::new(Catalog::open(t.store.clone()).await.unwrap()),
        plughub_accounts::Accounts::new(t.store.clone()),
        None,
    ));
    let get = |path: &'static str| {
        let app = app.clone();
        async move {
            let response = app
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let csp = response
                .headers()
                .get(header::CONTENT_SECURITY_POLICY)
                .map(|v| v.to_str().unwrap().to_string());
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (String::from_utf8(bytes.to_vec()).unwrap(), csp)
        }
    };
    let (doc, _) = get("/api/openapi.json").await;
    let (page, csp) = get("/api/docs").await;
    t.cleanup().await;
    (serde_json::from_str(&doc).unwrap(), page, csp)
}

/// What the page escapes in text: `&`, `<`, `>`, quotes (minijinja's HTML escaping).
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

#[tokio::test]
async fn every_operation_of_the_document_is_on_the_page() {
    let (doc, page, csp) = document_and_page().await;
    assert!(
        csp.as_deref()
            .is_some_and(|c| c.contains("script-src 'self'")),
        "the page has the CSP: {csp:?}"
    );
    assert!(
        page.contains("href=\"/api/openapi.json\""),
        "links the JSON document"
    );
    let mut count = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !op.is_object() || method == "parameters" {
                continue;
            }
            count += 1;
            let id = op["operationId"].as_str().unwrap();
            let anchor = format!("id=\"op-{id}\"");
            let at = page
                .find(&anchor)
                .unwrap_or_else(|| panic!("{method} {path}: no {anchor} on the page"));
            // The heading under the anchor names the method and the path.
            let heading = &page[at..at + page[at..].find("</h3>").unwrap()];
            let upper = method.to_ascii_uppercase();
            assert!(
                heading.contains(&format!(">{upper}</span>")),
                "{method} {path}: {heading}"
            );
            let shown = escaped(path);
            assert!(
                heading.contains(&format!("<code>{shown}</code>"))
                    || heading.contains(&format!("<code>{path}</code>")),
                "{method} {path}: {heading}"
            );
            // And the contents link to it.
            assert!(
                page.contains(&format!("href=\"#op-{id}\"")),
                "{method} {path} is in the contents"
            );
            // Every answer's status is listed for it.
            let end = page[at..].find("</article>").map(|e| at + e).unwrap();
            let section = &page[at..end];
            for status in op["responses"].as_object().unwrap().keys() {
                assert!(
                    section.contains(&format!(">{status}</span>")),
                    "{method} {path} shows its {status} answer"
                );
            }
        }
    }
    assert!(count >= 90, "the document has {count} operations");
    assert!(
        page.contains(&format!("({count} of them)")),
        "the page counts {count} operations"
    );
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(
            page.contains(&format!("id=\"schema-{name}\"")),
            "schema {name} has its section"
        );
    }
    // Answers many operations share are described once, and linked from each operation.
    for name in doc["components"]["responses"].as_object().unwrap().keys() {
        assert!(
            page.contains(&format!("id=\"response-{name}\"")),
            "shared answer {name} has its section"
        );
    }
    assert!(
        page.contains("href=\"#response-Unauthenticated\""),
        "401s link the shared answer"
    );
    // A body that refers to a named schema links to its section, and nothing on the page is inline
    // script or style (the CSP would refuse it).
    assert!(
        page.contains("href=\"#schema-Install\""),
        "the install body links its schema"
    );
    assert!(
        !page.contains("<script>") && !page.contains("style="),
        "no inline script or style"
    );
}
