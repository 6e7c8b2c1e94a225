//! The authorization matrix: every route of an organisation × every role × the caller's own
//! organisation and another one, with the status each cell must get; and every route of the platform's
//! administration × the platform owner and everyone else, and one's own account's routes × everyone.
//! The routes act on a plugin, member, token or invitation that does not exist, so an allowed call gets
//! past the check and fails on that (or succeeds harmlessly), and no cell changes what another sees.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use plughub_domain::{Plan, Role};
use plughub_server::{AppState, Lifecycle, router};
use plughub_testkit::{TestBackend, TestStore};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tower::ServiceExt;

/// Who may: O the org_owner, U the org_user as well.
#[derive(Clone, Copy, PartialEq)]
enum May {
    Owner,
    User,
}

fn routes() -> Vec<(&'static str, String, Option<Value>, May)> {
    let p = "/api/orgs/ORG/plugins/@acme%2Fnone";
    vec![
        ("GET", "/api/orgs/ORG/plugins".into(), None, May::User),
        ("GET", "/api/orgs/ORG/export".into(), None, May::Owner),
        // Without ?confirm=: an allowed caller gets past the check to be asked to confirm.
        ("DELETE", "/api/orgs/ORG".into(), None, May::Owner),
        (
            "POST",
            "/api/orgs/ORG/plugins".into(),
            Some(json!({ "plugin": "@acme/none" })),
            May::Owner,
        ),
        ("DELETE", p.into(), None, May::Owner),
        (
            "PUT",
            format!("{p}/config"),
            Some(json!({ "settings": {} })),
            May::Owner,
        ),
        ("GET", format!("{p}/permissions"), None, May::User),
        (
            "POST",
            format!("{p}/permissions"),
            Some(json!({})),
            May::Owner,
        ),
        ("DELETE", format!("{p}/permissions"), None, May::Owner),
        (
            "POST",
            format!("{p}/run"),
            Some(json!({ "action": "X" })),
            May::User,
        ),
        (
            "POST",
            format!("{p}/activate"),
            Some(json!({ "agent": "eliza" })),
            May::Owner,
        ),
        (
            "POST",
            format!("{p}/deactivate"),
            Some(json!({})),
            May::Owner,
        ),
        ("POST", format!("{p}/update"), Some(json!({})), May::Owner),
        ("POST", format!("{p}/rollback"), None, May::Owner),
        ("POST", format!("{p}/resume"), None, May::Owner),
        ("GET", "/api/orgs/ORG/agents".into(), None, May::User),
        (
            "POST",
            "/api/orgs/ORG/agents".into(),
            Some(json!({ "name": "new-agent" })),
            May::Owner,
        ),
        (
            "GET",
            "/api/orgs/ORG/agents/eliza/components".into(),
            None,
            May::User,
        ),
        (
            "PUT",
            "/api/orgs/ORG/agents/eliza/models".into(),
            Some(json!({ "models": "agent" })),
            May::Owner,
        ),
        (
            "GET",
            "/api/orgs/ORG/agents/eliza/run".into(),
            None,
            May::User,
        ),
        ("GET", "/api/orgs/ORG/events".into(), None, May::User),
        ("GET", "/api/orgs/ORG/executions".into(), None, May::User),
        (
            "GET",
            "/api/orgs/ORG/executions/live".into(),
            None,
            May::User,
        ),
        ("GET", "/api/orgs/ORG/members".into(), None, May::User),
        (
            "PUT",
            "/api/orgs/ORG/members/nobody@example.org".into(),
            Some(json!({ "role": "org_user" })),
            May::Owner,
        ),
        (
            "DELETE",
            "/api/orgs/ORG/members/nobody@example.org".into(),
            None,
            May::Owner,
        ),
        ("GET", "/api/orgs/ORG/invitations".into(), None, May::Owner),
        (
            "POST",
            "/api/orgs/ORG/invitations".into(),
            Some(json!({ "role": "customer", "days": 1 })),
            May::Owner,
        ),
        (
            "DELETE",
            "/api/orgs/ORG/invitations/none".into(),
            None,
            May::Owner,
        ),
        ("GET", "/api/orgs/ORG/analytics".into(), None, May::Owner),
        (
            "GET",
            "/api/orgs/ORG/analytics?format=csv".into(),
            None,
            May::Owner,
        ),
        ("GET", format!("{p}/changelog"), None, May::User),
        ("GET", "/api/orgs/ORG/webhooks".into(), None, May::Owner),
        (
            "POST",
            "/api/orgs/ORG/webhooks".into(),
            // Refused by the address policy (loopback is not allowed here): changes nothing.
            Some(json!({ "url": "http://127.0.0.1:9/hook", "events": ["update_available"] })),
            May::Owner,
        ),
        (
            "DELETE",
            "/api/orgs/ORG/webhooks/none".into(),
            None,
            May::Owner,
        ),
        (
            "GET",
            "/api/orgs/ORG/webhooks/none/deliveries".into(),
            None,
            May::Owner,
        ),
    ]
}

