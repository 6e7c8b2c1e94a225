//! Signing in, and who sees what: tokens, sessions and the roles of product-spec.md through the real
//! router on a real store. A group one does not belong to answers exactly as one that does not exist.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use plughub_domain::{Plan, Role};
use plughub_server::{AppState, router};
use plughub_testkit::{TestBackend, TestStore};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

struct World {
    app: axum::Router,
    accounts: Accounts,
    _t: TestStore,
}

async fn world() -> World {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let mut tx = t.store.begin().await.unwrap();
    for org in ["acme", "globex"] {
        tx.create_group(org, Plan::Pro, None, "test").await.unwrap();
    }
    tx.commit().await.unwrap();
    let accounts = Accounts::new(t.store.clone());
    accounts.first_start("test").await.unwrap();
    for (email, org, role) in [
        ("owner@acme.test", "acme", Role::OrgOwner),
        ("user@acme.test", "acme", Role::OrgUser),
        ("customer@acme.test", "acme", Role::Customer),
        ("owner@globex.test", "globex", Role::OrgOwner),
    ] {
        accounts
            .create_person(email, "", Some("a long enough password"), "test")
            .await
            .unwrap();
        accounts.set_role(email, org, role, "test").await.unwrap();
    }
    let app = router(AppState::new(Arc::new(catalog), accounts.clone(), None));
    World {
        app,
        accounts,
        _t: t,
    }
}

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, Value, Option<String>) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body, cookie)
}

fn get(uri: &str, auth: Option<&str>) -> Request<Body> {
    let mut request = Request::get(uri);
    if let Some(auth) = auth {
        request = request.header(header::AUTHORIZATION, auth);
    }
    request.body(Body::empty()).unwrap()
}

fn post_json(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap()
}

