//! Reviews and ratings through the real router, on SQLite and PostgreSQL: who may review (members of an
//! organisation that has the plugin installed or uninstalled it within 90 days), one review per person
//! (an edit replaces it and keeps its history), helpful votes once and never on one's own, the
//! publisher's answer only by its people, reports and the moderators' queue (hiding takes a review from
//! everyone but moderators and from every rating), bans, soft delete, and ratings in search (the
//! `min_rating` filter and the `rating` sort) following each change.
//!
//! Installs are recorded in the store as the installer records them (a `plugin_instance` thing and its
//! `plugin_installed` / `plugin_uninstalled` events): what reviews read is that record, not the package.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use plughub_accounts::{Accounts, PLATFORM_GROUP};
use plughub_catalog::Catalog;
use plughub_domain::{EventType, NewEvent, Plan, Role, ThingKind};
use plughub_server::{AppState, router};
use plughub_store::NewThing;
use plughub_testkit::{BACKENDS, TestBackend, TestStore};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

const P: &str = "@elizaos/plugin-sui";
const Q: &str = "@elizaos/plugin-aptos";

struct World {
    t: TestStore,
    /// The router's catalogue: search follows review changes in the background, `refreshed` waits.
    catalog: Arc<Catalog>,
    app: axum::Router,
    /// Ada (org_user of acme, which has P and Q installed).
    ada: String,
    /// Cy (org_owner of acme).
    cy: String,
    /// Dee, of globex, which never installed anything.
    dee: String,
    /// Eve, of gone, which uninstalled P ten minutes ago.
    eve: String,
    /// Fay, of old, which uninstalled P 91 days ago.
    fay: String,
    /// The platform owner.
    root: String,
    /// Gil, a customer of acme.
    gil: String,
}