/// The platform's administration: its platform owner's only.
fn platform_routes() -> Vec<(&'static str, &'static str, Option<Value>)> {
    vec![
        ("GET", "/api/admin/orgs", None),
        (
            "POST",
            "/api/admin/orgs",
            Some(json!({ "name": "made-by-the-matrix", "plan": "free" })),
        ),
        (
            "PUT",
            "/api/admin/orgs/acme/plan",
            Some(json!({ "plan": "pro" })),
        ),
        ("GET", "/api/admin/people", None),
        (
            "POST",
            "/api/admin/people",
            Some(json!({ "email": "made@example.org" })),
        ),
        (
            "PUT",
            "/api/admin/people/nobody@example.org/roles/acme",
            Some(json!({ "role": "org_user" })),
        ),
        (
            "DELETE",
            "/api/admin/people/nobody@example.org/roles/acme",
            None,
        ),
        ("GET", "/api/admin/tokens", None),
        (
            "POST",
            "/api/admin/tokens",
            Some(json!({ "email": "nobody@example.org", "name": "t", "days": 1 })),
        ),
        ("DELETE", "/api/admin/tokens/none", None),
        ("POST", "/api/admin/catalog/sync", None),
        ("GET", "/api/admin/analytics", None),
        ("GET", "/api/admin/publisher-claims", None),
        (
            "POST",
            "/api/admin/publisher-claims/none/grant",
            Some(json!({})),
        ),
        (
            "POST",
            "/api/admin/publisher-claims/none/refuse",
            Some(json!({})),
        ),
        (
            "PUT",
            "/api/admin/publishers/@nobody-here/verification",
            Some(json!({})),
        ),
        (
            "DELETE",
            "/api/admin/publishers/@nobody-here/verification",
            None,
        ),
        (
            "PUT",
            "/api/admin/collections/made-by-the-matrix",
            Some(json!({ "title": "t", "plugins": ["@elizaos/plugin-openai"] })),
        ),
        ("DELETE", "/api/admin/collections/none", None),
        (
            "PUT",
            "/api/admin/deprecations?plugin=no-such-plugin",
            Some(json!({ "reason": "r" })),
        ),
        (
            "DELETE",
            "/api/admin/deprecations?plugin=no-such-plugin",
            None,
        ),
        ("GET", "/api/admin/reviews", None),
        ("POST", "/api/admin/reviews/none/hide", None),
        ("POST", "/api/admin/reviews/none/restore", None),
        (
            "PUT",
            "/api/admin/reviewers/nobody@example.org/ban",
            Some(json!({ "reason": "abuse" })),
        ),
        (
            "DELETE",
            "/api/admin/reviewers/nobody@example.org/ban",
            None,
        ),
        ("POST", "/api/admin/updates/check", None),
        ("GET", "/api/admin/registry/quarantine", None),
        (
            "POST",
            "/api/admin/registry/packages/@nobody-here%2Fx/versions/1.0.0/release",
            Some(json!({})),
        ),
        (
            "POST",
            "/api/admin/registry/packages/@nobody-here%2Fx/versions/1.0.0/reject",
            Some(json!({ "note": "no" })),
        ),
        ("GET", "/api/admin/registry/blocklist", None),
        (
            "POST",
            "/api/admin/registry/blocklist",
            Some(json!({ "sha512": "0".repeat(128), "reason": "made by the matrix" })),
        ),
        ("DELETE", "/api/admin/registry/blocklist/none", None),
        (
            "PUT",
            "/api/admin/registry/namespaces/@nobody-here/decision",
            Some(json!({ "note": "made by the matrix" })),
        ),
    ]
}

