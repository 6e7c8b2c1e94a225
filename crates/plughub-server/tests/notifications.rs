//! Update notices and notifications through the API: a newer version appears in the loopback registry
//! for an installed plugin; the check records it once per version per organisation, its members are
//! notified (unread count, list, marked read) and its webhook is sent it; the changelog between the
//! installed version and the newer one comes from the tarball's CHANGELOG.md, else from the versions.

#[path = "support/receiver.rs"]
mod receiver;
mod support;

use axum::http::StatusCode;
use plughub_domain::{Plan, Role};
use plughub_notify::{Notifier, WebhookPolicy};
use plughub_testkit::http::LoopbackNpm;
use plughub_testkit::{TestBackend, TestStore};
use receiver::Receiver;
use serde_json::{Value, json};
use support::{Node, person_with_token};

const PLUGIN: &str = "@acme/plugin-api";
const ENCODED: &str = "@acme%2Fplugin-api";

const CHANGELOG: &str = "# Changelog\n\n## [1.1.0] - 2026-11-02\n### Fixed\n- **retries** no longer pile up\n<script>alert(1)</script>\n\n## 1.0.0\n- the first release\n";

/// Publishes `version` of the plugin, with a CHANGELOG.md when given.
fn publish(npm: &LoopbackNpm, version: &str, changelog: Option<&str>) {
    let manifest = json!({ "name": PLUGIN, "version": version, "type": "module", "main": "index.js",
        "keywords": ["elizaos-plugins"], "agentConfig": { "pluginType": "elizaos:plugin:1.0.0" } });
    let mut files = vec![(
        "index.js",
        "export default { name: 'api', description: 'x' };",
    )];
    if let Some(text) = changelog {
        files.push(("CHANGELOG.md", text));
    }
    npm.publish_version(
        manifest.clone(),
        plughub_testkit::tarball::package(&manifest, &files),
        None,
    );
}

