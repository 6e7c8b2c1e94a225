//! Webhooks through the API, delivered to receivers on loopback: a delivery whose signature verifies
//! (recomputed here with HMAC-SHA256), one retried after a failure with both attempts logged, and a
//! loopback target refused when the operator has not allowed loopback, its receiver never connected to.

#[path = "support/receiver.rs"]
mod receiver;
mod support;

use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use plughub_domain::{EventType, NewEvent, Plan, Role, ThingKind};
use plughub_notify::{Notifier, RetryPolicy, WebhookPolicy};
use plughub_store::Store;
use plughub_testkit::http::LoopbackNpm;
use plughub_testkit::{TestBackend, TestStore};
use receiver::Receiver;
use serde_json::{Value, json};
use std::time::Duration;
use support::{Node, person_with_token};

struct World {
    t: TestStore,
    _dir: tempfile::TempDir,
    _npm: LoopbackNpm,
    node: Node,
    owner: String,
    user: String,
    globex: String,
}

/// Two organisations, an owner and a user of acme and an owner of globex, and a server whose
/// notifier follows `policy` and retries after 100 ms.
async fn world(backend: TestBackend, policy: WebhookPolicy) -> World {
    let t = TestStore::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let npm = LoopbackNpm::start().await;
    let mut tx = t.store.begin().await.unwrap();
    for org in ["acme", "globex"] {
        tx.create_group(org, Plan::Pro, None, "test").await.unwrap();
    }
    tx.commit().await.unwrap();
    let owner = person_with_token(&t.store, "owner@acme.test", "acme", Role::OrgOwner).await;
    let user = person_with_token(&t.store, "user@acme.test", "acme", Role::OrgUser).await;
    let globex = person_with_token(&t.store, "owner@globex.test", "globex", Role::OrgOwner).await;
    let node = Node::start(
        t.store.clone(),
        &npm.url,
        dir.path(),
        &dir.path().join("keys.json"),
        Default::default(),
    )
    .await
    .with_notifier(notifier(&t.store, policy));
    World {
        t,
        _dir: dir,
        _npm: npm,
        node,
        owner,
        user,
        globex,
    }
}

fn notifier(store: &Store, policy: WebhookPolicy) -> Notifier {
    Notifier::new(store.clone())
        .with_policy(policy)
        .with_retry(RetryPolicy {
            first_delay: Duration::from_millis(100),
            ..Default::default()
        })
}

fn loopback_allowed() -> WebhookPolicy {
    WebhookPolicy {
        allow_loopback: true,
        ..Default::default()
    }
}

