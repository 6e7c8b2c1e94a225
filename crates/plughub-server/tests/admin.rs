//! The platform's administration through the real router: organisations and their plans, people and
//! their roles (the last owner kept), every token, and catalogue syncs started in the background, one
//! at a time.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use plughub_accounts::Accounts;
use plughub_catalog::{Catalog, SyncOptions};
use plughub_domain::{EventType, Plan, Role};
use plughub_server::{AppState, router};
use plughub_store::EventFilter;
use plughub_testkit::{TestBackend, TestStore, registry_snapshot_dir};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

struct World {
    t: TestStore,
    app: axum::Router,
    /// The platform owner's token.
    admin: String,
    /// Acme's org_owner's.
    owner: String,
}

async fn world(sync: Option<SyncOptions>) -> World {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let accounts = Accounts::new(t.store.clone());
    accounts.first_start("test").await.unwrap();
    accounts
        .create_org("acme", Plan::Pro, None, "test")
        .await
        .unwrap();
    accounts
        .create_person("ada@acme.test", "Ada", None, "test")
        .await
        .unwrap();
    accounts
        .set_role("ada@acme.test", "acme", Role::OrgOwner, "test")
        .await
        .unwrap();
    let owner = accounts
        .create_token("ada@acme.test", "t", 1, "test")
        .await
        .unwrap()
        .1;
    let admin = accounts
        .create_token("owner@plughub.local", "t", 1, "test")
        .await
        .unwrap()
        .1;
    let mut state = AppState::new(
        Arc::new(Catalog::open(t.store.clone()).await.unwrap()),
        accounts,
        None,
    );
    if let Some(options) = sync {
        state = state.with_catalog_sync(options);
    }
    World {
        app: router(state),
        t,
        admin,
        owner,
    }
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn organisations_are_made_and_their_plans_changed() {
    let w = world(None).await;
    let app = &w.app;
    let (status, list) = call(app, "GET", "/api/admin/orgs", &w.admin, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let acme = list["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "acme")
        .unwrap()
        .clone();
    assert_eq!(
        (
            acme["plan"].as_str(),
            acme["members"].as_i64(),
            acme["plugins"].as_i64()
        ),
        (Some("pro"), Some(1), Some(0)),
        "{acme}"
    );

    let (status, made) = call(
        app,
        "POST",
        "/api/admin/orgs",
        &w.admin,
        Some(json!({ "name": "initech", "plan": "free", "parent": "acme" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(
        (made["name"].as_str(), made["plan"].as_str()),
        (Some("initech"), Some("free"))
    );
    assert!(made["parent_id"].is_string());
    let (status, body) = call(
        app,
        "POST",
        "/api/admin/orgs",
        &w.admin,
        Some(json!({ "name": "initech", "plan": "pro" })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "{body}"
    );
    let (status, body) = call(
        app,
        "POST",
        "/api/admin/orgs",
        &w.admin,
        Some(json!({ "name": "x", "plan": "pro", "parent": "nowhere" })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "org_not_found"),
        "{body}"
    );
    assert!(w.t.store.group_by_name("x").await.unwrap().is_none());
    for bad in [
        json!({ "name": "a b", "plan": "pro" }),
        json!({ "name": "y", "plan": "gold" }),
    ] {
        let (status, body) =
            call(app, "POST", "/api/admin/orgs", &w.admin, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }

    // A plan changed is seen at once by this server's lookups, and recorded.
    assert_eq!(
        w.t.store.group_by_name("acme").await.unwrap().unwrap().plan,
        Plan::Pro
    );
    let (status, changed) = call(
        app,
        "PUT",
        "/api/admin/orgs/acme/plan",
        &w.admin,
        Some(json!({ "plan": "enterprise" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["plan"], "enterprise");
    assert_eq!(
        w.t.store.group_by_name("acme").await.unwrap().unwrap().plan,
        Plan::Enterprise
    );
    let events =
        w.t.store
            .events(&EventFilter {
                event_type: Some(EventType::PlanChanged),
                ..Default::default()
            })
            .await
            .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, "owner@plughub.local");
    assert_eq!(events[0].metadata["before"], "pro");
    let (status, body) = call(
        app,
        "PUT",
        "/api/admin/orgs/nowhere/plan",
        &w.admin,
        Some(json!({ "plan": "free" })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "org_not_found")
    );
    // An org_owner keeps no organisations but their own.
    let (status, body) = call(app, "GET", "/api/admin/orgs", &w.owner, None).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    w.t.cleanup().await;
}

#[tokio::test]
async fn people_are_made_and_given_roles_but_no_organisation_loses_its_last_owner() {
    let w = world(None).await;
    let app = &w.app;
    let (status, made) = call(
        app,
        "POST",
        "/api/admin/people",
        &w.admin,
        Some(json!({ "email": "Bo@acme.test", "display_name": "Bo" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["email"], "bo@acme.test");
    assert_eq!(made["has_password"], true);
    let password = made["password"].as_str().unwrap().to_string();
    assert!(password.len() >= 12, "{password}");
    let (status, _) = call(app, "GET", "/api/me", "", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let accounts = Accounts::new(w.t.store.clone());
    assert!(
        accounts
            .login(
                "bo@acme.test",
                &password,
                std::net::Ipv4Addr::LOCALHOST.into()
            )
            .await
            .is_ok(),
        "the made password logs in"
    );
    let (status, made) = call(
        app,
        "POST",
        "/api/admin/people",
        &w.admin,
        Some(json!({ "email": "cy@acme.test", "password": "a long enough password" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert!(made["password"].is_null());
    assert_eq!(made["display_name"], "cy");
    let (status, body) = call(
        app,
        "POST",
        "/api/admin/people",
        &w.admin,
        Some(json!({ "email": "bo@acme.test" })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "{body}"
    );

    // Roles: given, changed, refused where they cannot be held, taken away.
    let bo = "/api/admin/people/bo@acme.test/roles/acme";
    let (status, person) = call(
        app,
        "PUT",
        bo,
        &w.admin,
        Some(json!({ "role": "org_owner" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{person}");
    assert_eq!(
        person["roles"],
        json!([{ "org": "acme", "role": "org_owner" }])
    );
    let (status, body) = call(
        app,
        "PUT",
        bo,
        &w.admin,
        Some(json!({ "role": "platform_owner" })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        "{body}"
    );
    let (status, body) = call(
        app,
        "PUT",
        "/api/admin/people/bo@acme.test/roles/platform",
        &w.admin,
        Some(json!({ "role": "org_user" })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        "{body}"
    );
    // Ada may go now that Bo owns acme; then Bo is the last owner, kept.
    let (status, person) = call(
        app,
        "DELETE",
        "/api/admin/people/ada@acme.test/roles/acme",
        &w.admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{person}");
    assert_eq!(person["roles"], json!([]));
    let (status, body) = call(app, "DELETE", bo, &w.admin, None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "last_owner"),
        "{body}"
    );
    let (status, body) = call(
        app,
        "PUT",
        bo,
        &w.admin,
        Some(json!({ "role": "customer" })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "last_owner"),
        "{body}"
    );
    // The platform keeps its last owner too.
    let (status, body) = call(
        app,
        "DELETE",
        "/api/admin/people/owner@plughub.local/roles/platform",
        &w.admin,
        None,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "last_owner"),
        "{body}"
    );
    for (uri, expected) in [
        (
            "/api/admin/people/nobody@acme.test/roles/acme",
            "person_not_found",
        ),
        (
            "/api/admin/people/bo@acme.test/roles/nowhere",
            "org_not_found",
        ),
        (
            "/api/admin/people/cy@acme.test/roles/acme",
            "member_not_found",
        ),
    ] {
        let (status, body) = call(app, "DELETE", uri, &w.admin, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, expected),
            "{uri}: {body}"
        );
    }

    let (status, list) = call(app, "GET", "/api/admin/people", &w.admin, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let emails: Vec<&str> = list["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [
            "ada@acme.test",
            "bo@acme.test",
            "cy@acme.test",
            "owner@plughub.local"
        ]
    );
    assert_eq!(
        list["people"][3]["roles"],
        json!([
            { "org": "default", "role": "org_owner" },
            { "org": "platform", "role": "platform_owner" }
        ])
    );
    assert!(!list.to_string().contains("argon2"), "{list}");
    w.t.cleanup().await;
}

#[tokio::test]
async fn every_token_is_listed_and_any_revoked() {
    let w = world(None).await;
    let app = &w.app;
    let (status, made) = call(
        app,
        "POST",
        "/api/admin/tokens",
        &w.admin,
        Some(json!({ "email": "ada@acme.test", "name": "deploy", "days": 7 })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let secret = made["secret"].as_str().unwrap();
    assert_eq!(made["email"], "ada@acme.test");
    let (status, me) = call(app, "GET", "/api/me", secret, None).await;
    assert_eq!(
        (status, me["email"].as_str()),
        (StatusCode::OK, Some("ada@acme.test"))
    );
    let (status, body) = call(
        app,
        "POST",
        "/api/admin/tokens",
        &w.admin,
        Some(json!({ "email": "nobody@acme.test", "name": "x", "days": 7 })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "person_not_found")
    );

    let (status, list) = call(app, "GET", "/api/admin/tokens", &w.admin, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let tokens: Vec<(&str, &str)> = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["email"].as_str().unwrap(), t["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        tokens,
        [
            ("ada@acme.test", "t"),
            ("owner@plughub.local", "t"),
            ("ada@acme.test", "deploy")
        ]
    );
    assert!(!list.to_string().contains(&secret[4..]));

    let uri = format!("/api/admin/tokens/{}", made["id"].as_str().unwrap());
    let (status, revoked) = call(app, "DELETE", &uri, &w.admin, None).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["email"], "ada@acme.test");
    assert!(revoked["revoked_at"].is_string());
    let (status, _) = call(app, "GET", "/api/me", secret, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(app, "DELETE", &uri, &w.admin, None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "token_not_found")
    );
    w.t.cleanup().await;
}

#[tokio::test]
async fn a_catalogue_sync_runs_in_the_background_one_at_a_time() {
    // Without sources, a server cannot sync; the status says it has none.
    let w = world(None).await;
    let (status, body) = call(&w.app, "POST", "/api/admin/catalog/sync", &w.admin, None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "no_sync_sources")
    );
    w.t.cleanup().await;

    let registry = registry_snapshot_dir().join("generated-registry.json");
    let mut options = SyncOptions::offline(vec![registry.display().to_string()]);
    options.min_interval = Some(Duration::from_secs(300));
    let w = world(Some(options)).await;
    let app = &w.app;
    let (status, before) = call(app, "GET", "/api/catalog/status", "", None).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(before["sync"]["running"], false);
    assert_eq!(
        before["sync"]["sources"],
        json!([registry.display().to_string()])
    );
    assert_eq!(before["last_sync"]["status"], "starter", "{before}");

    // Two at once: one starts, the other is refused.
    let sync = || call(app, "POST", "/api/admin/catalog/sync", &w.admin, None);
    let ((a, a_body), (b, b_body)) = tokio::join!(sync(), sync());
    let mut statuses = [a, b];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::ACCEPTED, StatusCode::CONFLICT],
        "{a_body} {b_body}"
    );
    let started = if a == StatusCode::ACCEPTED {
        &a_body
    } else {
        &b_body
    };
    assert_eq!(started["running"], true, "{started}");
    assert_eq!(started["started_by"], "owner@plughub.local");

    // It ends, and the status tells what it read.
    let mut status_now = Value::Null;
    for _ in 0..600 {
        status_now = call(app, "GET", "/api/catalog/status", "", None).await.1;
        if status_now["sync"]["running"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status_now["sync"]["running"], false, "{status_now}");
    assert_eq!(status_now["last_sync"]["status"], "ok", "{status_now}");
    assert_eq!(status_now["recent_syncs"][0], status_now["last_sync"]);
    let sources = status_now["last_sync"]["report"]["sources"].to_string();
    assert!(sources.contains("generated-registry.json"), "{sources}");
    // Again so soon: refused, saying when to try.
    let (status, body) = sync().await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "too_soon"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("try again in")
    );
    let (status, body) = call(app, "POST", "/api/admin/catalog/sync", &w.owner, None).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    w.t.cleanup().await;
}
