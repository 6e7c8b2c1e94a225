//! What every signed-in person does for themselves, through the real router: change their password
//! (their other sessions end; a wrong current password is refused as a failed sign-in) and keep their
//! own API tokens (list, make, revoke; never another's).

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use plughub_domain::{EventType, Plan, Role};
use plughub_server::{AppState, router};
use plughub_store::EventFilter;
use plughub_testkit::{TestBackend, TestStore};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

const PASSWORD: &str = "a long enough password";
const NEW_PASSWORD: &str = "another long password";

async fn world() -> (TestStore, axum::Router, String, String) {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let mut tx = t.store.begin().await.unwrap();
    tx.create_group("acme", Plan::Pro, None, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let accounts = Accounts::new(t.store.clone());
    let mut tokens = Vec::new();
    for email in ["ada@acme.test", "bo@acme.test"] {
        accounts
            .create_person(email, "", Some(PASSWORD), "test")
            .await
            .unwrap();
        accounts
            .set_role(email, "acme", Role::OrgUser, "test")
            .await
            .unwrap();
        tokens.push(
            accounts
                .create_token(email, "first", 1, "test")
                .await
                .unwrap()
                .1,
        );
    }
    let app = router(AppState::new(
        Arc::new(Catalog::open(t.store.clone()).await.unwrap()),
        accounts,
        None,
    ));
    let bo = tokens.pop().unwrap();
    (t, app, tokens.pop().unwrap(), bo)
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    auth: Auth<'_>,
    body: Option<Value>,
) -> (StatusCode, Value, HeaderMap) {
    let mut request = Request::builder().method(method).uri(uri);
    match auth {
        Auth::Token(token) => {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"))
        }
        // A change made with the cookie carries the session's CSRF token, as the pages' script sends it.
        Auth::Cookie(cookie) => {
            request = request.header(header::COOKIE, cookie);
            if method != "GET" {
                request = request.header("x-csrf-token", csrf_token(app, cookie).await);
            }
        }
        Auth::None => {}
    }
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    )
}

