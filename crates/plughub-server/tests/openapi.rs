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
const ROUTES: [(&str, &str); 113] = [
    ("get", "/api/me"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/logout"),
    ("put", "/api/me/password"),
    ("get", "/api/me/tokens"),
    ("post", "/api/me/tokens"),
    ("delete", "/api/me/tokens/{id}"),
    ("get", "/api/orgs/{org}/members"),
    ("put", "/api/orgs/{org}/members/{email}"),
    ("delete", "/api/orgs/{org}/members/{email}"),
    ("get", "/api/orgs/{org}/invitations"),
    ("post", "/api/orgs/{org}/invitations"),
    ("delete", "/api/orgs/{org}/invitations/{id}"),
    ("get", "/api/invitations/{secret}"),
    ("post", "/api/invitations/{secret}/accept"),
    ("get", "/api/admin/orgs"),
    ("post", "/api/admin/orgs"),
    ("put", "/api/admin/orgs/{org}/plan"),
    ("get", "/api/admin/people"),
    ("post", "/api/admin/people"),
    ("put", "/api/admin/people/{email}/roles/{org}"),
    ("delete", "/api/admin/people/{email}/roles/{org}"),
    ("get", "/api/admin/tokens"),
    ("post", "/api/admin/tokens"),
    ("delete", "/api/admin/tokens/{id}"),
    ("post", "/api/admin/catalog/sync"),
    ("get", "/api/plugins"),
    ("get", "/api/plugins/{name}"),
    ("get", "/api/catalog/status"),
    ("get", "/api/catalog/compatibility"),
    ("get", "/api/reviews"),
    ("put", "/api/reviews/mine"),
    ("delete", "/api/reviews/mine"),
    ("get", "/api/reviews/{id}/history"),
    ("put", "/api/reviews/{id}/vote"),
    ("delete", "/api/reviews/{id}/vote"),
    ("put", "/api/reviews/{id}/response"),
    ("post", "/api/reviews/{id}/reports"),
    ("get", "/api/admin/reviews"),
    ("post", "/api/admin/reviews/{id}/hide"),
    ("post", "/api/admin/reviews/{id}/restore"),
    ("put", "/api/admin/reviewers/{email}/ban"),
    ("delete", "/api/admin/reviewers/{email}/ban"),
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
    ("post", "/api/orgs/{org}/plugins/{plugin}/resume"),
    ("get", "/api/orgs/{org}/agents"),
    ("post", "/api/orgs/{org}/agents"),
    ("get", "/api/orgs/{org}/agents/{agent}/components"),
    ("put", "/api/orgs/{org}/agents/{agent}/models"),
    ("get", "/api/orgs/{org}/agents/{agent}/run"),
    ("get", "/api/orgs/{org}/events"),
    ("get", "/api/orgs/{org}/executions"),
    ("get", "/api/orgs/{org}/executions/live"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/orgs/{org}/export"),
    ("delete", "/api/orgs/{org}"),
    ("get", "/metrics"),
    ("get", "/api/orgs/{org}/analytics"),
    ("get", "/api/admin/analytics"),
    ("get", "/api/reputation/{name}"),
    ("get", "/api/publishers/{publisher}/analytics"),
    ("get", "/api/publishers"),
    ("get", "/api/publishers/{publisher}"),
    ("post", "/api/publishers/{publisher}/claims"),
    ("get", "/api/admin/publisher-claims"),
    ("post", "/api/admin/publisher-claims/{id}/grant"),
    ("post", "/api/admin/publisher-claims/{id}/refuse"),
    ("put", "/api/admin/publishers/{publisher}/verification"),
    ("delete", "/api/admin/publishers/{publisher}/verification"),
    ("get", "/api/collections"),
    ("get", "/api/collections/{slug}"),
    ("put", "/api/admin/collections/{slug}"),
    ("delete", "/api/admin/collections/{slug}"),
    ("get", "/api/compare"),
    ("put", "/api/admin/deprecations"),
    ("delete", "/api/admin/deprecations"),
    ("get", "/api/me/notifications"),
    ("post", "/api/me/notifications/read"),
    ("get", "/api/orgs/{org}/webhooks"),
    ("post", "/api/orgs/{org}/webhooks"),
    ("delete", "/api/orgs/{org}/webhooks/{id}"),
    ("get", "/api/orgs/{org}/webhooks/{id}/deliveries"),
    ("get", "/api/orgs/{org}/plugins/{plugin}/changelog"),
    ("post", "/api/admin/updates/check"),
    ("get", "/npm/{name}"),
    ("get", "/npm/{name}/-/{file}"),
    ("put", "/api/registry/packages/{name}"),
    ("get", "/api/registry/packages/{name}"),
    ("delete", "/api/registry/packages/{name}/versions/{version}"),
    ("put", "/api/registry/packages/{name}/dist-tags/{tag}"),
    ("delete", "/api/registry/packages/{name}/dist-tags/{tag}"),
    ("post", "/api/me/publish-tokens"),
    ("get", "/api/me/publish-tokens"),
    ("delete", "/api/me/publish-tokens/{id}"),
    ("get", "/api/admin/registry/quarantine"),
    (
        "post",
        "/api/admin/registry/packages/{name}/versions/{version}/release",
    ),
    (
        "post",
        "/api/admin/registry/packages/{name}/versions/{version}/reject",
    ),
    ("get", "/api/admin/registry/blocklist"),
    ("post", "/api/admin/registry/blocklist"),
    ("delete", "/api/admin/registry/blocklist/{sha512}"),
    ("put", "/api/admin/registry/namespaces/{namespace}/decision"),
];

async fn document() -> Value {
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
    t.cleanup().await;
    serde_json::from_slice(&bytes).unwrap()
}

/// Every operation of the document, with its method and path.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            out.push((method.clone(), path.clone(), operation));
        }
    }
    out
}