/// One's own account: anyone signed in.
fn own_routes() -> Vec<(&'static str, &'static str, Option<Value>)> {
    vec![
        ("GET", "/api/me/tokens", None),
        (
            "POST",
            "/api/me/tokens",
            Some(json!({ "name": "mine", "days": 1 })),
        ),
        ("DELETE", "/api/me/tokens/none", None),
        ("GET", "/api/me/notifications", None),
        ("POST", "/api/me/notifications/read", Some(json!({}))),
        (
            "POST",
            "/api/publishers/@nobody-here/claims",
            Some(json!({ "evidence": "mine" })),
        ),
        (
            "PUT",
            "/api/me/password",
            Some(
                json!({ "current_password": "not the password", "new_password": "a long enough password" }),
            ),
        ),
        // Reviews are a person's own: whether one may review is the plugin's install in the org named
        // (not installed here: refused, but never as `forbidden`), not a role on a route.
        (
            "PUT",
            "/api/reviews/mine?plugin=%40elizaos%2Fplugin-sui",
            Some(json!({ "stars": 4, "text": "", "org": "acme" })),
        ),
        (
            "DELETE",
            "/api/reviews/mine?plugin=%40elizaos%2Fplugin-sui",
            None,
        ),
        ("PUT", "/api/reviews/none/vote", None),
        ("DELETE", "/api/reviews/none/vote", None),
        (
            "PUT",
            "/api/reviews/none/response",
            Some(json!({ "text": "thanks" })),
        ),
        (
            "POST",
            "/api/reviews/none/reports",
            Some(json!({ "reason": "spam" })),
        ),
        // The registry's: whether one may is holding the package's namespace (nobody here holds
        // @nobody-here: refused as `namespace_not_held`, never `forbidden`), not a role.
        ("GET", "/api/me/publish-tokens", None),
        (
            "POST",
            "/api/me/publish-tokens",
            Some(json!({ "namespace": "@nobody-here", "name": "ci", "days": 1 })),
        ),
        ("DELETE", "/api/me/publish-tokens/none", None),
        (
            "PUT",
            "/api/registry/packages/@nobody-here%2Fx",
            Some(json!({})),
        ),
        (
            "DELETE",
            "/api/registry/packages/@nobody-here%2Fx/versions/1.0.0",
            None,
        ),
        (
            "PUT",
            "/api/registry/packages/@nobody-here%2Fx/dist-tags/beta",
            Some(json!({ "version": "1.0.0" })),
        ),
        (
            "DELETE",
            "/api/registry/packages/@nobody-here%2Fx/dist-tags/beta",
            None,
        ),
    ]
}

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: &Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let body = body
        .as_ref()
        .map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    if response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes())
        == Some(b"text/event-stream")
    {
        // A live stream that was let through does not end: its status is the answer.
        return (status, Value::Null);
    }
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

const CALLERS: [(&str, &str, Role); 6] = [
    ("owner@acme.test", "acme", Role::OrgOwner),
    ("user@acme.test", "acme", Role::OrgUser),
    ("customer@acme.test", "acme", Role::Customer),
    ("owner@globex.test", "globex", Role::OrgOwner),
    ("user@globex.test", "globex", Role::OrgUser),
    ("customer@globex.test", "globex", Role::Customer),
];