fn error_code(body: &Value) -> &str {
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn each_role_sees_its_own_group_and_nothing_of_another() {
    let w = world().await;
    let mut bearer = std::collections::HashMap::new();
    for email in [
        "owner@acme.test",
        "user@acme.test",
        "customer@acme.test",
        "owner@globex.test",
        "owner@plughub.local",
    ] {
        let (_, secret) = w
            .accounts
            .create_token(email, "t", 1, "test")
            .await
            .unwrap();
        bearer.insert(email, format!("Bearer {secret}"));
    }
    // Caller × route: the status each gets. Globex's owner and the platform owner get the same 404 for
    // acme as anyone gets for an organisation that does not exist.
    let expected = [
        ("owner@acme.test", 200, 200),
        ("user@acme.test", 200, 200),
        ("customer@acme.test", 403, 403),
        ("owner@globex.test", 404, 404),
        ("owner@plughub.local", 404, 404),
    ];
    for (email, plugins, events) in expected {
        let auth = Some(bearer[email].as_str());
        for (uri, status) in [
            ("/api/orgs/acme/plugins", plugins),
            ("/api/orgs/acme/events", events),
        ] {
            let (got, body, _) = send(&w.app, get(uri, auth)).await;
            assert_eq!(got.as_u16(), status, "{email} {uri}: {body}");
            if status == 404 {
                let (_, missing, _) = send(&w.app, get(&uri.replace("acme", "nosuch"), auth)).await;
                assert_eq!(error_code(&body), "org_not_found");
                assert_eq!(
                    body["error"]["message"]
                        .as_str()
                        .unwrap()
                        .replace("acme", "X"),
                    missing["error"]["message"]
                        .as_str()
                        .unwrap()
                        .replace("nosuch", "X"),
                    "a foreign group reads as a missing one"
                );
            }
            if status == 403 {
                assert_eq!(error_code(&body), "forbidden");
            }
        }
    }
    let (_, events, _) = send(
        &w.app,
        get(
            "/api/orgs/acme/events?per_page=2",
            Some(bearer["owner@acme.test"].as_str()),
        ),
    )
    .await;
    assert_eq!(events["per_page"], 2);
    assert!(events["total"].as_u64().unwrap() >= 3, "{events}");
    assert!(events["items"].as_array().unwrap().len() <= 2);
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["group_id"] == events["items"][0]["group_id"])
    );
    for bad in [
        "?per_page=0",
        "?page=0",
        "?per_page=1000",
        "?per_page=201",
        "?page=18446744073709551616",
        "?page=-1",
        "?colour=red",
    ] {
        let (status, body, _) = send(
            &w.app,
            get(
                &format!("/api/orgs/acme/events{bad}"),
                Some(bearer["owner@acme.test"].as_str()),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

#[tokio::test]
async fn tokens_and_sessions_are_checked_and_bad_input_is_refused_in_one_shape() {
    let w = world().await;
    for (auth, code) in [
        (None, "unauthenticated"),
        (Some("Basic dXNlcjpwYXNz"), "bad_authorization"),
        (Some("Bearer phk_nope"), "token_unknown"),
    ] {
        let (status, body, _) = send(&w.app, get("/api/me", auth)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(&body), code);
    }
    let (token, secret) = w
        .accounts
        .create_token("user@acme.test", "t", 1, "test")
        .await
        .unwrap();
    let auth = format!("Bearer {secret}");
    let (status, me, _) = send(&w.app, get("/api/me", Some(&auth))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "user@acme.test");
    assert_eq!(me["memberships"][0]["role"], "org_user");
    w.accounts.revoke_token(&token.id, "test").await.unwrap();
    let (status, body, _) = send(&w.app, get("/api/me", Some(&auth))).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "token_revoked")
    );

    let login = "/api/auth/login";
    let big = format!(
        r#"{{"email":"x@y.z","password":"{}"}}"#,
        "p".repeat(2 << 20)
    );
    for (request, status, code) in [
        (post_json(login, "{not json"), 400, "malformed_json"),
        (
            post_json(
                login,
                r#"{"email":"user@acme.test","password":"x","admin":true}"#,
            ),
            422,
            "invalid_body",
        ),
        (
            post_json(login, r#"{"email":"user@acme.test","password":42}"#),
            422,
            "invalid_body",
        ),
        (
            Request::post(login)
                .body(Body::from(r#"{"email":"a","password":"b"}"#))
                .unwrap(),
            415,
            "not_json",
        ),
        (post_json(login, big), 413, "body_too_large"),
        (
            post_json(
                login,
                r#"{"email":"user@acme.test","password":"not the password"}"#,
            ),
            401,
            "bad_login",
        ),
    ] {
        let (got, body, cookie) = send(&w.app, request).await;
        assert_eq!((got.as_u16(), error_code(&body)), (status, code), "{body}");
        assert!(cookie.is_none());
    }
    let (status, body, cookie) = send(
        &w.app,
        post_json(
            login,
            json!({"email": "User@Acme.test", "password": "a long enough password"}).to_string(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cookie = cookie.expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let with_cookie = |uri: &str| {
        Request::get(uri)
            .header(header::COOKIE, session.as_str())
            .body(Body::empty())
            .unwrap()
    };
    let (status, me, _) = send(&w.app, with_cookie("/api/me")).await;
    assert_eq!(
        (status, me["email"].as_str()),
        (StatusCode::OK, Some("user@acme.test"))
    );
    let (status, _, _) = send(&w.app, with_cookie("/api/orgs/acme/plugins")).await;
    assert_eq!(status, StatusCode::OK);
    // A change made with the cookie needs the session's CSRF token, which the pages carry.
    let response = w
        .app
        .clone()
        .oneshot(with_cookie("/account"))
        .await
        .unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let page = String::from_utf8_lossy(&bytes).into_owned();
    let token = page
        .split(r#"<meta name="csrf-token" content=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries the session's token")
        .to_string();
    let without_token = Request::post("/api/auth/logout")
        .header(header::COOKIE, session.as_str())
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = send(&w.app, without_token).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::FORBIDDEN, "csrf_token_missing")
    );
    let logout = Request::post("/api/auth/logout")
        .header(header::COOKIE, session.as_str())
        .header("x-csrf-token", token.as_str())
        .body(Body::empty())
        .unwrap();
    let (status, _, cleared) = send(&w.app, logout).await;
    assert_eq!(status, StatusCode::OK);
    assert!(cleared.unwrap().contains("Max-Age=0"));
    let (status, body, _) = send(&w.app, with_cookie("/api/me")).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::UNAUTHORIZED, "session_ended")
    );
}

#[tokio::test]
async fn the_sign_in_page_posts_to_the_login_route() {
    let w = world().await;
    let response = w.app.clone().oneshot(get("/login", None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let page = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(page.contains(r#"type="password""#), "{page}");
    assert!(page.contains(r#"action="/api/auth/login""#), "{page}");
    // The catalogue page links to it.
    let response = w.app.clone().oneshot(get("/plugins", None)).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&bytes).contains(r#"href="/login""#));
}