async fn notifications(node: &Node, token: &str) -> Value {
    let (status, body) = node.send("GET", "/api/me/notifications", token, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newer_version_in_the_registry_is_told_of_once() {
    for backend in [TestBackend::Sqlite, TestBackend::Postgres] {
        let t = TestStore::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let npm = LoopbackNpm::start().await;
        publish(&npm, "1.0.0", Some(CHANGELOG));
        let mut tx = t.store.begin().await.unwrap();
        for org in ["acme", "globex"] {
            tx.create_group(org, Plan::Pro, None, "test").await.unwrap();
        }
        tx.commit().await.unwrap();
        // The platform owner is the first person (before there is any other).
        let accounts = plughub_accounts::Accounts::new(t.store.clone());
        let first = accounts.first_start("test").await.unwrap().unwrap();
        let platform = accounts
            .create_token(&first.email, "t", 1, "test")
            .await
            .unwrap()
            .1;
        let owner = person_with_token(&t.store, "owner@acme.test", "acme", Role::OrgOwner).await;
        let user = person_with_token(&t.store, "user@acme.test", "acme", Role::OrgUser).await;
        let globex =
            person_with_token(&t.store, "owner@globex.test", "globex", Role::OrgOwner).await;
        let node = Node::start(
            t.store.clone(),
            &npm.url,
            dir.path(),
            &dir.path().join("keys.json"),
            Default::default(),
        )
        .await
        .with_notifier(Notifier::new(t.store.clone()).with_policy(WebhookPolicy {
            allow_loopback: true,
            ..Default::default()
        }));
        let (status, body) = node
            .send(
                "POST",
                "/api/orgs/acme/plugins",
                &owner,
                Some(json!({ "plugin": PLUGIN, "not_in_catalogue": true })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let receiver = Receiver::start(&[200]).await;
        let (status, _) = node
            .send(
                "POST",
                "/api/orgs/acme/webhooks",
                &owner,
                Some(json!({ "url": receiver.url, "events": ["update_available"] })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);

        // Nothing newer yet; the check is the platform owner's.
        let check = "/api/admin/updates/check";
        let (status, _) = node.send("POST", check, &owner, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = node.send("POST", check, &platform, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["notices"], json!([]));
        assert_eq!(notifications(&node, &owner).await["unread"], 0);

        publish(&npm, "1.1.0", Some(CHANGELOG));
        let (_, body) = node.send("POST", check, &platform, None).await;
        let notices = body["notices"].as_array().unwrap();
        assert_eq!(notices.len(), 1, "{body}");
        assert_eq!(notices[0]["event_type"], "plugin_update_available");
        assert_eq!(
            (
                &notices[0]["metadata"]["version"],
                &notices[0]["metadata"]["installed"]
            ),
            (&json!("1.1.0"), &json!("1.0.0"))
        );
        // Once per version per organisation.
        let (_, again) = node.send("POST", check, &platform, None).await;
        assert_eq!(again["notices"], json!([]), "{again}");

        for token in [&owner, &user] {
            let mine = notifications(&node, token).await;
            assert_eq!(mine["unread"], 1, "{mine}");
            let n = &mine["notifications"][0];
            assert_eq!(
                (&n["kind"], &n["org"]),
                (&json!("update_available"), &json!("acme"))
            );
            assert!(n["summary"].as_str().unwrap().contains("1.1.0"), "{n}");
            assert!(
                n["link"]
                    .as_str()
                    .unwrap()
                    .contains("/plugins/changelog?org=acme"),
                "{n}"
            );
        }
        let theirs = notifications(&node, &globex).await;
        assert_eq!(
            (
                theirs["unread"].as_i64(),
                theirs["notifications"].as_array().unwrap().len()
            ),
            (Some(0), 0)
        );

        // The check tells; sending is the notifier's round, not the request's.
        assert_eq!(
            receiver.received().len(),
            0,
            "nothing sent inside the check"
        );
        assert_eq!(node.notifier().deliver_due().await.unwrap(), 1);
        let sent = receiver.received();
        assert_eq!(sent.len(), 1, "the webhook was sent the notice");
        let payload: Value = serde_json::from_slice(&sent[0].body).unwrap();
        assert_eq!(
            (&payload["type"], &payload["data"]["version"]),
            (&json!("update_available"), &json!("1.1.0"))
        );

        // Read: one by id for the owner (another's id changes nothing), all for the user.
        let id = notifications(&node, &owner).await["notifications"][0]["id"].clone();
        let (_, marked) = node
            .send(
                "POST",
                "/api/me/notifications/read",
                &globex,
                Some(json!({ "ids": [id] })),
            )
            .await;
        assert_eq!(marked["marked"], 0);
        let (status, marked) = node
            .send(
                "POST",
                "/api/me/notifications/read",
                &owner,
                Some(json!({ "ids": [id] })),
            )
            .await;
        assert_eq!(
            (status, &marked["marked"], &marked["unread"]),
            (StatusCode::OK, &json!(1), &json!(0))
        );
        let (_, marked) = node
            .send("POST", "/api/me/notifications/read", &user, Some(json!({})))
            .await;
        assert_eq!(
            (&marked["marked"], &marked["unread"]),
            (&json!(1), &json!(0))
        );
        let owner_list = notifications(&node, &owner).await;
        assert!(owner_list["notifications"][0]["read_at"].is_string());

        // The changelog from the newer version's CHANGELOG.md: only what came after 1.0.0.
        let changelog = format!("/api/orgs/acme/plugins/{ENCODED}/changelog");
        let (status, log) = node.send("GET", &changelog, &user, None).await;
        assert_eq!(status, StatusCode::OK, "{log}");
        assert_eq!(
            (&log["source"], &log["from"], &log["to"]),
            (&json!("changelog"), &json!("1.0.0"), &json!("1.1.0"))
        );
        let markdown = log["markdown"].as_str().unwrap();
        assert!(
            markdown.contains("retries") && !markdown.contains("the first release"),
            "{markdown}"
        );
        assert_eq!(log["versions"][0]["version"], "1.1.0");
        let (status, _) = node.send("GET", &changelog, &globex, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // A version without a changelog file: the versions between, with their dates.
        publish(&npm, "1.2.0", None);
        let (status, log) = node
            .send("GET", &format!("{changelog}?to=1.2.0"), &owner, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{log}");
        assert_eq!(log["source"], "versions");
        assert!(log["markdown"].is_null());
        let versions: Vec<&str> = log["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_str().unwrap())
            .collect();
        assert_eq!(versions, ["1.2.0", "1.1.0"]);
        assert!(log["versions"][0]["published"].is_string());
        // 1.2.0 is announced in turn, once.
        let (_, body) = node.send("POST", check, &platform, None).await;
        assert_eq!(body["notices"].as_array().unwrap().len(), 1, "{body}");
        assert_eq!(notifications(&node, &owner).await["unread"], 1);
        t.cleanup().await;
    }
}

/// The events of the log that people are told of, whoever recorded them: an answered review (recorded by
/// the reviews), a failed install and a suspension (by the lifecycle); a failed execution is not one.
#[tokio::test(flavor = "multi_thread")]
async fn members_are_told_of_their_organisation_s_events_only() {
    for backend in [TestBackend::Sqlite, TestBackend::Postgres] {
        let t = TestStore::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let npm = LoopbackNpm::start().await;
        let mut tx = t.store.begin().await.unwrap();
        for org in ["acme", "globex"] {
            tx.create_group(org, Plan::Pro, None, "test").await.unwrap();
        }
        tx.commit().await.unwrap();
        let owner = person_with_token(&t.store, "owner@acme.test", "acme", Role::OrgOwner).await;
        let globex =
            person_with_token(&t.store, "owner@globex.test", "globex", Role::OrgOwner).await;
        let user = person_with_token(&t.store, "user@acme.test", "acme", Role::OrgUser).await;
        let customer =
            person_with_token(&t.store, "customer@acme.test", "acme", Role::Customer).await;
        let node = Node::start(
            t.store.clone(),
            &npm.url,
            dir.path(),
            &dir.path().join("keys.json"),
            Default::default(),
        )
        .await;
        let acme = t.store.group_by_name("acme").await.unwrap().unwrap();
        let event = |event_type, metadata: Value| plughub_domain::NewEvent {
            event_type,
            actor: "test".into(),
            target: None,
            group_id: Some(acme.id.clone()),
            metadata,
        };
        use plughub_domain::EventType::{PluginErrorOccurred, ReviewAnswered};
        for e in [
            event(ReviewAnswered, json!({ "plugin": PLUGIN })),
            event(
                PluginErrorOccurred,
                json!({ "operation": "install", "plugin": PLUGIN, "version": "1.0.0", "error": "no such file" }),
            ),
            event(
                PluginErrorOccurred,
                json!({ "plugin": PLUGIN, "kind": "action", "error": "boom", "suspended": true }),
            ),
            // An execution that failed, without suspending: not a notification.
            event(
                PluginErrorOccurred,
                json!({ "plugin": PLUGIN, "kind": "action", "error": "boom" }),
            ),
        ] {
            t.store.append_event(&e).await.unwrap();
        }
        node.notifier().run_once().await.unwrap();
        // Read twice, told once.
        node.notifier().run_once().await.unwrap();
        let mine = notifications(&node, &owner).await;
        let kinds: Vec<&str> = mine["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds.len(), 3, "{mine}");
        for kind in ["review_answered", "install_failed", "plugin_suspended"] {
            assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
        }
        assert_eq!(mine["unread"], 3);
        let (status, unread) = node
            .send(
                "GET",
                "/api/me/notifications?unread=true&limit=2",
                &owner,
                None,
            )
            .await;
        assert_eq!(
            (status, unread["notifications"].as_array().unwrap().len()),
            (StatusCode::OK, 2)
        );
        let (status, _) = node
            .send("GET", "/api/me/notifications?limit=0", &owner, None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            notifications(&node, &globex).await["notifications"],
            json!([])
        );
        // A customer has no view of the organisation, so none of its news.
        assert_eq!(
            notifications(&node, &customer).await["notifications"],
            json!([])
        );
        // A member sees them while a member, and no longer once removed.
        let theirs = notifications(&node, &user).await;
        assert_eq!(
            (
                theirs["notifications"].as_array().unwrap().len(),
                &theirs["unread"]
            ),
            (3, &json!(3)),
            "{theirs}"
        );
        let (status, body) = node
            .send(
                "DELETE",
                "/api/orgs/acme/members/user@acme.test",
                &owner,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = node.send("GET", "/api/me/notifications", &user, None).await;
        assert_eq!(
            (status, &body["notifications"], &body["unread"]),
            (StatusCode::OK, &json!([]), &json!(0)),
            "{body}"
        );
        t.cleanup().await;
    }
}