async fn world(backend: TestBackend) -> World {
    let t = TestStore::new(backend).await;
    let mut tx = t.store.begin().await.unwrap();
    for org in ["acme", "globex", "gone", "old", PLATFORM_GROUP] {
        tx.create_group(org, Plan::Pro, None, "test").await.unwrap();
    }
    tx.commit().await.unwrap();
    let accounts = Accounts::new(t.store.clone());
    let mut tokens = Vec::new();
    for (email, name, org, role) in [
        ("ada@acme.test", "Ada", "acme", Role::OrgUser),
        ("cy@acme.test", "Cy", "acme", Role::OrgOwner),
        ("dee@globex.test", "Dee", "globex", Role::OrgOwner),
        ("eve@gone.test", "", "gone", Role::OrgUser),
        ("fay@old.test", "Fay", "old", Role::OrgUser),
        (
            "root@plughub.test",
            "Root",
            PLATFORM_GROUP,
            Role::PlatformOwner,
        ),
        ("gil@acme.test", "Gil", "acme", Role::Customer),
    ] {
        accounts
            .create_person(email, name, None, "test")
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
    let catalog = Arc::new(Catalog::open(t.store.clone()).await.unwrap());
    let app = router(AppState::new(catalog.clone(), accounts, None));
    install(&t, "acme", P, "1.2.0").await;
    install(&t, "acme", Q, "0.4.0").await;
    let gone = install(&t, "gone", P, "0.9.0").await;
    uninstall(&t, "gone", &gone, P, "0.9.0").await;
    // Old uninstalled it 91 days ago: its instance archived, its one uninstall event stamped then (the
    // store stamps every event it writes now, so the test writes that one itself).
    let old = install(&t, "old", P, "0.8.0").await;
    let old_group = t.store.group_by_name("old").await.unwrap().unwrap();
    let mut tx = t.store.begin().await.unwrap();
    tx.update_thing(
        &old,
        "archived",
        &json!({ "plugin": P, "version": "0.8.0", "state": "UNINSTALLED" }).to_string(),
        NewEvent {
            event_type: EventType::PluginDeactivated,
            actor: "test".into(),
            target: None,
            group_id: Some(old_group.id.clone()),
            metadata: json!({}),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let long_ago =
        plughub_store::format_time(time::OffsetDateTime::now_utc() - time::Duration::days(91));
    t.append_event_at(
        EventType::PluginUninstalled.as_str(),
        "test",
        Some(&old),
        Some(&old_group.id),
        &long_ago,
        &json!({ "plugin": P, "version": "0.8.0", "reason": null }),
    )
    .await;
    let mut it = tokens.into_iter();
    let mut next = || it.next().unwrap();
    World {
        ada: next(),
        cy: next(),
        dee: next(),
        eve: next(),
        fay: next(),
        root: next(),
        gil: next(),
        catalog,
        app,
        t,
    }
}

/// An instance of `plugin` in `org`, as an install leaves it; its thing's id.
async fn install(t: &TestStore, org: &str, plugin: &str, version: &str) -> String {
    let group = t.store.group_by_name(org).await.unwrap().unwrap();
    let properties = json!({ "plugin": plugin, "version": version, "state": "ACTIVE" }).to_string();
    let mut tx = t.store.begin().await.unwrap();
    let id = tx
        .insert_thing(
            &NewThing {
                kind: ThingKind::PluginInstance,
                name: plugin,
                group_id: Some(&group.id),
                status: "active",
                properties: &properties,
            },
            NewEvent {
                event_type: EventType::PluginInstalled,
                actor: "test".into(),
                target: None,
                group_id: Some(group.id.clone()),
                metadata: json!({ "phase": "installed", "plugin": plugin, "version": version }),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

/// The instance uninstalled now, as an uninstall leaves it.
async fn uninstall(t: &TestStore, org: &str, id: &str, plugin: &str, version: &str) {
    let group = t.store.group_by_name(org).await.unwrap().unwrap();
    let properties =
        json!({ "plugin": plugin, "version": version, "state": "UNINSTALLED" }).to_string();
    let mut tx = t.store.begin().await.unwrap();
    tx.update_thing(
        id,
        "archived",
        &properties,
        NewEvent {
            event_type: EventType::PluginUninstalled,
            actor: "test".into(),
            target: None,
            group_id: Some(group.id.clone()),
            metadata: json!({ "plugin": plugin, "version": version, "reason": null }),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
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

fn mine(plugin: &str) -> String {
    format!(
        "/api/reviews/mine?plugin={}",
        plugin.replace('/', "%2F").replace('@', "%40")
    )
}

fn list_uri(plugin: &str) -> String {
    format!(
        "/api/reviews?plugin={}",
        plugin.replace('/', "%2F").replace('@', "%40")
    )
}

async fn put_review(
    w: &World,
    token: &str,
    plugin: &str,
    stars: u8,
    text: &str,
    org: &str,
) -> (StatusCode, Value) {
    call(
        &w.app,
        "PUT",
        &mine(plugin),
        Some(token),
        Some(json!({ "stars": stars, "text": text, "org": org })),
    )
    .await
}

fn ids(page: &Value) -> Vec<String> {
    page["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn who_may_review_one_review_each_with_history_votes_and_answers() {
    for backend in BACKENDS {
        let w = world(backend).await;
        let app = &w.app;

        // Globex never had it; old uninstalled it 91 days ago; a customer-less stranger to the org
        // named is not its member.
        let (status, body) = put_review(&w, &w.dee, P, 5, "great", "globex").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "not_eligible_to_review"),
            "{body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("90 days")
        );
        let (status, body) = put_review(&w, &w.fay, P, 5, "great", "old").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "not_eligible_to_review"),
            "{body}"
        );
        let (status, body) = put_review(&w, &w.dee, P, 5, "great", "acme").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "org_not_found"),
            "{body}"
        );
        // A customer of acme does not use its plugins: not a reviewer of them.
        let (status, body) = put_review(&w, &w.gil, P, 5, "great", "acme").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "not_eligible_to_review"),
            "{body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("customer")
        );
        // Unauthenticated: refused.
        let (status, _) = call(
            app,
            "PUT",
            &mine(P),
            None,
            Some(json!({ "stars": 5, "text": "", "org": "acme" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Gone uninstalled it minutes ago: Eve may, and her review shows the version they had.
        let (status, eve) = put_review(&w, &w.eve, P, 3, "it was fine", "gone").await;
        assert_eq!(status, StatusCode::CREATED, "{eve}");
        assert_eq!(eve["version"], "0.9.0");
        assert_eq!(
            eve["reviewer"], "eve",
            "a person without a display name goes by their email's local part"
        );

        // Ada writes, then edits: one review, the same id, both versions in its history.
        let (status, first) = put_review(&w, &w.ada, "sui", 2, "flaky at first", "acme").await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!(
            (
                first["version"].as_str(),
                first["reviewer"].as_str(),
                first["plugin"].as_str()
            ),
            (Some("1.2.0"), Some("Ada"), Some(P))
        );
        let id = first["id"].as_str().unwrap().to_string();
        let (status, second) = put_review(&w, &w.ada, P, 4, "fine after 1.2.0", "acme").await;
        assert_eq!(status, StatusCode::OK, "{second}");
        assert_eq!(second["id"], id.as_str());
        assert_eq!(
            (second["stars"].as_u64(), second["text"].as_str()),
            (Some(4), Some("fine after 1.2.0"))
        );
        let history_uri = format!("/api/reviews/{id}/history");
        let (status, history) = call(app, "GET", &history_uri, None, None).await;
        assert_eq!(status, StatusCode::OK, "{history}");
        let versions: Vec<(u64, &str)> = history["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["stars"].as_u64().unwrap(), v["text"].as_str().unwrap()))
            .collect();
        assert_eq!(versions, [(2, "flaky at first"), (4, "fine after 1.2.0")]);
        // Bad input is refused and changes nothing.
        for bad in [
            json!({ "stars": 6, "text": "x", "org": "acme" }),
            json!({ "stars": 0, "text": "x", "org": "acme" }),
            json!({ "stars": 3, "text": "x".repeat(2001), "org": "acme" }),
        ] {
            let (status, body) = call(app, "PUT", &mine(P), Some(&w.ada), Some(bad.clone())).await;
            assert!(
                status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
                "{bad}: {status} {body}"
            );
        }
        let (status, body) = put_review(&w, &w.ada, P, 3, &"é".repeat(2000), "acme").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "2,000 characters are allowed: {body}"
        );
        let (_, history) = call(app, "GET", &history_uri, None, None).await;
        assert_eq!(history["versions"].as_array().unwrap().len(), 3);
        let (_, _) = put_review(&w, &w.ada, P, 4, "fine after 1.2.0", "acme").await;

        // The public page: the summary and both reviews, with display names and never an organisation.
        let (status, page) = call(app, "GET", &list_uri(P), None, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["summary"]["count"], 2);
        assert_eq!(page["summary"]["average"], 3.5);
        assert_eq!(page["summary"]["distribution"], json!([0, 0, 1, 1, 0]));
        assert_eq!(page["versions"]["1.2.0"]["count"], 1);
        assert_eq!(page["versions"]["0.9.0"]["count"], 1);
        let text = page.to_string();
        for secret in ["acme", "gone", "@acme.test", "@gone.test"] {
            assert!(!text.contains(secret), "{secret} shown: {text}");
        }
        let (_, narrowed) = call(
            app,
            "GET",
            &format!("{}&version=0.9.0", list_uri(P)),
            None,
            None,
        )
        .await;
        assert_eq!(ids(&narrowed), [eve["id"].as_str().unwrap()]);

        // Helpful votes: once per person, never on one's own.
        let vote_uri = format!("/api/reviews/{id}/vote");
        let (status, voted) = call(app, "PUT", &vote_uri, Some(&w.cy), None).await;
        assert_eq!(status, StatusCode::OK, "{voted}");
        assert_eq!(
            (
                voted["changed"].as_bool(),
                voted["review"]["helpful"].as_i64()
            ),
            (Some(true), Some(1))
        );
        let (_, again) = call(app, "PUT", &vote_uri, Some(&w.cy), None).await;
        assert_eq!(
            (
                again["changed"].as_bool(),
                again["review"]["helpful"].as_i64()
            ),
            (Some(false), Some(1))
        );
        let (status, body) = call(app, "PUT", &vote_uri, Some(&w.ada), None).await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "own_review"));
        let (_, eve_votes) = call(app, "PUT", &vote_uri, Some(&w.eve), None).await;
        assert_eq!(eve_votes["review"]["helpful"], 2);
        let (_, withdrawn) = call(app, "DELETE", &vote_uri, Some(&w.eve), None).await;
        assert_eq!(
            (
                withdrawn["changed"].as_bool(),
                withdrawn["review"]["helpful"].as_i64()
            ),
            (Some(true), Some(1))
        );
        let (_, page) = call(app, "GET", &list_uri(P), Some(&w.cy), None).await;
        assert_eq!(ids(&page)[0], id, "the most helpful first");
        assert_eq!(page["reviews"][0]["voted"], true);

        // The publisher's answer: refused to whoever is not one of its people.
        let response_uri = format!("/api/reviews/{id}/response");
        for token in [&w.cy, &w.dee, &w.root] {
            let (status, body) = call(
                app,
                "PUT",
                &response_uri,
                Some(token),
                Some(json!({ "text": "thanks" })),
            )
            .await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::FORBIDDEN, "not_the_publisher"),
                "{body}"
            );
        }
        let (_, page) = call(app, "GET", &list_uri(P), None, None).await;
        assert!(
            page["reviews"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["response"].is_null())
        );
        // Dee's claim of @elizaos granted, Dee answers for the publisher; replacing the answer is hers too.
        let dee =
            w.t.store
                .person_by_email("dee@globex.test")
                .await
                .unwrap()
                .unwrap();
        let publishers = plughub_market::publishers::Publishers::new(w.t.store.clone());
        let claim = publishers
            .claim(&dee.id, "@elizaos", "our npm account maintains the scope")
            .await
            .unwrap();
        publishers
            .grant(
                &claim.id,
                "checked the npm maintainers",
                "root@plughub.test",
            )
            .await
            .unwrap();
        let (status, answered) = call(
            app,
            "PUT",
            &response_uri,
            Some(&w.dee),
            Some(json!({ "text": "thanks: 1.2.1 fixes it" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answered}");
        assert_eq!(answered["response"]["text"], "thanks: 1.2.1 fixes it");
        let (status, body) = call(
            app,
            "PUT",
            &response_uri,
            Some(&w.cy),
            Some(json!({ "text": "me too" })),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "not_the_publisher")
        );
        let (status, body) = call(
            app,
            "PUT",
            &response_uri,
            Some(&w.dee),
            Some(json!({ "text": "" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (_, page) = call(app, "GET", &list_uri(P), None, None).await;
        let shown = page["reviews"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id.as_str())
            .unwrap();
        assert_eq!(shown["response"]["text"], "thanks: 1.2.1 fixes it");

        // Every change is an event on the review.
        let events =
            w.t.store
                .events(&plughub_store::EventFilter {
                    target: Some(id.clone()),
                    ..Default::default()
                })
                .await
                .unwrap();
        let types: Vec<EventType> = events.iter().map(|e| e.event_type).collect();
        assert_eq!(
            types
                .iter()
                .filter(|t| **t == EventType::ReviewPosted)
                .count(),
            1
        );
        assert_eq!(
            types
                .iter()
                .filter(|t| **t == EventType::ReviewEdited)
                .count(),
            3
        );
        assert_eq!(
            types
                .iter()
                .filter(|t| **t == EventType::ReviewVoted)
                .count(),
            3
        );
        assert_eq!(
            types
                .iter()
                .filter(|t| **t == EventType::ReviewAnswered)
                .count(),
            1
        );

        // Deleted, then written again: a new review, without the old one's answer or votes.
        let (status, _) = call(app, "DELETE", &mine(P), Some(&w.ada), None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, again) = put_review(&w, &w.ada, P, 3, "trying again", "acme").await;
        assert_eq!(status, StatusCode::CREATED, "{again}");
        assert_eq!(again["id"], id.as_str());
        assert!(again["response"].is_null(), "{again}");
        assert_eq!(again["helpful"], 0, "{again}");
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn moderation_hides_from_all_but_moderators_bans_and_soft_delete() {
    for backend in BACKENDS {
        let w = world(backend).await;
        let app = &w.app;
        let (_, ada) = put_review(&w, &w.ada, P, 1, "spam spam", "acme").await;
        let (_, eve) = put_review(&w, &w.eve, P, 5, "good", "gone").await;
        let id = ada["id"].as_str().unwrap().to_string();

        // Reported, once per person; the queue is the platform owners'.
        let reports = format!("/api/reviews/{id}/reports");
        let (status, body) = call(
            app,
            "POST",
            &reports,
            Some(&w.cy),
            Some(json!({ "reason": "advertising" })),
        )
        .await;
        assert_eq!(
            (status, body["new"].as_bool()),
            (StatusCode::CREATED, Some(true)),
            "{body}"
        );
        let (status, body) = call(
            app,
            "POST",
            &reports,
            Some(&w.cy),
            Some(json!({ "reason": "advertising" })),
        )
        .await;
        assert_eq!(
            (status, body["new"].as_bool()),
            (StatusCode::OK, Some(false))
        );
        let (status, _) = call(
            app,
            "POST",
            &reports,
            Some(&w.dee),
            Some(json!({ "reason": "" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, body) = call(app, "GET", "/api/admin/reviews", Some(&w.cy), None).await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
        let (status, queue) = call(app, "GET", "/api/admin/reviews", Some(&w.root), None).await;
        assert_eq!(status, StatusCode::OK, "{queue}");
        assert_eq!(queue["queue"].as_array().unwrap().len(), 1);
        assert_eq!(queue["queue"][0]["review"]["id"], id.as_str());
        assert_eq!(queue["queue"][0]["reports"][0]["reason"], "advertising");

        // Hidden: gone from everyone's page and every rating but the moderators'.
        let (status, body) = call(
            app,
            "POST",
            &format!("/api/admin/reviews/{id}/hide"),
            Some(&w.cy),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, hidden) = call(
            app,
            "POST",
            &format!("/api/admin/reviews/{id}/hide"),
            Some(&w.root),
            None,
        )
        .await;
        assert_eq!(
            (status, hidden["status"].as_str()),
            (StatusCode::OK, Some("hidden")),
            "{hidden}"
        );
        for viewer in [None, Some(w.ada.as_str()), Some(w.cy.as_str())] {
            let (_, page) = call(app, "GET", &list_uri(P), viewer, None).await;
            assert_eq!(ids(&page), [eve["id"].as_str().unwrap()], "{page}");
            assert_eq!(
                (
                    page["summary"]["count"].as_u64(),
                    page["summary"]["average"].as_f64()
                ),
                (Some(1), Some(5.0))
            );
            let (status, _) = call(
                app,
                "GET",
                &format!("/api/reviews/{id}/history"),
                viewer.filter(|v| *v != w.ada),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        let (status, _) = call(
            app,
            "PUT",
            &format!("/api/reviews/{id}/vote"),
            Some(&w.cy),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, page) = call(app, "GET", &list_uri(P), Some(&w.root), None).await;
        assert_eq!(ids(&page).len(), 2, "moderators see it: {page}");
        assert_eq!(page["summary"]["count"], 1, "and it counts for nobody");
        // An edit does not bring it back.
        let (status, edited) = put_review(&w, &w.ada, P, 2, "still spam", "acme").await;
        assert_eq!(
            (status, edited["status"].as_str()),
            (StatusCode::OK, Some("hidden"))
        );
        let (_, page) = call(app, "GET", &list_uri(P), None, None).await;
        assert_eq!(page["summary"]["count"], 1);
        // The hide resolved the report: the queue keeps it only as hidden, to restore.
        let (_, queue) = call(app, "GET", "/api/admin/reviews", Some(&w.root), None).await;
        assert_eq!(queue["queue"][0]["reports"], json!([]));
        let (status, restored) = call(
            app,
            "POST",
            &format!("/api/admin/reviews/{id}/restore"),
            Some(&w.root),
            None,
        )
        .await;
        assert_eq!(
            (status, restored["status"].as_str()),
            (StatusCode::OK, Some("published"))
        );
        let (_, page) = call(app, "GET", &list_uri(P), None, None).await;
        assert_eq!(page["summary"]["count"], 2);
        let (_, queue) = call(app, "GET", "/api/admin/reviews", Some(&w.root), None).await;
        assert_eq!(queue["queue"], json!([]));

        // Banned: no review, new or edited, until the ban is lifted.
        let ban = "/api/admin/reviewers/cy@acme.test/ban";
        let (status, _) = call(
            app,
            "PUT",
            ban,
            Some(&w.ada),
            Some(json!({ "reason": "abuse" })),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = call(
            app,
            "PUT",
            "/api/admin/reviewers/nobody@x.test/ban",
            Some(&w.root),
            Some(json!({ "reason": "abuse" })),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "person_not_found")
        );
        let (status, body) = call(
            app,
            "PUT",
            ban,
            Some(&w.root),
            Some(json!({ "reason": "abuse" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["bans"][0]["email"], "cy@acme.test");
        let (status, body) = put_review(&w, &w.cy, P, 5, "mine", "acme").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "banned_from_reviewing"),
            "{body}"
        );
        let (status, body) = call(app, "DELETE", ban, Some(&w.root), None).await;
        assert_eq!((status, body["bans"].clone()), (StatusCode::OK, json!([])));
        let (status, _) = put_review(&w, &w.cy, P, 5, "mine", "acme").await;
        assert_eq!(status, StatusCode::CREATED);

        // Soft delete by its author: shown and counted nowhere, kept in the store, written again later.
        let (status, _) = call(app, "DELETE", &mine(P), Some(&w.ada), None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = call(app, "DELETE", &mine(P), Some(&w.ada), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "review_not_found")
        );
        let (_, page) = call(app, "GET", &list_uri(P), Some(&w.root), None).await;
        assert!(!ids(&page).contains(&id), "{page}");
        assert_eq!(page["summary"]["count"], 2);
        let thing = w.t.store.thing(&id).await.unwrap().unwrap();
        assert_eq!(thing.status, "deleted");
        let (status, back) = put_review(&w, &w.ada, P, 3, "back", "acme").await;
        assert_eq!(
            (status, back["id"].as_str()),
            (StatusCode::CREATED, Some(id.as_str()))
        );
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn search_filters_by_min_rating_and_sorts_by_rating_as_reviews_change() {
    for backend in BACKENDS {
        let w = world(backend).await;
        let app = &w.app;
        let (_, ada_p) = put_review(&w, &w.ada, P, 5, "", "acme").await;
        put_review(&w, &w.cy, P, 4, "", "acme").await;
        put_review(&w, &w.ada, Q, 3, "", "acme").await;

        let names = |body: &Value| -> Vec<String> {
            body["hits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["name"].as_str().unwrap().to_string())
                .collect()
        };
        w.catalog.refreshed().await;
        let (status, found) = call(app, "GET", "/api/plugins?min_rating=4", None, None).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(names(&found), [P]);
        assert_eq!(
            (
                found["hits"][0]["rating"].as_f64(),
                found["hits"][0]["reviews"].as_u64()
            ),
            (Some(4.5), Some(2))
        );
        let (_, found) = call(app, "GET", "/api/plugins?min_rating=3", None, None).await;
        assert_eq!(found["total"], 2);
        let (_, sorted) = call(
            app,
            "GET",
            "/api/plugins?sort=rating&per_page=3",
            None,
            None,
        )
        .await;
        assert_eq!(&names(&sorted)[..2], [P, Q]);
        assert!(
            sorted["hits"][2]["rating"].is_null(),
            "unreviewed plugins after: {sorted}"
        );
        let (status, _) = call(app, "GET", "/api/plugins?min_rating=6", None, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Q rises above P once P loses its reviews: hidden, then deleted.
        put_review(&w, &w.cy, Q, 5, "", "acme").await;
        put_review(&w, &w.eve, P, 1, "", "gone").await;
        w.catalog.refreshed().await;
        let (_, sorted) = call(
            app,
            "GET",
            "/api/plugins?sort=rating&per_page=2",
            None,
            None,
        )
        .await;
        assert_eq!(names(&sorted), [Q, P], "Q 4.0 over P 3.33: {sorted}");
        let id = ada_p["id"].as_str().unwrap();
        call(
            app,
            "POST",
            &format!("/api/admin/reviews/{id}/hide"),
            Some(&w.root),
            None,
        )
        .await;
        w.catalog.refreshed().await;
        let (_, found) = call(app, "GET", "/api/plugins?min_rating=3", None, None).await;
        assert_eq!(
            names(&found),
            [Q],
            "P is 2.5 without the hidden review: {found}"
        );
        call(
            app,
            "POST",
            &format!("/api/admin/reviews/{id}/restore"),
            Some(&w.root),
            None,
        )
        .await;
        w.catalog.refreshed().await;
        let (_, found) = call(app, "GET", "/api/plugins?min_rating=3", None, None).await;
        assert_eq!(names(&found).len(), 2);
        call(app, "DELETE", &mine(Q), Some(&w.cy), None).await;
        w.catalog.refreshed().await;
        let (_, found) = call(app, "GET", "/api/plugins?min_rating=3.5", None, None).await;
        assert!(names(&found).is_empty(), "Q is 3 again, P 3.33: {found}");
        w.t.cleanup().await;
    }
}

/// An instance whose install failed, as the installer leaves it: its thing a draft in state FAILED, its
/// only `plugin_installed` event the one of the install's start. Its thing's id.
async fn failed_install(t: &TestStore, org: &str, plugin: &str, version: &str) -> String {
    let group = t.store.group_by_name(org).await.unwrap().unwrap();
    let properties = json!({ "plugin": plugin, "version": version, "state": "FAILED" }).to_string();
    let mut tx = t.store.begin().await.unwrap();
    let id = tx
        .insert_thing(
            &NewThing {
                kind: ThingKind::PluginInstance,
                name: plugin,
                group_id: Some(&group.id),
                status: "draft",
                properties: &properties,
            },
            NewEvent {
                event_type: EventType::PluginInstalled,
                actor: "test".into(),
                target: None,
                group_id: Some(group.id.clone()),
                metadata: json!({ "phase": "started", "plugin": plugin, "version": version }),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn no_write_from_a_stale_copy_failed_installs_give_no_right_and_a_repost_starts_afresh() {
    for backend in BACKENDS {
        let w = world(backend).await;
        let app = &w.app;

        // Hidden by a moderator, then edited by its author: still hidden, to everyone but them and
        // the moderators.
        let (_, ada) = put_review(&w, &w.ada, P, 1, "spam spam", "acme").await;
        let id = ada["id"].as_str().unwrap().to_string();
        let (status, _) = call(
            app,
            "POST",
            &format!("/api/admin/reviews/{id}/hide"),
            Some(&w.root),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, edited) = put_review(&w, &w.ada, P, 2, "spam, edited", "acme").await;
        assert_eq!(status, StatusCode::OK, "{edited}");
        assert_eq!(edited["status"], "hidden", "{edited}");
        let (_, own) = call(app, "GET", &list_uri(P), Some(&w.ada), None).await;
        assert_eq!(
            (
                own["yours"]["status"].as_str(),
                own["yours"]["text"].as_str()
            ),
            (Some("hidden"), Some("spam, edited")),
            "its author sees it, as hidden: {own}"
        );
        assert!(!ids(&own).contains(&id));
        let (_, page) = call(app, "GET", &list_uri(P), None, None).await;
        assert!(!ids(&page).contains(&id), "{page}");
        // The queue gives moderators the author's email, which bans go by.
        let (_, queue) = call(app, "GET", "/api/admin/reviews", Some(&w.root), None).await;
        let item = queue["queue"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["review"]["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{queue}"));
        assert_eq!(item["reviewer_email"], "ada@acme.test");

        // The compare-and-set under every change: a write from a copy read before another write is
        // refused (so a stale copy can never put back `hidden: false` or `deleted: false`).
        let row = w.t.store.review(&id).await.unwrap().unwrap();
        let (status, _) = call(
            app,
            "POST",
            &format!("/api/admin/reviews/{id}/restore"),
            Some(&w.root),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let mut tx = w.t.store.begin().await.unwrap();
        let written = tx
            .update_thing_if_unchanged(
                &id,
                &row.updated_at,
                "hidden",
                &row.properties.to_string(),
                NewEvent {
                    event_type: EventType::ReviewEdited,
                    actor: "test".into(),
                    target: None,
                    group_id: None,
                    metadata: json!({}),
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(!written, "a stale copy overwrote a newer write");
        let (_, page) = call(app, "GET", &list_uri(P), None, None).await;
        assert!(ids(&page).contains(&id), "restored, and stays so: {page}");
        // Hidden, edited, restored: the public history starts at the version restored; the text
        // that was hidden shows only to moderators (and its author).
        let history = format!("/api/reviews/{id}/history");
        let texts = |h: &Value| -> Vec<String> {
            h["versions"]
                .as_array()
                .unwrap_or_else(|| panic!("{h}"))
                .iter()
                .map(|v| v["text"].as_str().unwrap().to_string())
                .collect()
        };
        let (status, public) = call(app, "GET", &history, None, None).await;
        assert_eq!(status, StatusCode::OK, "{public}");
        assert_eq!(texts(&public), ["spam, edited"], "{public}");
        let (_, other) = call(app, "GET", &history, Some(&w.cy), None).await;
        assert_eq!(texts(&other), ["spam, edited"], "{other}");
        let (_, moderators) = call(app, "GET", &history, Some(&w.root), None).await;
        assert_eq!(texts(&moderators), ["spam spam", "spam, edited"]);

        // Nobody reports their own review; a hidden review takes no vote nor report, even from a
        // moderator; a platform owner does not ban themselves.
        let (status, body) = call(
            app,
            "POST",
            &format!("/api/reviews/{id}/reports"),
            Some(&w.ada),
            Some(json!({ "reason": "mine" })),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "own_review"),
            "{body}"
        );
        call(
            app,
            "POST",
            &format!("/api/admin/reviews/{id}/hide"),
            Some(&w.root),
            None,
        )
        .await;
        for token in [&w.cy, &w.root] {
            let (status, body) = call(
                app,
                "PUT",
                &format!("/api/reviews/{id}/vote"),
                Some(token),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
            let (status, body) = call(
                app,
                "POST",
                &format!("/api/reviews/{id}/reports"),
                Some(token),
                Some(json!({ "reason": "again" })),
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        }
        let (status, body) = call(
            app,
            "PUT",
            "/api/admin/reviewers/root%40plughub.test/ban",
            Some(&w.root),
            Some(json!({ "reason": "oops" })),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "cannot_ban_yourself"),
            "{body}"
        );

        // An install that failed gives no right to review, nor does uninstalling it.
        let failed = failed_install(&w.t, "globex", P, "1.2.0").await;
        let (status, body) = put_review(&w, &w.dee, P, 5, "great", "globex").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "not_eligible_to_review"),
            "{body}"
        );
        uninstall(&w.t, "globex", &failed, P, "1.2.0").await;
        let (status, body) = put_review(&w, &w.dee, P, 5, "great", "globex").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "not_eligible_to_review"),
            "{body}"
        );

        // Deleted, then written again: a new review, without the old one's votes.
        let (_, cy) = put_review(&w, &w.cy, Q, 4, "solid", "acme").await;
        let cy_id = cy["id"].as_str().unwrap().to_string();
        let (status, _) = call(
            app,
            "PUT",
            &format!("/api/reviews/{cy_id}/vote"),
            Some(&w.ada),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(app, "DELETE", &mine(Q), Some(&w.cy), None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, again) = put_review(&w, &w.cy, Q, 2, "changed my mind", "acme").await;
        assert_eq!(status, StatusCode::CREATED, "{again}");
        assert_eq!(
            (again["id"].as_str(), again["helpful"].as_i64()),
            (Some(cy_id.as_str()), Some(0)),
            "{again}"
        );
        assert_eq!(again["voted"], false);
        w.t.cleanup().await;
    }
}