/// Two organisations with a person of each role, the platform owner, and a server: the router, each
/// person's token by email, and the platform owner's token.
async fn world() -> (
    TestStore,
    tempfile::TempDir,
    axum::Router,
    HashMap<&'static str, String>,
    String,
) {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let mut tx = t.store.begin().await.unwrap();
    for org in ["acme", "globex"] {
        tx.create_group(org, Plan::Pro, None, "test").await.unwrap();
    }
    tx.commit().await.unwrap();
    let accounts = Accounts::new(t.store.clone());
    accounts.first_start("test").await.unwrap();
    let mut tokens: HashMap<&str, String> = HashMap::new();
    for (email, org, role) in CALLERS {
        accounts
            .create_person(email, "", None, "test")
            .await
            .unwrap();
        accounts.set_role(email, org, role, "test").await.unwrap();
        tokens.insert(
            email,
            accounts
                .create_token(email, "t", 1, "test")
                .await
                .unwrap()
                .1,
        );
    }
    let platform = accounts
        .create_token("owner@plughub.local", "t", 1, "test")
        .await
        .unwrap()
        .1;
    // A registry nobody answers on: installs get past the check and fail on it.
    let installer = plughub_lifecycle::Installer::open(
        t.store.clone(),
        &dir.path().join("packages"),
        &plughub_testkit::http::closed_port_url(""),
    )
    .await
    .unwrap();
    let keys = plughub_secrets::KeyRing::load_or_create(&dir.path().join("keys.json")).unwrap();
    let runner = plughub_runner::Runner::new(
        installer,
        keys,
        plughub_runner::RunnerConfig {
            node: "node".into(),
            run_dir: dir.path().join("run"),
            policy: Default::default(),
            sandbox: None,
            egress: Default::default(),
        },
    );
    let app = router(AppState::new(
        Arc::new(Catalog::open(t.store.clone()).await.unwrap()),
        accounts,
        Some(Lifecycle { runner }),
    ));
    (t, dir, app, tokens, platform)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_every_role_own_group_and_another() {
    let (_t, _dir, app, tokens, platform) = world().await;
    let callers = CALLERS;
    let mut cells = 0;
    for (method, path, body, may) in routes() {
        for (email, home, role) in callers {
            for org in ["acme", "globex"] {
                let uri = path.replace("ORG", org);
                let (status, answer) = send(&app, method, &uri, Some(&tokens[email]), &body).await;
                let code = answer["error"]["code"].as_str().unwrap_or("");
                let cell = format!("{method} {uri} as {role} of {home}: {status} {answer}");
                if org != home {
                    assert_eq!(
                        (status, code),
                        (StatusCode::NOT_FOUND, "org_not_found"),
                        "{cell}"
                    );
                } else {
                    let allowed = match role {
                        Role::OrgOwner => true,
                        Role::OrgUser => may == May::User,
                        _ => false,
                    };
                    if allowed {
                        assert!(
                            !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                                && code != "org_not_found",
                            "{cell}"
                        );
                    } else {
                        assert_eq!(
                            (status, code),
                            (StatusCode::FORBIDDEN, "forbidden"),
                            "{cell}"
                        );
                    }
                }
                cells += 1;
            }
        }
        // Nobody signed in, and the platform owner (who belongs to neither).
        let uri = path.replace("ORG", "acme");
        let (status, answer) = send(&app, method, &uri, None, &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {answer}");
        let (status, answer) = send(&app, method, &uri, Some(&platform), &body).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("org_not_found")),
            "{method} {uri} as the platform owner"
        );
        cells += 2;
    }
    assert_eq!(cells, routes().len() * (callers.len() * 2 + 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_platform_s_routes_are_its_owner_s_and_one_s_own_are_everyone_s() {
    let (_t, _dir, app, tokens, platform) = world().await;
    let mut cells = 0;
    for (method, uri, body) in platform_routes() {
        let (status, answer) = send(&app, method, uri, Some(&platform), &body).await;
        assert!(
            !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
            "{method} {uri} as the platform owner: {status} {answer}"
        );
        for (email, _, role) in CALLERS {
            let (status, answer) = send(&app, method, uri, Some(&tokens[email]), &body).await;
            assert_eq!(
                (status, answer["error"]["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("forbidden")),
                "{method} {uri} as {role}: {answer}"
            );
        }
        let (status, answer) = send(&app, method, uri, None, &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {answer}");
        cells += CALLERS.len() + 2;
    }
    for (method, uri, body) in own_routes() {
        for token in CALLERS
            .iter()
            .map(|(email, _, _)| &tokens[email])
            .chain([&platform])
        {
            let (status, answer) = send(&app, method, uri, Some(token), &body).await;
            assert!(
                !matches!(status, StatusCode::UNAUTHORIZED)
                    && answer["error"]["code"] != "forbidden",
                "{method} {uri}: {status} {answer}"
            );
        }
        let (status, answer) = send(&app, method, uri, None, &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {answer}");
        cells += CALLERS.len() + 2;
    }
    assert_eq!(
        cells,
        (platform_routes().len() + own_routes().len()) * (CALLERS.len() + 2)
    );
}

/// plughub's npm registry (`/npm/`): public, as npm registries are for public packages; the probes a
/// load balancer and a metrics scraper call (`/healthz`, `/readyz`, `/metrics`); and the
/// catalogue's compatibility export and its "runs on plughub" search, public as the catalogue is
/// (trials belong to no organisation). Anyone, signed in or not, of any role, gets the same answer; a
/// token never changes what is shown (only published versions and the catalogue's own records;
/// nothing an organisation did).
fn public_routes() -> Vec<&'static str> {
    vec![
        "/npm/@acme%2Fnone",
        "/npm/@acme/none",
        "/npm/@acme%2Fnone/-/none-1.0.0.tgz",
        "/npm/left-pad",
        "/api/catalog/compatibility",
        "/api/plugins?runs=no",
        "/healthz",
        "/readyz",
        "/metrics",
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_npm_registry_and_the_catalogue_s_records_are_public_and_the_same_for_everyone() {
    let (_t, _dir, app, tokens, platform) = world().await;
    let mut cells = 0;
    for uri in public_routes() {
        let (anonymous, body) = send(&app, "GET", uri, None, &None).await;
        assert!(
            !matches!(anonymous, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
            "GET {uri}: {anonymous} {body}"
        );
        for token in CALLERS
            .iter()
            .map(|(email, _, _)| &tokens[email])
            .chain([&platform])
        {
            let (status, answer) = send(&app, "GET", uri, Some(token), &None).await;
            assert_eq!(
                (status, &answer["error"]["code"]),
                (anonymous, &body["error"]["code"]),
                "GET {uri} with a token"
            );
        }
        cells += CALLERS.len() + 2;
    }
    assert_eq!(cells, public_routes().len() * (CALLERS.len() + 2));
}