/// What the reviews record when a publisher answers a review, made here in the store as they make it
/// (their code is not called): a `plugin_review` thing of no organisation, naming the organisation whose
/// install qualified it, and its `review_answered` event, whose target is the review.
async fn review_answered(store: &Store, org: &str) {
    let group = store.group_by_name(org).await.unwrap().unwrap();
    let name = format!(
        "@acme/plugin-api:{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let properties = json!({ "plugin": "@acme/plugin-api", "person": "p1", "org": group.id,
        "stars": 4, "text": "good", "version": "1.0.0" });
    let event = |event_type, metadata| NewEvent {
        event_type,
        actor: "someone@acme.test".into(),
        target: None,
        group_id: None,
        metadata,
    };
    let mut tx = store.begin().await.unwrap();
    let id = tx
        .insert_thing(
            &plughub_store::NewThing {
                kind: ThingKind::PluginReview,
                name: &name,
                group_id: None,
                status: "published",
                properties: &properties.to_string(),
            },
            event(
                EventType::ReviewPosted,
                json!({ "stars": 4, "text": "good" }),
            ),
        )
        .await
        .unwrap();
    tx.update_thing(
        &id,
        "published",
        &properties.to_string(),
        event(EventType::ReviewAnswered, json!({ "text": "thanks" })),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn deliveries(w: &World, id: &str) -> Vec<Value> {
    let (status, body) = w
        .node
        .send(
            "GET",
            &format!("/api/orgs/acme/webhooks/{id}/deliveries"),
            &w.owner,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_is_signed_with_the_secret_shown_once() {
    for backend in [TestBackend::Sqlite, TestBackend::Postgres] {
        let w = world(backend, loopback_allowed()).await;
        let receiver = Receiver::start(&[200]).await;
        let made = json!({ "url": receiver.url, "events": ["review_answered"] });
        // Owners only; another organisation's owner does not see acme at all.
        let (status, _) = w
            .node
            .send(
                "POST",
                "/api/orgs/acme/webhooks",
                &w.user,
                Some(made.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = w
            .node
            .send(
                "POST",
                "/api/orgs/acme/webhooks",
                &w.globex,
                Some(made.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, bad) = w
            .node
            .send(
                "POST",
                "/api/orgs/acme/webhooks",
                &w.owner,
                Some(json!({ "url": receiver.url, "events": ["everything"] })),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            bad["error"]["message"]
                .as_str()
                .unwrap()
                .contains("review_answered"),
            "{bad}"
        );
        let (status, bad) = w
            .node
            .send(
                "POST",
                "/api/orgs/acme/webhooks",
                &w.owner,
                Some(json!({ "url": receiver.url, "events": [] })),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            bad["error"]["message"]
                .as_str()
                .unwrap()
                .contains("`events`"),
            "{bad}"
        );

        let (status, created) = w
            .node
            .send("POST", "/api/orgs/acme/webhooks", &w.owner, Some(made))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let secret = created["secret"].as_str().unwrap().to_string();
        let id = created["id"].as_str().unwrap().to_string();
        let (_, listed) = w
            .node
            .send("GET", "/api/orgs/acme/webhooks", &w.owner, None)
            .await;
        assert_eq!(listed["webhooks"][0]["id"], id.as_str());
        assert_eq!(listed["webhooks"][0]["events"], json!(["review_answered"]));
        assert!(
            listed["webhooks"][0].get("secret").is_none(),
            "the secret is shown once"
        );
        // Encrypted at rest: the table keeps the secret sealed with the key ring, not the secret.
        let stored = w.t.store.sealed_webhook_secret(&id).await.unwrap().unwrap();
        assert!(!stored.contains(&secret), "{stored}");
        assert!(stored.starts_with("v1."), "{stored}");

        // An event of another organisation goes to none of acme's webhooks.
        review_answered(&w.t.store, "globex").await;
        review_answered(&w.t.store, "acme").await;
        w.node.notifier().run_once().await.unwrap();
        let got = receiver.received();
        assert_eq!(got.len(), 1, "one delivery, acme's");
        let delivery = &got[0];
        let header = delivery.header("x-plughub-signature").unwrap();
        let (t, v1) = header.split_once(',').unwrap();
        let t = t.strip_prefix("t=").unwrap();
        let v1 = v1.strip_prefix("v1=").unwrap();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(&delivery.body);
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            v1,
            "the signature verifies"
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!((now - t.parse::<i64>().unwrap()).abs() < 60);
        let body: Value = serde_json::from_slice(&delivery.body).unwrap();
        assert_eq!(body["type"], "review_answered");
        assert_eq!(body["organisation"], "acme");
        assert_eq!(body["data"]["plugin"], "@acme/plugin-api");
        assert_eq!(body["data"]["text"], "thanks");
        assert_eq!(delivery.header("x-plughub-event"), Some("review_answered"));

        let log = deliveries(&w, &id).await;
        assert_eq!(log.len(), 1);
        assert_eq!(log[0]["status"], "delivered");
        assert_eq!(log[0]["attempts"][0]["status"], 200);
        // A second round sends nothing again.
        w.node.notifier().run_once().await.unwrap();
        assert_eq!(receiver.received().len(), 1);

        // Deleted: no more deliveries; its log stays readable, as docs/webhooks.md says.
        let (status, left) = w
            .node
            .send(
                "DELETE",
                &format!("/api/orgs/acme/webhooks/{id}"),
                &w.owner,
                None,
            )
            .await;
        assert_eq!((status, &left["webhooks"]), (StatusCode::OK, &json!([])));
        review_answered(&w.t.store, "acme").await;
        w.node.notifier().run_once().await.unwrap();
        assert_eq!(receiver.received().len(), 1);
        let log = deliveries(&w, &id).await;
        assert_eq!(
            (log.len(), &log[0]["status"]),
            (1, &json!("delivered")),
            "{log:?}"
        );
        let (status, _) = w
            .node
            .send(
                "GET",
                "/api/orgs/acme/webhooks/no-such-webhook/deliveries",
                &w.owner,
                None,
            )
            .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "only an unknown id is not found"
        );
        w.t.cleanup().await;
    }
}

/// Checks a delivery's `X-Plughub-Signature` with `secret`, as a receiver would (docs/webhooks.md).
fn verifies(secret: &str, delivery: &receiver::Received) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let header = delivery.header("x-plughub-signature").unwrap();
    plughub_notify::signature::verify(secret, header, &delivery.body, now, 300)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_still_signs_after_the_key_is_rotated_and_old_keys_retired() {
    for backend in [TestBackend::Sqlite, TestBackend::Postgres] {
        let w = world(backend, loopback_allowed()).await;
        let receiver = Receiver::start(&[200]).await;
        let (status, created) = w
            .node
            .send(
                "POST",
                "/api/orgs/acme/webhooks",
                &w.owner,
                Some(json!({ "url": receiver.url, "events": ["review_answered"] })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let secret = created["secret"].as_str().unwrap().to_string();
        let id = created["id"].as_str().unwrap().to_string();
        let before = w.t.store.sealed_webhook_secret(&id).await.unwrap().unwrap();

        // What `plughub admin rotate-key --retire` does, step by step, on the server's key file.
        let key_file = w._dir.path().join("keys.json");
        let mut keys = plughub_secrets::KeyRing::load_or_create(&key_file).unwrap();
        let active = keys.rotate().unwrap();
        let resealed = plughub_notify::webhooks::reseal_secrets(&w.t.store, &keys, "cli")
            .await
            .unwrap();
        assert_eq!(resealed, 1);
        keys.retire_old_keys().unwrap();
        let after = w.t.store.sealed_webhook_secret(&id).await.unwrap().unwrap();
        assert_ne!(after, before);
        assert!(after.starts_with(&format!("v1.{active}.")), "{after}");
        assert!(!after.contains(&secret));
        // Resealing again finds nothing stale.
        let again = plughub_notify::webhooks::reseal_secrets(&w.t.store, &keys, "cli")
            .await
            .unwrap();
        assert_eq!(again, 0);

        // The server started again (with the rotated key file, only the new key in it) signs with the
        // same secret the owner was shown.
        let restarted = Node::start(
            w.t.store.clone(),
            &w._npm.url,
            w._dir.path(),
            &key_file,
            Default::default(),
        )
        .await
        .with_notifier(notifier(&w.t.store, loopback_allowed()));
        review_answered(&w.t.store, "acme").await;
        restarted.notifier().run_once().await.unwrap();
        let got = receiver.received();
        assert_eq!(got.len(), 1, "{:?}", deliveries(&w, &id).await);
        assert!(verifies(&secret, &got[0]), "the signature verifies");
        assert!(!verifies("whsec_other", &got[0]));
        w.t.cleanup().await;
    }
}

/// A server that serves the catalogue only holds no key ring: it makes no webhook (and says why), and
/// its notifier leaves deliveries to a server that can sign them.
#[tokio::test(flavor = "multi_thread")]
async fn a_catalogue_only_server_makes_and_sends_no_webhooks() {
    let w = world(TestBackend::Sqlite, loopback_allowed()).await;
    let receiver = Receiver::start(&[200]).await;
    let (status, created) = w
        .node
        .send(
            "POST",
            "/api/orgs/acme/webhooks",
            &w.owner,
            Some(json!({ "url": receiver.url, "events": ["review_answered"] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let catalogue_only = notifier(&w.t.store, loopback_allowed());
    assert!(catalogue_only.keys().is_none());
    let refused = plughub_notify::webhooks::create(
        &catalogue_only,
        &w.t.store.group_by_name("acme").await.unwrap().unwrap().id,
        &format!("{}/other", receiver.url),
        &[plughub_notify::NotifyKind::ReviewAnswered],
        "owner@acme.test",
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, plughub_notify::NotifyError::NoKeyRing));
    assert!(refused.to_string().contains("serves the catalogue only"));

    review_answered(&w.t.store, "acme").await;
    catalogue_only.run_once().await.unwrap();
    assert!(receiver.received().is_empty(), "nothing sent unsigned");
    let log = deliveries(&w, &id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "pending");
    assert_eq!(log[0]["attempts"], json!([]));
    // The server that holds the key ring sends it.
    w.node.notifier().run_once().await.unwrap();
    assert_eq!(receiver.received().len(), 1);
    w.t.cleanup().await;
}

/// A store that had events before migration 0014 (notifications and webhooks) came: those events are
/// history, not news. Made by taking 0014 back out of a SQLite store (its tables and its row in sqlx's
/// table), recording an event, and opening the store again, which applies 0014 over that log.
#[tokio::test(flavor = "multi_thread")]
async fn events_from_before_migration_0014_are_not_announced() {
    let w = world(TestBackend::Sqlite, loopback_allowed()).await;
    let plughub_store::Location::DataDir(data) = &w.t.location else {
        unreachable!("a SQLite test store lives in a data directory")
    };
    review_answered(&w.t.store, "acme").await;
    let file = data.join(plughub_store::Location::SQLITE_FILE);
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    for table in [
        "webhook_attempts",
        "webhook_deliveries",
        "webhook_secrets",
        "notifications",
        "update_notices",
        "notify_cursors",
    ] {
        sqlx::query(&format!("DROP TABLE {table}"))
            .execute(&raw)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 14")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    // Opening the store applies 0014 again: the notifier's start is after the answered review.
    Store::open(&w.t.location).await.unwrap();

    let receiver = Receiver::start(&[200]).await;
    let (status, created) = w
        .node
        .send(
            "POST",
            "/api/orgs/acme/webhooks",
            &w.owner,
            Some(json!({ "url": receiver.url, "events": ["review_answered"] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    w.node.notifier().run_once().await.unwrap();
    assert!(
        deliveries(&w, &id).await.is_empty(),
        "the old event is not sent"
    );
    let (_, told) = w
        .node
        .send("GET", "/api/me/notifications", &w.owner, None)
        .await;
    assert_eq!(told["notifications"], json!([]), "{told}");

    // An event after the migration is told.
    review_answered(&w.t.store, "acme").await;
    w.node.notifier().run_once().await.unwrap();
    assert_eq!(receiver.received().len(), 1);
    let (_, told) = w
        .node
        .send("GET", "/api/me/notifications", &w.owner, None)
        .await;
    assert_eq!(told["notifications"].as_array().unwrap().len(), 1, "{told}");
    w.t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_delivery_is_retried_with_each_attempt_logged() {
    let w = world(TestBackend::Sqlite, loopback_allowed()).await;
    let receiver = Receiver::start(&[500, 200]).await;
    let (status, created) = w
        .node
        .send(
            "POST",
            "/api/orgs/acme/webhooks",
            &w.owner,
            Some(json!({ "url": receiver.url, "events": ["review_answered", "update_available"] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    review_answered(&w.t.store, "acme").await;
    w.node.notifier().run_once().await.unwrap();
    let log = deliveries(&w, id).await;
    assert_eq!(log[0]["status"], "pending", "{log:?}");
    assert_eq!(log[0]["attempts"][0]["status"], 500);
    assert!(
        log[0]["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("500")
    );
    // Not due before its backoff.
    w.node.notifier().run_once().await.unwrap();
    assert_eq!(receiver.received().len(), 1);
    tokio::time::sleep(Duration::from_millis(150)).await;
    // The retry is in the store: a notifier started afresh (a restarted server, its key file loaded
    // again) sends it.
    let keys = plughub_secrets::KeyRing::load_or_create(&w._dir.path().join("keys.json")).unwrap();
    notifier(&w.t.store, loopback_allowed())
        .with_keys(std::sync::Arc::new(keys))
        .run_once()
        .await
        .unwrap();
    let log = deliveries(&w, id).await;
    assert_eq!(log[0]["status"], "delivered", "{log:?}");
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        (
            attempts[0]["status"].as_i64(),
            attempts[1]["status"].as_i64()
        ),
        (Some(500), Some(200))
    );
    assert!(attempts[1]["error"].is_null());
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body, got[1].body, "the same delivery, sent again");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_loopback_target_is_refused_unless_the_operator_allows_it() {
    let w = world(TestBackend::Sqlite, WebhookPolicy::default()).await;
    let receiver = Receiver::start(&[200]).await;
    for url in [
        receiver.url.clone(),
        receiver.url.replace("127.0.0.1", "localhost"),
    ] {
        let (status, body) = w
            .node
            .send(
                "POST",
                "/api/orgs/acme/webhooks",
                &w.owner,
                Some(json!({ "url": url, "events": ["review_answered"] })),
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("target_refused")),
            "{url}: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("loopback"),
            "{body}"
        );
    }
    let (_, listed) = w
        .node
        .send("GET", "/api/orgs/acme/webhooks", &w.owner, None)
        .await;
    assert_eq!(listed["webhooks"], json!([]), "nothing was made");

    // Made while the operator allowed loopback, then sent by a server that does not: every attempt is
    // checked again, and refused without connecting.
    let allowed = Node::start(
        w.t.store.clone(),
        &w._npm.url,
        w._dir.path(),
        &w._dir.path().join("keys.json"),
        Default::default(),
    )
    .await
    .with_notifier(notifier(&w.t.store, loopback_allowed()));
    let (status, created) = allowed
        .send(
            "POST",
            "/api/orgs/acme/webhooks",
            &w.owner,
            Some(json!({ "url": receiver.url, "events": ["review_answered"] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    review_answered(&w.t.store, "acme").await;
    w.node.notifier().run_once().await.unwrap();
    let log = deliveries(&w, created["id"].as_str().unwrap()).await;
    let attempt = &log[0]["attempts"][0];
    assert!(attempt["status"].is_null(), "{attempt}");
    assert!(
        attempt["error"].as_str().unwrap().contains("loopback"),
        "{attempt}"
    );
    assert_eq!(
        log[0]["status"], "pending",
        "retried later, as the operator may allow it"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        receiver.connections(),
        0,
        "the receiver was never connected to"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_attempt_is_recorded_only_while_its_lease_is_held() {
    let w = world(TestBackend::Sqlite, loopback_allowed()).await;
    let receiver = Receiver::start(&[200]).await;
    let (status, created) = w
        .node
        .send(
            "POST",
            "/api/orgs/acme/webhooks",
            &w.owner,
            Some(json!({ "url": receiver.url, "events": ["review_answered"] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    review_answered(&w.t.store, "acme").await;
    // Told, not sent: the delivery waits in the store.
    w.node.notifier().dispatch().await.unwrap();
    let store = &w.t.store;
    let due = store
        .due_deliveries("2999-01-01T00:00:00Z", 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    let lease = "2999-01-01T00:00:00Z";
    assert!(store.claim_delivery(&due[0], lease).await.unwrap());
    assert!(
        !store.claim_delivery(&due[0], lease).await.unwrap(),
        "claimed once"
    );
    let attempt = plughub_store::AttemptRecord {
        delivery_id: due[0].id.clone(),
        attempted_at: plughub_store::now_rfc3339(),
        status_code: Some(200),
        duration_ms: 1,
        error: None,
    };
    let delivered = plughub_store::DeliveryOutcome::Delivered;
    // A server whose lease ran out (another took the delivery since) records nothing.
    assert!(
        !store
            .record_attempt(&attempt, &delivered, "2998-01-01T00:00:00Z")
            .await
            .unwrap()
    );
    let log = deliveries(&w, id).await;
    assert_eq!(
        (
            &log[0]["status"],
            log[0]["attempts"].as_array().unwrap().len()
        ),
        (&json!("pending"), 0),
        "{log:?}"
    );
    assert!(
        store
            .record_attempt(&attempt, &delivered, lease)
            .await
            .unwrap()
    );
    let log = deliveries(&w, id).await;
    assert_eq!(
        (
            &log[0]["status"],
            log[0]["attempts"].as_array().unwrap().len()
        ),
        (&json!("delivered"), 1),
        "{log:?}"
    );
    assert!(receiver.received().is_empty());
    w.t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_end_a_day_after_the_event_and_at_once_when_its_time_is_unreadable() {
    let w = world(TestBackend::Sqlite, loopback_allowed()).await;
    let receiver = Receiver::start(&[500, 500, 500]).await;
    let (status, created) = w
        .node
        .send(
            "POST",
            "/api/orgs/acme/webhooks",
            &w.owner,
            Some(json!({ "url": receiver.url, "events": ["review_answered"] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let yesterday = time::OffsetDateTime::now_utc() - time::Duration::hours(25);
    let cases = [
        (
            "old",
            json!({ "time": plughub_store::format_time(yesterday) }),
        ),
        ("unreadable", json!({ "time": "not a time" })),
        ("fresh", json!({ "time": plughub_store::now_rfc3339() })),
    ];
    for (event_id, payload) in &cases {
        assert!(
            w.t.store
                .enqueue_delivery(id, event_id, "review_answered", &payload.to_string())
                .await
                .unwrap()
        );
    }
    w.node.notifier().deliver_due().await.unwrap();
    assert_eq!(receiver.received().len(), 3, "each tried once");
    let log = deliveries(&w, id).await;
    let status_of = |event: &str| {
        log.iter()
            .find(|d| d["event_id"] == event)
            .map(|d| d["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(status_of("old"), "failed", "{log:?}");
    assert_eq!(status_of("unreadable"), "failed", "{log:?}");
    assert_eq!(status_of("fresh"), "pending", "retried later: {log:?}");
    w.t.cleanup().await;
}