#[tokio::test]
async fn the_document_lists_every_route() {
    let doc = document().await;
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
        if path.contains("{org}") || path.starts_with("/api/admin/") {
            if path.contains("{org}") {
                let params = operation["parameters"].to_string();
                assert!(params.contains("\"org\""), "{method} {path}: {params}");
            }
            let responses = operation["responses"].as_object().unwrap();
            for status in ["401", "403", "429"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} documents {status}"
                );
            }
        }
        // A change with the session cookie passes the CSRF check or is refused with 403 (checked for
        // reviews; older operations such as `POST /api/me/tokens` do not list it yet).
        let responses = operation["responses"].as_object().unwrap();
        if method != "get" && path.starts_with("/api/reviews") && responses.contains_key("401") {
            assert!(
                responses.contains_key("403"),
                "{method} {path} documents 403 (the CSRF check of a session)"
            );
        }
        if path.contains("{org}") && !path.starts_with("/api/admin/") {
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("404"),
                "{method} {path} documents 404"
            );
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
    assert_eq!(
        login["$ref"], "#/components/responses/TooManyRequests",
        "{login}"
    );
    let throttled = &doc["components"]["responses"]["TooManyRequests"];
    assert!(
        throttled["headers"]["Retry-After"].is_object(),
        "{throttled}"
    );
    // An open circuit answers 503 with Retry-After too.
    let run = &paths["/api/orgs/{org}/plugins/{plugin}/run"]["post"]["responses"];
    assert_eq!(run["503"]["$ref"], "#/components/responses/Unavailable");
    let unavailable = &doc["components"]["responses"]["Unavailable"];
    assert!(
        unavailable["headers"]["Retry-After"].is_object(),
        "{unavailable}"
    );
    // Request bodies carry their fields; query parameters are listed.
    let install = &paths["/api/orgs/{org}/plugins"]["post"]["requestBody"];
    assert!(install.to_string().contains("Install"), "{install}");
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(schemas["Install"]["properties"]["plugin"].is_object());
    assert!(schemas["ErrorBody"]["properties"]["error"].is_object());
    let search = paths["/api/plugins"]["get"]["parameters"].to_string();
    for q in [
        "q",
        "topic",
        "compat",
        "sort",
        "page",
        "per_page",
        "min_rating",
    ] {
        assert!(search.contains(&format!("\"{q}\"")), "{q}: {search}");
    }
}

/// Every `$ref` names something the document defines: a generator skips what it cannot resolve.
#[tokio::test]
async fn every_reference_resolves() {
    let doc = document().await;
    fn walk(value: &Value, doc: &Value, seen: &mut usize) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    let pointer = target.strip_prefix('#').expect("a local reference");
                    assert!(doc.pointer(pointer).is_some(), "{target} is not defined");
                    *seen += 1;
                }
                map.values().for_each(|v| walk(v, doc, seen));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, doc, seen)),
            _ => {}
        }
    }
    let mut seen = 0;
    walk(&doc, &doc, &mut seen);
    assert!(seen > 100, "{seen} references");
}

