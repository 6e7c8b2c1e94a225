//! The web UI through the real router on a real store: the headers every answer carries, assets under
//! content hashes, cross-site request forgery refused, and pages that show only what the role may do.
//! What a browser does with the pages (scripts, forms, accessibility) is tested in a real browser
//! (tests/browser).

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use plughub_domain::{Plan, Role};
use plughub_server::{AppState, router};
use plughub_testkit::{TestBackend, TestStore};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

const PASSWORD: &str = "a long enough password";
const HOST: &str = "127.0.0.1:8080";

struct World {
    app: axum::Router,
    _t: TestStore,
}

async fn world() -> World {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let mut tx = t.store.begin().await.unwrap();
    tx.create_group("acme", Plan::Pro, None, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let accounts = Accounts::new(t.store.clone());
    for (email, role) in [
        ("owner@acme.test", Role::OrgOwner),
        ("user@acme.test", Role::OrgUser),
        ("customer@acme.test", Role::Customer),
    ] {
        accounts
            .create_person(email, "", Some(PASSWORD), "test")
            .await
            .unwrap();
        accounts
            .set_role(email, "acme", role, "test")
            .await
            .unwrap();
    }
    World {
        app: router(AppState::new(Arc::new(catalog), accounts, None)),
        _t: t,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

async fn send(w: &World, request: Request<Body>) -> Answer {
    let response = w.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn get(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut r = Request::get(uri).header(header::HOST, HOST);
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::empty()).unwrap()
}

/// Signs in as `email` through the login route, from the server's own origin: the session cookie.
async fn sign_in(w: &World, email: &str) -> String {
    let body = serde_json::json!({ "email": email, "password": PASSWORD }).to_string();
    let request = Request::post("/api/auth/login")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("http://{HOST}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let answer = send(w, request).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let cookie = answer.headers[header::SET_COOKIE].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

/// The session's CSRF token, as its pages carry it.
async fn token_of(w: &World, cookie: &str) -> String {
    let page = send(w, get("/plugins", Some(cookie))).await.text;
    page.split(r#"<meta name="csrf-token" content=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a signed-in page carries the session's token")
        .to_string()
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let w = world().await;
    let owner = sign_in(&w, "owner@acme.test").await;
    for (uri, cookie) in [
        ("/plugins", None),
        ("/plugins?q=discord", None),
        ("/plugins/@elizaos/plugin-discord", None),
        (
            "/plugins/@elizaos/plugin-discord/install?org=acme",
            Some(owner.as_str()),
        ),
        ("/plugins/installed", None),
        ("/plugins/no-such-plugin", None),
        ("/login", None),
        ("/account", Some(owner.as_str())),
        ("/api/plugins?q=discord", None),
        ("/api/me", None),
    ] {
        let answer = send(&w, get(uri, cookie)).await;
        let h = |name: &str| {
            answer
                .headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let csp = h("content-security-policy");
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap_or_else(|| panic!("{uri}: no script-src in {csp:?}"));
        assert_eq!(script_src, "script-src 'self'", "{uri}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{uri}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert!(csp.contains("object-src 'none'"), "{uri}: {csp}");
        assert_eq!(h("x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(h("referrer-policy"), "same-origin", "{uri}");
        // No page holds a script of its own: every script is a file of the server's.
        if h("content-type").starts_with("text/html") {
            let scripts: Vec<&str> = answer.text.split("<script").skip(1).collect();
            assert!(
                scripts
                    .iter()
                    .all(|s| s.trim_start().starts_with("src=\"/assets/")),
                "{uri}: an inline script"
            );
            assert!(
                !answer.text.contains(" onclick=") && !answer.text.contains(" onload="),
                "{uri}"
            );
        }
    }
}

#[tokio::test]
async fn assets_are_served_under_their_content_hash_for_a_year() {
    let w = world().await;
    let page = send(&w, get("/plugins", None)).await.text;
    for (ext, content_type) in [
        (".css", "text/css"),
        (".js", "text/javascript"),
        (".svg", "image/svg+xml"),
    ] {
        let path = page
            .split('"')
            .find(|s| s.starts_with("/assets/") && s.ends_with(ext))
            .unwrap_or_else(|| panic!("the page links no {ext} asset"));
        let hash = path.rsplit('.').nth(1).unwrap();
        assert_eq!(hash.len(), 12, "{path}");
        let answer = send(&w, get(path, None)).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert!(
            answer.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(content_type)
        );
        assert_eq!(
            answer.headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        // Another content's name is not served.
        let stale = path.replace(hash, "000000000000");
        assert_eq!(
            send(&w, get(&stale, None)).await.status,
            StatusCode::NOT_FOUND
        );
    }
}

/// A change an organisation's owner may make; the server here runs no plugins, so once the request is
/// let through it answers 503 `no_lifecycle`.
fn create_agent(cookie: &str, origin: Option<&str>, token: Option<&str>) -> Request<Body> {
    let mut r = Request::post("/api/orgs/acme/agents")
        .header(header::HOST, HOST)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(o) = origin {
        r = r.header(header::ORIGIN, o);
    }
    if let Some(t) = token {
        r = r.header("x-csrf-token", t);
    }
    r.body(Body::from(r#"{"name":"new-agent"}"#)).unwrap()
}

#[tokio::test]
async fn a_change_made_with_the_cookie_needs_the_own_origin_and_the_session_token() {
    let w = world().await;
    let owner = sign_in(&w, "owner@acme.test").await;
    let token = token_of(&w, &owner).await;
    let own = format!("http://{HOST}");
    let code = |a: &Answer| {
        a.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };

    // Another site's form, even with the token (which it cannot read): refused.
    let a = send(
        &w,
        create_agent(&owner, Some("http://127.0.0.2:9000"), Some(&token)),
    )
    .await;
    assert_eq!(
        (a.status, code(&a).as_str()),
        (StatusCode::FORBIDDEN, "cross_origin")
    );
    let a = send(&w, create_agent(&owner, Some("null"), Some(&token))).await;
    assert_eq!(
        (a.status, code(&a).as_str()),
        (StatusCode::FORBIDDEN, "cross_origin")
    );
    // The own origin without the token, or with another session's: refused.
    let a = send(&w, create_agent(&owner, Some(&own), None)).await;
    assert_eq!(
        (a.status, code(&a).as_str()),
        (StatusCode::FORBIDDEN, "csrf_token_missing")
    );
    let user = sign_in(&w, "user@acme.test").await;
    let users_token = token_of(&w, &user).await;
    let a = send(&w, create_agent(&owner, Some(&own), Some(&users_token))).await;
    assert_eq!(
        (a.status, code(&a).as_str()),
        (StatusCode::FORBIDDEN, "csrf_token_wrong")
    );
    // Both: the request goes on to the handler.
    let a = send(&w, create_agent(&owner, Some(&own), Some(&token))).await;
    assert_eq!(
        (a.status, code(&a).as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "no_lifecycle")
    );
    // The refused cross-site request did not end the session.
    let me = send(&w, get("/api/me", Some(&owner))).await;
    assert_eq!(me.json()["email"], "owner@acme.test");
    // A stale session cookie before the live one: the API signs in with the one that holds, as the
    // pages do.
    let both = format!("plughub_session=phs_ended; {owner}");
    let me = send(&w, get("/api/me", Some(&both))).await;
    assert_eq!(me.json()["email"], "owner@acme.test", "{}", me.text);
    // Signing in from another site is refused too.
    let login = Request::post("/api/auth/login")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, "http://127.0.0.2:9000")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(
            r#"{{"email":"owner@acme.test","password":"{PASSWORD}"}}"#
        )))
        .unwrap();
    let a = send(&w, login).await;
    assert_eq!(
        (a.status, code(&a).as_str()),
        (StatusCode::FORBIDDEN, "cross_origin")
    );
}

#[tokio::test]
async fn pages_show_only_what_the_role_may_do_and_the_server_refuses_the_rest() {
    let w = world().await;
    let owner = sign_in(&w, "owner@acme.test").await;
    let user = sign_in(&w, "user@acme.test").await;
    let detail = "/plugins/@elizaos/plugin-discord";
    let install_link = r#"href="/plugins/@elizaos/plugin-discord/install?org=acme""#;

    let page = send(&w, get(detail, Some(&owner))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains(install_link),
        "the owner is offered the install"
    );
    assert!(page.text.contains(r#"href="/members?org=acme""#));
    let page = send(&w, get(detail, Some(&user))).await;
    assert!(
        !page.text.contains(install_link),
        "the org_user is not offered it"
    );
    assert!(!page.text.contains("/members?org=acme"));
    let page = send(&w, get(detail, None)).await;
    assert!(!page.text.contains(install_link) && page.text.contains(r#"href="/login""#));

    let install = format!("{detail}/install?org=acme");
    assert_eq!(
        send(&w, get(&install, Some(&owner))).await.status,
        StatusCode::OK
    );
    let refused = send(&w, get(&install, Some(&user))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.text.contains("does not allow installing"),
        "{}",
        refused.text
    );
    // Whatever the page shows, the API refuses the org_user's install.
    let token = token_of(&w, &user).await;
    let request = Request::post("/api/orgs/acme/plugins")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("http://{HOST}"))
        .header(header::COOKIE, &user)
        .header("x-csrf-token", token)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"plugin":"@elizaos/plugin-discord"}"#))
        .unwrap();
    let a = send(&w, request).await;
    assert_eq!(
        (a.status, a.json()["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );

    // A customer of the organisation sees none of its plugins (the API refuses them too).
    let customer = sign_in(&w, "customer@acme.test").await;
    let a = send(&w, get("/plugins/installed?org=acme", Some(&customer))).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.text
            .contains("does not allow seeing its installed plugins"),
        "{}",
        a.text
    );

    // An organisation's pages send a visitor to sign in, and back after.
    let a = send(&w, get("/plugins/installed?org=acme", None)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(
        a.headers[header::LOCATION],
        "/login?next=%2Fplugins%2Finstalled%3Forg%3Dacme"
    );
    // One the viewer is not in is not shown.
    let a = send(&w, get("/plugins/activity?org=globex", Some(&owner))).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_catalogue_page_is_a_plain_form_whose_state_is_the_url() {
    let w = world().await;
    // Empty fields, as a form without JavaScript sends them, leave their filters open.
    let a = send(
        &w,
        get(
            "/plugins?q=discord&topic=&kind=&compat=&license=&permission=&sort=&deprecated=",
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.text.contains(r#"value="discord""#));
    assert!(
        a.text
            .contains(r#"href="/plugins/@elizaos/plugin-discord""#)
    );
    // A filter and a page in the URL come back in the form and the links.
    let a = send(&w, get("/plugins?kind=action&sort=stars&page=2", None)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.text.contains(r#"<option value="stars" selected>"#),
        "the sort is kept"
    );
    assert!(
        a.text.contains("/plugins?kind=action&amp;sort=stars"),
        "the pager keeps the filters"
    );
    assert!(a.text.contains("Page 2 of"));
    // What the search cannot take is said on the page.
    let a = send(&w, get("/plugins?compat=v9", None)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text.contains("This search cannot be made"), "{}", a.text);
    // The words of the query are escaped where they are shown.
    let a = send(
        &w,
        get("/plugins?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", None),
    )
    .await;
    assert!(!a.text.contains("<script>alert(1)"));
    assert!(a.text.contains("&lt;script&gt;alert(1)"));
}

#[tokio::test]
async fn members_invitations_and_administration_pages_are_for_those_who_may() {
    let w = world().await;
    let owner = sign_in(&w, "owner@acme.test").await;
    let user = sign_in(&w, "user@acme.test").await;

    let page = send(&w, get("/members?org=acme", Some(&owner))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("user@acme.test") && page.text.contains("Make the link"));
    let page = send(&w, get("/members?org=acme", Some(&user))).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.text.contains("does not allow managing its members"));

    // Only platform owners administer; nobody here is one.
    let page = send(&w, get("/admin", Some(&owner))).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        !page.text.contains(r#"href="/admin""#),
        "no Admin link for an org owner"
    );

    // An invitation's link shows what it offers, signed in or not; a bad one says what to do.
    let accounts = Accounts::new(w._t.store.clone());
    let group = w._t.store.group_by_name("acme").await.unwrap().unwrap();
    let (_, secret) = accounts
        .invite(&group, Role::OrgUser, None, 7, "owner@acme.test")
        .await
        .unwrap();
    let link = format!("/invitations/{secret}");
    let page = send(&w, get(&link, None)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("Join acme") && page.text.contains("Make my account and join"),
        "{}",
        page.text
    );
    let page = send(&w, get(&link, Some(&user))).await;
    assert!(page.text.contains("You are signed in as user@acme.test"));
    let page = send(&w, get("/invitations/phi_not-a-real-one", None)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.text.contains("Ask whoever sent it for a new link"));
}
