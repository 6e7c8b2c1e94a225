//! An organisation's members and invitations through the real router, on SQLite and PostgreSQL: the
//! list, role changes and removals (the last owner kept), invitations made, listed, withdrawn, read by
//! their link and accepted once (signed in, or as someone new who is then signed in), each change
//! recorded with who made it, and nothing half-written when one is refused.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use plughub_domain::{EventType, Plan, Role};
use plughub_server::{AppState, router};
use plughub_store::EventFilter;
use plughub_testkit::{BACKENDS, TestStore};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

const PASSWORD: &str = "a long enough password";

struct World {
    t: TestStore,
    app: axum::Router,
    owner: String,
    user: String,
    /// An org_owner of globex, who is nobody in acme.
    stranger: String,
}

async fn world(backend: plughub_testkit::TestBackend) -> World {
    let t = TestStore::new(backend).await;
    let mut tx = t.store.begin().await.unwrap();
    for org in ["acme", "globex"] {
        tx.create_group(org, Plan::Pro, None, "test").await.unwrap();
    }
    tx.commit().await.unwrap();
    let accounts = Accounts::new(t.store.clone());
    let mut tokens = Vec::new();
    for (email, name, org, role) in [
        ("ada@acme.test", "Ada", "acme", Role::OrgOwner),
        ("bo@acme.test", "Bo", "acme", Role::OrgUser),
        ("cy@globex.test", "Cy", "globex", Role::OrgOwner),
    ] {
        accounts
            .create_person(email, name, Some(PASSWORD), "test")
            .await
            .unwrap();
        accounts.set_role(email, org, role, "test").await.unwrap();
        tokens.push(
            accounts
                .create_token(email, "t", 1, "test")
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
    World {
        t,
        app,
        stranger: tokens.pop().unwrap(),
        user: tokens.pop().unwrap(),
        owner: tokens.pop().unwrap(),
    }
}

/// A request with a token (or none), a cookie (or none) and a JSON body (or none).
async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    cookie: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value, HeaderMap) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
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

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

fn roles(list: &Value) -> Vec<(String, String)> {
    list["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["email"].as_str().unwrap().to_string(),
                m["role"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn members_change_and_go_but_the_last_owner_stays() {
    for backend in BACKENDS {
        let w = world(backend).await;
        let app = &w.app;
        // Every member sees who is in it, with names and roles; a stranger finds no such organisation.
        let (status, list, _) = call(
            app,
            "GET",
            "/api/orgs/acme/members",
            Some(&w.user),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(
            roles(&list),
            [
                ("ada@acme.test".into(), "org_owner".into()),
                ("bo@acme.test".into(), "org_user".into())
            ]
        );
        assert_eq!(list["members"][0]["display_name"], "Ada");
        let (status, body, _) = call(
            app,
            "GET",
            "/api/orgs/acme/members",
            Some(&w.stranger),
            None,
            None,
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "org_not_found")
        );

        // The only owner can be neither demoted nor removed, and is told what to do.
        let demote = json!({ "role": "org_user" });
        let ada = "/api/orgs/acme/members/ada@acme.test";
        let (status, body, _) =
            call(app, "PUT", ada, Some(&w.owner), None, Some(demote.clone())).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "last_owner"),
            "{body}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("make someone else org_owner first"),
            "{message}"
        );
        let (status, body, _) = call(app, "DELETE", ada, Some(&w.owner), None, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "last_owner"),
            "{body}"
        );

        // Someone not in acme (known elsewhere or not at all) is not a member of it.
        for nobody in ["cy@globex.test", "nobody@example.org", "not-an-email"] {
            let uri = format!("/api/orgs/acme/members/{nobody}");
            let (status, body, _) =
                call(app, "PUT", &uri, Some(&w.owner), None, Some(demote.clone())).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::NOT_FOUND, "member_not_found"),
                "{nobody}: {body}"
            );
            let (status, body, _) = call(app, "DELETE", &uri, Some(&w.owner), None, None).await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::NOT_FOUND, "member_not_found"),
                "{body}"
            );
        }
        // Owners give org roles only; an org_user changes nobody's.
        let (status, body, _) = call(
            app,
            "PUT",
            "/api/orgs/acme/members/bo@acme.test",
            Some(&w.owner),
            None,
            Some(json!({ "role": "platform_owner" })),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            "{body}"
        );
        let (status, body, _) = call(
            app,
            "PUT",
            "/api/orgs/acme/members/bo@acme.test",
            Some(&w.user),
            None,
            Some(json!({ "role": "org_owner" })),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{body}"
        );

        // With a second owner, the first may step down; then the second is the last.
        let (status, list, _) = call(
            app,
            "PUT",
            "/api/orgs/acme/members/bo@acme.test",
            Some(&w.owner),
            None,
            Some(json!({ "role": "org_owner" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let (status, list, _) =
            call(app, "PUT", ada, Some(&w.owner), None, Some(demote.clone())).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(
            roles(&list),
            [
                ("ada@acme.test".into(), "org_user".into()),
                ("bo@acme.test".into(), "org_owner".into())
            ]
        );
        let bo = "/api/orgs/acme/members/bo@acme.test";
        let (status, body, _) = call(app, "DELETE", bo, Some(&w.user), None, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "last_owner"),
            "{body}"
        );
        // Bo removes Ada, who then finds no acme.
        let (status, list, _) = call(app, "DELETE", ada, Some(&w.user), None, None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(roles(&list), [("bo@acme.test".into(), "org_owner".into())]);
        let (status, body, _) = call(
            app,
            "GET",
            "/api/orgs/acme/members",
            Some(&w.owner),
            None,
            None,
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "org_not_found")
        );

        // Each change is an event of acme, with who made it; refused ones left nothing.
        let acme = w.t.store.group_by_name("acme").await.unwrap().unwrap();
        let events = |event_type| {
            let store = w.t.store.clone();
            let group_id = acme.id.clone();
            async move {
                store
                    .events(&EventFilter {
                        event_type: Some(event_type),
                        group_id: Some(group_id),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
            }
        };
        let changed = events(EventType::MemberChanged).await;
        let by_api: Vec<&str> = changed
            .iter()
            .filter(|e| e.actor != "test")
            .map(|e| e.metadata["role"].as_str().unwrap())
            .collect();
        assert_eq!(by_api, ["org_owner", "org_user"], "{changed:?}");
        assert!(
            changed
                .iter()
                .filter(|e| e.actor != "test")
                .all(|e| e.actor == "ada@acme.test")
        );
        let removed = events(EventType::MemberRemoved).await;
        assert_eq!(removed.len(), 1, "{removed:?}");
        assert_eq!(removed[0].actor, "bo@acme.test");
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn an_invitation_is_shown_once_and_used_once() {
    for backend in BACKENDS {
        let w = world(backend).await;
        let app = &w.app;
        let (status, made, _) = call(
            app,
            "POST",
            "/api/orgs/acme/invitations",
            Some(&w.owner),
            None,
            Some(json!({ "role": "org_user" })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let link = made["link"].as_str().unwrap();
        let secret = link.strip_prefix("/invitations/").unwrap();
        assert!(
            secret.starts_with("phi_") && secret.len() == 4 + 43,
            "{secret}"
        );
        assert_eq!(made["role"], "org_user");
        assert!(made["email"].is_null());
        // Seven days by default.
        let expires = time::OffsetDateTime::parse(
            made["expires_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let days = (expires - time::OffsetDateTime::now_utc()).whole_hours();
        assert!((167..=168).contains(&days), "{days} h");

        // Listed without its secret, to owners only; the store has its hash only.
        let (status, list, _) = call(
            app,
            "GET",
            "/api/orgs/acme/invitations",
            Some(&w.owner),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["invitations"].as_array().unwrap().len(), 1);
        assert_eq!(list["invitations"][0]["id"], made["id"]);
        assert_eq!(list["invitations"][0]["created_by"], "ada@acme.test");
        assert!(!list.to_string().contains(&secret[4..]), "{list}");
        let stored =
            w.t.store
                .invitation_by_hash(&plughub_accounts::hash_secret(secret))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(stored.id, made["id"]);
        let (status, body, _) = call(
            app,
            "GET",
            "/api/orgs/acme/invitations",
            Some(&w.user),
            None,
            None,
        )
        .await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));

        // Anyone with the link reads it, signed in or not.
        let offer_uri = format!("/api/invitations/{secret}");
        let (status, offer, _) = call(app, "GET", &offer_uri, None, None, None).await;
        assert_eq!(status, StatusCode::OK, "{offer}");
        assert_eq!(offer["org"], "acme");
        assert_eq!(offer["role"], "org_user");

        // Someone new accepts it: refused while the password is short or the email taken (nothing
        // made), then made a person, a member, and signed in with the login's cookie.
        let accept_uri = format!("/api/invitations/{secret}/accept");
        let (status, body, _) = call(app, "POST", &accept_uri, None, None, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "unauthenticated"),
            "{body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("sign in")
        );
        let (status, body, _) = call(
            app,
            "POST",
            &accept_uri,
            None,
            None,
            Some(json!({ "email": "dee@acme.test", "password": "short" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, body, _) = call(
            app,
            "POST",
            &accept_uri,
            None,
            None,
            Some(json!({ "email": "bo@acme.test", "password": PASSWORD })),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "email_taken"),
            "{body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("sign in as them first")
        );
        assert!(
            w.t.store
                .person_by_email("dee@acme.test")
                .await
                .unwrap()
                .is_none()
        );
        let (status, accepted, headers) = call(
            app,
            "POST",
            &accept_uri,
            None,
            None,
            Some(json!({ "email": "Dee@acme.test", "password": PASSWORD, "display_name": "Dee" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{accepted}");
        assert_eq!(accepted["email"], "dee@acme.test");
        assert_eq!(accepted["new_person"], true);
        let cookie = headers
            .get(header::SET_COOKIE)
            .expect("the session cookie")
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            cookie.starts_with("plughub_session=phs_")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        let session = cookie.split(';').next().unwrap();
        let (status, me, _) = call(app, "GET", "/api/me", None, Some(session), None).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["memberships"][0]["group"], "acme");
        assert_eq!(me["memberships"][0]["role"], "org_user");

        // Used: it admits nobody again, and is no longer listed.
        let (status, body, _) = call(app, "GET", &offer_uri, None, None, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "invitation_not_found")
        );
        let (status, body, _) = call(app, "POST", &accept_uri, Some(&w.stranger), None, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "invitation_not_found"),
            "{body}"
        );
        let (_, list, _) = call(
            app,
            "GET",
            "/api/orgs/acme/invitations",
            Some(&w.owner),
            None,
            None,
        )
        .await;
        assert_eq!(list["invitations"], json!([]));

        // Recorded, with who did it.
        let events = w.t.store.events(&EventFilter::default()).await.unwrap();
        let of = |t: EventType| events.iter().filter(move |e| e.event_type == t);
        let created: Vec<_> = of(EventType::InvitationCreated).collect();
        assert_eq!(created.len(), 1);
        assert_eq!(created[0].actor, "ada@acme.test");
        let accepted: Vec<_> = of(EventType::InvitationAccepted).collect();
        assert_eq!(accepted.len(), 1);
        assert_eq!(accepted[0].actor, "dee@acme.test");
        assert!(of(EventType::PersonCreated).any(|e| e.metadata["email"] == "dee@acme.test"));
        assert!(
            !events
                .iter()
                .any(|e| e.metadata.to_string().contains(&secret[4..]))
        );
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn invitations_for_someone_expired_or_withdrawn_admit_nobody_else() {
    for backend in BACKENDS {
        let w = world(backend).await;
        let app = &w.app;
        let invite = |body: Value| {
            call(
                app,
                "POST",
                "/api/orgs/acme/invitations",
                Some(&w.owner),
                None,
                Some(body),
            )
        };
        // For Cy only: another signed-in person is refused, Cy (an owner of globex) joins acme.
        let (status, made, _) =
            invite(json!({ "role": "customer", "email": "CY@globex.test", "days": 1 })).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made["email"], "cy@globex.test");
        let secret = made["link"]
            .as_str()
            .unwrap()
            .strip_prefix("/invitations/")
            .unwrap()
            .to_string();
        let accept_uri = format!("/api/invitations/{secret}/accept");
        let (status, body, _) = call(app, "POST", &accept_uri, Some(&w.user), None, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "invitation_not_yours"),
            "{body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("cy@globex.test")
        );
        let (status, body, _) = call(
            app,
            "POST",
            &accept_uri,
            None,
            None,
            Some(json!({ "email": "eve@acme.test", "password": PASSWORD })),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "invitation_not_yours"),
            "{body}"
        );
        assert!(
            w.t.store
                .person_by_email("eve@acme.test")
                .await
                .unwrap()
                .is_none()
        );
        let (status, accepted, headers) =
            call(app, "POST", &accept_uri, Some(&w.stranger), None, None).await;
        assert_eq!(status, StatusCode::OK, "{accepted}");
        assert_eq!(accepted["new_person"], false);
        assert!(headers.get(header::SET_COOKIE).is_none());
        let (status, list, _) = call(
            app,
            "GET",
            "/api/orgs/acme/members",
            Some(&w.owner),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            roles(&list).contains(&("cy@globex.test".into(), "customer".into())),
            "{list}"
        );

        // Withdrawn: gone from the list, and its link admits nobody; withdrawing again is not found.
        let (_, made, _) = invite(json!({ "role": "org_user" })).await;
        let secret = made["link"]
            .as_str()
            .unwrap()
            .strip_prefix("/invitations/")
            .unwrap()
            .to_string();
        let withdraw_uri = format!(
            "/api/orgs/acme/invitations/{}",
            made["id"].as_str().unwrap()
        );
        let (status, body, _) = call(app, "DELETE", &withdraw_uri, Some(&w.user), None, None).await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
        let (status, list, _) =
            call(app, "DELETE", &withdraw_uri, Some(&w.owner), None, None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["invitations"], json!([]));
        let (status, body, _) =
            call(app, "DELETE", &withdraw_uri, Some(&w.owner), None, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "invitation_not_found")
        );
        let (status, body, _) = call(
            app,
            "GET",
            &format!("/api/invitations/{secret}"),
            None,
            None,
            None,
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "invitation_not_found")
        );
        // Cy, acme's customer now, cannot withdraw acme's invitations.
        let (_, made, _) = invite(json!({ "role": "org_user" })).await;
        let uri = format!(
            "/api/orgs/acme/invitations/{}",
            made["id"].as_str().unwrap()
        );
        let (status, body, _) = call(app, "DELETE", &uri, Some(&w.stranger), None, None).await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));

        // Expired (made in the store with an expiry past): 410, saying to ask for a new one.
        let acme = w.t.store.group_by_name("acme").await.unwrap().unwrap();
        let (old, old_hash) = plughub_accounts::new_secret("phi").unwrap();
        let past =
            plughub_store::format_time(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
        let mut tx = w.t.store.begin().await.unwrap();
        tx.create_invitation(
            &acme.id,
            "acme",
            Role::OrgUser,
            None,
            &old_hash,
            &past,
            "test",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let (status, body, _) = call(
            app,
            "GET",
            &format!("/api/invitations/{old}"),
            None,
            None,
            None,
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::GONE, "invitation_expired"),
            "{body}"
        );
        assert!(body["error"]["message"].as_str().unwrap().contains("ask"));
        let (status, body, _) = call(
            app,
            "POST",
            &format!("/api/invitations/{old}/accept"),
            Some(&w.user),
            None,
            None,
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::GONE, "invitation_expired"),
            "{body}"
        );
        // Unknown links, and bounds on days and roles.
        let (status, body, _) =
            call(app, "GET", "/api/invitations/phi_nothing", None, None, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "invitation_not_found")
        );
        for bad in [
            json!({ "role": "org_user", "days": 31 }),
            json!({ "role": "org_user", "days": 0 }),
            json!({ "role": "platform_owner" }),
            json!({ "role": "org_user", "email": "not an email" }),
        ] {
            let (status, body, _) = invite(bad.clone()).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        }
        w.t.cleanup().await;
    }
}