/// Every answer an operation gives is in the document: a typed body for each success, and each error
/// as a reference to one shared definition with the one error body.
#[tokio::test]
async fn every_answer_is_typed_and_errors_are_shared() {
    let doc = document().await;
    let shared = doc["components"]["responses"].as_object().unwrap();
    for (name, response) in shared {
        assert_eq!(
            response["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "{name}"
        );
    }
    assert!(
        shared["TooManyRequests"]["headers"]["Retry-After"].is_object(),
        "a 429 says when to try again"
    );
    for (method, path, operation) in operations(&doc) {
        let responses = operation["responses"].as_object().unwrap();
        for (status, response) in responses {
            if status == "101" {
                // A WebSocket's handshake: what follows are its frames, not a body.
                assert!(
                    path.ends_with("/run") && method == "get",
                    "{method} {path} 101"
                );
                assert!(responses.contains_key("426"), "{method} {path} says 426");
            } else if status.starts_with('2') {
                let content = response["content"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{method} {path} {status} has a body"));
                for (media, body) in content {
                    let schema = &body["schema"];
                    let typed = schema.get("$ref").is_some()
                        || schema.get("type").is_some_and(|t| t != "object")
                        || schema.get("items").is_some();
                    assert!(typed, "{method} {path} {status} {media}: {schema}");
                }
            } else {
                let target = response["$ref"].as_str().unwrap_or_else(|| {
                    panic!("{method} {path} {status} refers to a shared response: {response}")
                });
                assert!(target.starts_with("#/components/responses/"), "{target}");
            }
        }
        // Whatever refuses a body, a query or a caller says so in the document.
        let mut needed = Vec::new();
        if operation.get("requestBody").is_some() {
            needed.extend(["400", "413", "415", "422"]);
        }
        let public = operation["security"] == serde_json::json!([{}]);
        if !public {
            needed.extend(["401", "429"]);
        }
        if operation["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"))
        {
            needed.push("400");
        }
        for status in needed {
            assert!(
                responses.contains_key(status),
                "{method} {path} documents {status}"
            );
        }
    }
    // Signing in is public, and may be refused or throttled.
    let login = &doc["paths"]["/api/auth/login"]["post"];
    assert_eq!(login["security"], serde_json::json!([{}]));
    for status in ["401", "429"] {
        assert!(login["responses"].get(status).is_some(), "{status}");
    }
    assert!(doc["components"]["securitySchemes"]["token"].is_object());
    assert!(doc["components"]["securitySchemes"]["session"].is_object());
}

/// What the handlers accept, the document says: bounds, patterns, one of three.
#[tokio::test]
async fn constraints_are_in_the_document() {
    let doc = document().await;
    let param = |path: &str, name: &str| -> Value {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} {name}"))["schema"]
            .clone()
    };
    for (path, most) in [
        ("/api/plugins", 100),
        ("/api/orgs/{org}/events", 200),
        ("/api/orgs/{org}/executions", 200),
    ] {
        assert_eq!(param(path, "page")["minimum"], 1, "{path}");
        assert_eq!(param(path, "page")["maximum"], u64::MAX, "{path}");
        assert_eq!(param(path, "per_page")["minimum"], 1, "{path}");
        assert_eq!(param(path, "per_page")["maximum"], most, "{path}");
    }
    assert_eq!(
        param("/api/plugins", "sort")["enum"],
        serde_json::json!(["relevance", "stars", "downloads", "updated", "rating"])
    );
    assert_eq!(
        param("/api/plugins", "deprecated")["enum"],
        serde_json::json!(["true", "false", "any"])
    );
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["Install"]["properties"]["plugin"]["pattern"].is_string());
    assert!(schemas["NewAgent"]["properties"]["name"]["pattern"].is_string());
    assert!(schemas["Named"]["properties"]["domains"]["items"]["pattern"].is_string());
    assert!(schemas["Named"]["properties"]["programs"]["items"]["pattern"].is_string());
    let grantable = schemas["Grantable"]["enum"].to_string();
    assert!(grantable.contains("native.addons"), "{grantable}");
    let permissions = &schemas["Permissions"]["properties"];
    assert!(permissions["native.addons"].is_object() && permissions["process.spawn"].is_object());
    assert_eq!(schemas["Install"]["additionalProperties"], false);
    let one_of = schemas["Run"]["allOf"][1]["oneOf"].as_array().unwrap();
    assert_eq!(one_of.len(), 3);
    assert_eq!(
        schemas["EventType"]["enum"][0], "plugin_discovered",
        "the names the API writes"
    );
    assert_eq!(schemas["Role"]["enum"][1], "org_owner");
}

/// From who one is to one's organisations, and from a list of plugins to each: links a client (or a
/// generator) follows.
#[tokio::test]
async fn links_lead_from_names_to_operations() {
    let doc = document().await;
    let me = &doc["paths"]["/api/me"]["get"]["responses"]["200"]["links"];
    assert_eq!(
        me["list_installed"]["parameters"]["org"],
        "$response.body#/memberships/0/group"
    );
    let listed = &doc["paths"]["/api/orgs/{org}/plugins"]["get"]["responses"]["200"]["links"];
    for target in ["run_plugin", "configure_plugin", "uninstall_plugin"] {
        assert_eq!(
            listed[target]["parameters"]["plugin"], "$response.body#/plugins/0/plugin",
            "{target}"
        );
    }
    let ids: Vec<&str> = operations(&doc)
        .iter()
        .map(|(_, _, o)| o["operationId"].as_str().unwrap())
        .collect();
    for (_, _, operation) in operations(&doc) {
        for response in operation["responses"].as_object().unwrap().values() {
            for link in response["links"]
                .as_object()
                .into_iter()
                .flat_map(|l| l.values())
            {
                let target = link["operationId"].as_str().unwrap();
                assert!(ids.contains(&target), "a link to {target}");
            }
        }
    }
}