/// The session's CSRF token, from the meta tag its pages carry.
async fn csrf_token(app: &axum::Router, cookie: &str) -> String {
    let request = Request::get("/account")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&bytes)
        .split(r#"<meta name="csrf-token" content=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string()
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    Token(&'a str),
    Cookie(&'a str),
    None,
}

/// A password login's session, as the cookie to send.
async fn login(app: &axum::Router, password: &str) -> Option<String> {
    let (status, _, headers) = call(
        app,
        "POST",
        "/api/auth/login",
        Auth::None,
        Some(json!({ "email": "ada@acme.test", "password": password })),
    )
    .await;
    (status == StatusCode::OK).then(|| {
        let cookie = headers[header::SET_COOKIE].to_str().unwrap();
        cookie.split(';').next().unwrap().to_string()
    })
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_new_password_ends_the_other_sessions() {
    let (t, app, ada, _) = world().await;
    let here = login(&app, PASSWORD).await.unwrap();
    let elsewhere = login(&app, PASSWORD).await.unwrap();
    let change =
        |current: &str, new: &str| json!({ "current_password": current, "new_password": new });
    let (status, body, _) = call(
        &app,
        "PUT",
        "/api/me/password",
        Auth::Cookie(&here),
        Some(change("not the password", NEW_PASSWORD)),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "wrong_password"),
        "{body}"
    );
    let (status, body, _) = call(
        &app,
        "PUT",
        "/api/me/password",
        Auth::Cookie(&here),
        Some(change(PASSWORD, "short")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("new_password"),
        "{body}"
    );
    // Nothing changed so far: the old password still logs in.
    let third = login(&app, PASSWORD).await.unwrap();

    let (status, body, _) = call(
        &app,
        "PUT",
        "/api/me/password",
        Auth::Cookie(&here),
        Some(change(PASSWORD, NEW_PASSWORD)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessions_ended"], 2);
    let (status, _, _) = call(&app, "GET", "/api/me", Auth::Cookie(&here), None).await;
    assert_eq!(status, StatusCode::OK, "the session that changed it stays");
    for ended in [&elsewhere, &third] {
        let (status, body, _) = call(&app, "GET", "/api/me", Auth::Cookie(ended), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "session_ended")
        );
    }
    // Tokens stay; the new password logs in, the old one no longer.
    let (status, _, _) = call(&app, "GET", "/api/me", Auth::Token(&ada), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(login(&app, PASSWORD).await.is_none());
    assert!(login(&app, NEW_PASSWORD).await.is_some());
    // Through a token, every session ends.
    let (status, body, _) = call(
        &app,
        "PUT",
        "/api/me/password",
        Auth::Token(&ada),
        Some(change(NEW_PASSWORD, PASSWORD)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessions_ended"], 2);

    // Recorded: two changes by Ada, and the wrong password as a failed sign-in; no password anywhere.
    let events = t.store.events(&EventFilter::default()).await.unwrap();
    let changed: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == EventType::PasswordChanged)
        .collect();
    assert_eq!(changed.len(), 2);
    assert!(changed.iter().all(|e| e.actor == "ada@acme.test"));
    assert!(events.iter().any(
        |e| e.event_type == EventType::SignInFailed && e.metadata["changing_password"] == true
    ));
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(PASSWORD) && !text.contains(NEW_PASSWORD));
    t.cleanup().await;
}

#[tokio::test]
async fn one_s_own_tokens_are_listed_made_and_revoked_and_no_one_else_s() {
    let (t, app, ada, bo) = world().await;
    let (status, made, _) = call(
        &app,
        "POST",
        "/api/me/tokens",
        Auth::Token(&ada),
        Some(json!({ "name": "ci", "days": 30 })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let secret = made["secret"].as_str().unwrap();
    assert!(secret.starts_with("phk_"), "{made}");
    assert_eq!(made["name"], "ci");
    assert_eq!(made["email"], "ada@acme.test");
    let (status, me, _) = call(&app, "GET", "/api/me", Auth::Token(secret), None).await;
    assert_eq!(
        (status, me["email"].as_str()),
        (StatusCode::OK, Some("ada@acme.test"))
    );

    let (status, list, _) = call(&app, "GET", "/api/me/tokens", Auth::Token(&ada), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let names: Vec<&str> = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["first", "ci"]);
    assert!(!list.to_string().contains(&secret[4..]), "{list}");
    assert!(list["tokens"][0].get("token_hash").is_none());

    // Bo's list is Bo's; Bo cannot revoke Ada's token (not found, as no token).
    let id = made["id"].as_str().unwrap();
    let (_, bos, _) = call(&app, "GET", "/api/me/tokens", Auth::Token(&bo), None).await;
    assert_eq!(bos["tokens"].as_array().unwrap().len(), 1);
    let uri = format!("/api/me/tokens/{id}");
    let (status, body, _) = call(&app, "DELETE", &uri, Auth::Token(&bo), None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "token_not_found"),
        "{body}"
    );
    let (status, _, _) = call(&app, "GET", "/api/me", Auth::Token(secret), None).await;
    assert_eq!(status, StatusCode::OK);

    let (status, revoked, _) = call(&app, "DELETE", &uri, Auth::Token(&ada), None).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let (status, body, _) = call(&app, "GET", "/api/me", Auth::Token(secret), None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "token_revoked")
    );
    let (status, body, _) = call(&app, "DELETE", &uri, Auth::Token(&ada), None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "token_not_found")
    );

    for bad in [
        json!({ "name": "x", "days": 0 }),
        json!({ "name": "x", "days": 366 }),
        json!({ "name": "", "days": 1 }),
        json!({ "name": "x" }),
    ] {
        let (status, body, _) = call(
            &app,
            "POST",
            "/api/me/tokens",
            Auth::Token(&ada),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    t.cleanup().await;
}
