//! Publishers, collections, comparison and deprecation through the real router, on SQLite and
//! PostgreSQL, over the real registry snapshot (the starter catalogue): a claim granted and one refused,
//! verification granted and revoked (each an event), a public collection and an organisation's (seen by
//! its members only), a comparison of three (four refused), and a platform deprecation with its
//! replacement, hidden from default search and shown with `deprecated=any`.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use plughub_domain::{EventType, Plan, Role};
use plughub_server::{AppState, router};
use plughub_store::{EventFilter, Store};
use plughub_testkit::{BACKENDS, TestBackend, TestStore};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

struct World {
    t: TestStore,
    app: axum::Router,
    /// The platform owner's token.
    platform: String,
    /// An org_owner of acme.
    ada: String,
    /// An org_user of acme.
    bo: String,
    /// An org_owner of globex.
    cy: String,
}

async fn world(backend: TestBackend) -> World {
    let t = TestStore::new(backend).await;
    let mut tx = t.store.begin().await.unwrap();
    for org in ["acme", "globex"] {
        tx.create_group(org, Plan::Pro, None, "test").await.unwrap();
    }
    tx.commit().await.unwrap();
    let accounts = Accounts::new(t.store.clone());
    accounts.first_start("test").await.unwrap();
    let mut tokens = Vec::new();
    for (email, name, org, role) in [
        ("ada@acme.test", "Ada", "acme", Role::OrgOwner),
        ("bo@acme.test", "Bo", "acme", Role::OrgUser),
        ("cy@globex.test", "Cy", "globex", Role::OrgOwner),
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
    let platform = accounts
        .create_token("owner@plughub.local", "t", 1, "test")
        .await
        .unwrap()
        .1;
    let app = router(AppState::new(
        Arc::new(Catalog::open(t.store.clone()).await.unwrap()),
        accounts,
        None,
    ));
    World {
        t,
        app,
        platform,
        cy: tokens.pop().unwrap(),
        bo: tokens.pop().unwrap(),
        ada: tokens.pop().unwrap(),
    }
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

async fn events(store: &Store, event_type: EventType) -> Vec<plughub_domain::StoredEvent> {
    store
        .events(&EventFilter {
            event_type: Some(event_type),
            ..Default::default()
        })
        .await
        .unwrap()
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

/// An author may claim a namespace the catalogue does not have yet, to publish under it on plughub; not
/// one of the official registry's scopes.
#[tokio::test]
async fn a_new_namespace_is_claimed_to_publish_under_but_not_an_official_scope() {
    for backend in BACKENDS {
        let w = world(backend).await;
        let evidence = json!({ "evidence": "our team's new scope" });
        let (status, claim) = call(
            &w.app,
            "POST",
            "/api/publishers/@nobody-here/claims",
            Some(&w.ada),
            Some(evidence.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{claim}");
        assert_eq!(claim["namespace"], "@nobody-here");
        let (status, body) = call(
            &w.app,
            "POST",
            "/api/publishers/@elizaos-plugins/claims",
            Some(&w.ada),
            Some(evidence),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "namespace_reserved"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_claim_granted_one_refused_and_verification_granted_then_revoked() {
    for backend in BACKENDS {
        let w = world(backend).await;
        let app = &w.app;
        // The snapshot's @bealers scope: one plugin, nobody holds it.
        let (status, page) = call(app, "GET", "/api/publishers/@bealers", None, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["status"], "unclaimed");
        assert_eq!(names(&page, "plugins"), vec!["@bealers/plugin-mattermost"]);
        let (_, list) = call(app, "GET", "/api/publishers", None, None).await;
        let elizaos = list["publishers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["namespace"] == "@elizaos")
            .unwrap();
        assert!(elizaos["plugins"].as_u64().unwrap() > 100, "{elizaos}");

        // Claims need a person, evidence, and a publisher that exists.
        let evidence =
            json!({ "evidence": "npm lists me as maintainer of @bealers/plugin-mattermost" });
        let (status, _) = call(
            app,
            "POST",
            "/api/publishers/@bealers/claims",
            None,
            Some(evidence.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, body) = call(
            app,
            "POST",
            "/api/publishers/not%20a%20namespace/claims",
            Some(&w.ada),
            Some(evidence.clone()),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "publisher_not_found"),
            "{body}"
        );
        let (status, body) = call(
            app,
            "POST",
            "/api/publishers/@bealers/claims",
            Some(&w.ada),
            Some(json!({ "evidence": "" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

        let (status, ada_claim) = call(
            app,
            "POST",
            "/api/publishers/@bealers/claims",
            Some(&w.ada),
            Some(evidence.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{ada_claim}");
        assert_eq!(ada_claim["status"], "pending");
        let (status, body) = call(
            app,
            "POST",
            "/api/publishers/@bealers/claims",
            Some(&w.ada),
            Some(evidence.clone()),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::CONFLICT, "conflict"),
            "{body}"
        );
        let (_, cy_claim) = call(
            app,
            "POST",
            "/api/publishers/@bealers/claims",
            Some(&w.cy),
            Some(json!({ "evidence": "trust me" })),
        )
        .await;

        // Only platform owners see and decide claims.
        let (status, _) = call(
            app,
            "GET",
            "/api/admin/publisher-claims?status=pending",
            Some(&w.ada),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, queue) = call(
            app,
            "GET",
            "/api/admin/publisher-claims?status=pending",
            Some(&w.platform),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{queue}");
        assert_eq!(queue["claims"].as_array().unwrap().len(), 2);
        let grant = format!(
            "/api/admin/publisher-claims/{}/grant",
            ada_claim["id"].as_str().unwrap()
        );
        let refuse = format!(
            "/api/admin/publisher-claims/{}/refuse",
            cy_claim["id"].as_str().unwrap()
        );
        let (status, _) = call(app, "POST", &grant, Some(&w.ada), Some(json!({}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, granted) = call(
            app,
            "POST",
            &grant,
            Some(&w.platform),
            Some(json!({ "note": "npm maintainers list checked" })),
        )
        .await;
        assert_eq!(
            (status, granted["status"].as_str()),
            (StatusCode::OK, Some("granted")),
            "{granted}"
        );
        let (status, refused) = call(
            app,
            "POST",
            &refuse,
            Some(&w.platform),
            Some(json!({ "note": "no evidence" })),
        )
        .await;
        assert_eq!(
            (status, refused["status"].as_str()),
            (StatusCode::OK, Some("refused")),
            "{refused}"
        );
        let (status, body) = call(
            app,
            "POST",
            &refuse.replace("refuse", "grant"),
            Some(&w.platform),
            Some(json!({})),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "a decided claim stays decided: {body}"
        );
        let (status, body) = call(
            app,
            "POST",
            "/api/admin/publisher-claims/none/grant",
            Some(&w.platform),
            Some(json!({})),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "claim_not_found"),
            "{body}"
        );

        let (_, page) = call(app, "GET", "/api/publishers/@bealers", None, None).await;
        assert_eq!(page["status"], "held");
        assert_eq!(page["people"].as_array().unwrap().len(), 1);
        assert_eq!(page["people"][0]["display_name"], "Ada");
        assert_eq!(
            events(&w.t.store, EventType::PublisherClaimGranted)
                .await
                .len(),
            1
        );
        assert_eq!(
            events(&w.t.store, EventType::PublisherClaimRefused)
                .await
                .len(),
            1
        );

        // Verification: only of a held publisher, by a platform owner, and revocable.
        let verify = "/api/admin/publishers/@bealers/verification";
        let (status, _) = call(app, "PUT", verify, Some(&w.ada), Some(json!({}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = call(
            app,
            "PUT",
            "/api/admin/publishers/plugin-octav/verification",
            Some(&w.platform),
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "nobody holds it: {body}");
        let (status, body) = call(
            app,
            "PUT",
            verify,
            Some(&w.platform),
            Some(json!({ "note": "domain email answered" })),
        )
        .await;
        assert_eq!(
            (status, body["verified"].as_bool()),
            (StatusCode::OK, Some(true)),
            "{body}"
        );
        let (_, page) = call(app, "GET", "/api/publishers/@bealers", None, None).await;
        assert_eq!(page["verified"], true);
        // Its plugins' reputation counts it, in the comparison and on its own.
        let publisher_part = |reputation: &Value| {
            reputation["parts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "publisher")
                .unwrap()["score"]
                .clone()
        };
        let (_, compared) = call(
            app,
            "GET",
            "/api/compare?plugins=@bealers/plugin-mattermost",
            None,
            None,
        )
        .await;
        assert_eq!(
            publisher_part(&compared["plugins"][0]["reputation"]),
            json!(1.0),
            "{compared}"
        );
        assert_eq!(compared["plugins"][0]["publisher"]["verified"], true);
        let (_, reputation) = call(
            app,
            "GET",
            "/api/reputation/@bealers/plugin-mattermost",
            None,
            None,
        )
        .await;
        assert_eq!(publisher_part(&reputation), json!(1.0), "{reputation}");
        let (status, body) = call(app, "DELETE", verify, Some(&w.platform), None).await;
        assert_eq!(
            (status, body["verified"].as_bool()),
            (StatusCode::OK, Some(false)),
            "{body}"
        );
        let (status, _) = call(app, "DELETE", verify, Some(&w.platform), None).await;
        assert_eq!(status, StatusCode::CONFLICT, "not verified any more");
        let (_, page) = call(app, "GET", "/api/publishers/@bealers", None, None).await;
        assert_eq!(
            (page["verified"].as_bool(), page["status"].as_str()),
            (Some(false), Some("held"))
        );
        let (_, reputation) = call(
            app,
            "GET",
            "/api/reputation/@bealers/plugin-mattermost",
            None,
            None,
        )
        .await;
        assert_eq!(publisher_part(&reputation), json!(0.0), "{reputation}");
        let verified = events(&w.t.store, EventType::PublisherVerified).await;
        let revoked = events(&w.t.store, EventType::PublisherVerificationRevoked).await;
        assert_eq!((verified.len(), revoked.len()), (1, 1), "{backend:?}");
        assert_eq!(verified[0].metadata["note"], "domain email answered");
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn a_public_collection_for_all_and_an_organisation_s_for_its_members_only() {
    for backend in BACKENDS {
        let w = world(backend).await;
        let app = &w.app;
        let public = json!({
            "title": "Model providers",
            "description": "Language models for agents",
            "plugins": ["openai", "@elizaos/plugin-anthropic", "groq"],
        });
        let (status, _) = call(
            app,
            "PUT",
            "/api/admin/collections/models",
            Some(&w.ada),
            Some(public.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, made) = call(
            app,
            "PUT",
            "/api/admin/collections/models",
            Some(&w.platform),
            Some(public),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{made}");
        // Names are the catalogue's, in the curator's order.
        assert_eq!(
            names(&made, "plugins"),
            vec![
                "@elizaos/plugin-openai",
                "@elizaos/plugin-anthropic",
                "@elizaos/plugin-groq"
            ]
        );
        let (status, body) = call(
            app,
            "PUT",
            "/api/admin/collections/bad",
            Some(&w.platform),
            Some(json!({ "title": "x", "plugins": ["no-such-plugin-anywhere"] })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

        let private = json!({
            "title": "Acme's picks",
            "plugins": ["@elizaos/plugin-discord"],
            "organisation": "acme",
        });
        let (status, body) = call(
            app,
            "PUT",
            "/api/admin/collections/acme-picks",
            Some(&w.platform),
            Some(private),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["organisation"], "acme");

        let slugs = |list: &Value| -> Vec<String> {
            list["collections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["slug"].as_str().unwrap().to_string())
                .collect()
        };
        for (who, token, sees_private) in [
            ("acme's owner", Some(&w.ada), true),
            ("acme's user", Some(&w.bo), true),
            ("globex's owner", Some(&w.cy), false),
            ("nobody signed in", None, false),
        ] {
            let (status, list) = call(
                app,
                "GET",
                "/api/collections",
                token.map(String::as_str),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{who}");
            assert_eq!(
                slugs(&list).contains(&"acme-picks".to_string()),
                sees_private,
                "{who}: {list}"
            );
            assert!(slugs(&list).contains(&"models".to_string()), "{who}");
            let (status, body) = call(
                app,
                "GET",
                "/api/collections/acme-picks",
                token.map(String::as_str),
                None,
            )
            .await;
            if sees_private {
                assert_eq!(status, StatusCode::OK, "{who}");
                assert_eq!(names(&body, "plugins"), vec!["@elizaos/plugin-discord"]);
            } else {
                assert_eq!(
                    (status, code(&body)),
                    (StatusCode::NOT_FOUND, "collection_not_found"),
                    "{who}: {body}"
                );
                assert!(
                    !body.to_string().contains("discord"),
                    "{who}: nothing of it shows: {body}"
                );
            }
        }
        assert_eq!(
            events(&w.t.store, EventType::CollectionChanged).await.len(),
            2
        );
        let (status, gone) = call(
            app,
            "DELETE",
            "/api/admin/collections/acme-picks",
            Some(&w.platform),
            None,
        )
        .await;
        assert_eq!(
            (status, gone["slug"].as_str()),
            (StatusCode::OK, Some("acme-picks"))
        );
        let (status, _) = call(
            app,
            "GET",
            "/api/collections/acme-picks",
            Some(&w.ada),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            events(&w.t.store, EventType::CollectionDeleted).await.len(),
            1
        );
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn three_plugins_compare_side_by_side_and_four_or_an_unknown_one_are_refused() {
    let w = world(TestBackend::Sqlite).await;
    let app = &w.app;
    let (status, body) = call(
        app,
        "GET",
        "/api/compare?plugins=openai,anthropic,@bealers/plugin-mattermost",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let columns = body["plugins"].as_array().unwrap();
    assert_eq!(
        names(&body, "plugins"),
        vec![
            "@elizaos/plugin-openai",
            "@elizaos/plugin-anthropic",
            "@bealers/plugin-mattermost"
        ]
    );
    for column in columns {
        for key in [
            "latest_version",
            "versions",
            "compat",
            "settings",
            "publisher",
            "analysis",
            "dependencies",
            "unpacked_size",
        ] {
            assert!(column.get(key).is_some(), "{key} in {column}");
        }
        // Nobody reviewed or ran them here: no rating, and no figure of executions (fewer than three
        // organisations), never a made-up one; the reputation has its five parts.
        assert_eq!(
            (
                column["rating"]["count"].as_u64(),
                column["rating"]["average"].is_null()
            ),
            (Some(0), true),
            "{column}"
        );
        // Fewer than 3 organisations: not shown, as every cross-organisation figure.
        assert_eq!(column["usage"]["installs"], Value::Null);
        assert_eq!(column["usage"]["enough_organisations"], false);
        assert!(column["usage"]["executions_30d"].is_null() && column["usage"]["p95_ms"].is_null());
        assert_eq!(
            column["reputation"]["parts"].as_array().unwrap().len(),
            5,
            "{column}"
        );
    }
    assert_eq!(columns[0]["publisher"]["namespace"], "@elizaos");
    assert_eq!(columns[2]["publisher"]["namespace"], "@bealers");
    // The snapshot's analysis of @elizaos/plugin-openai: its risk and permissions are in its column.
    let analysed = columns.iter().filter(|c| c["analysis"].is_object()).count();
    assert!(analysed >= 1, "{body}");

    let (status, body) = call(
        app,
        "GET",
        "/api/compare?plugins=openai,anthropic,groq,ollama",
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 to 3"),
        "{body}"
    );
    let (status, body) = call(
        app,
        "GET",
        "/api/compare?plugins=openai,no-such-plugin-anywhere",
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "plugin_not_found"),
        "{body}"
    );
    let (status, _) = call(app, "GET", "/api/compare?plugins=", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    w.t.cleanup().await;
}

#[tokio::test]
async fn a_deprecated_plugin_leaves_default_search_and_names_its_replacement_everywhere() {
    for backend in BACKENDS {
        let w = world(backend).await;
        let app = &w.app;
        let found =
            |list: &Value| names(list, "hits").contains(&"@elizaos/plugin-twitter".to_string());
        let (_, before) = call(app, "GET", "/api/plugins?q=twitter", None, None).await;
        assert!(found(&before), "{before}");

        let uri = "/api/admin/deprecations?plugin=%40elizaos%2Fplugin-twitter";
        let change = json!({ "reason": "Superseded", "replacement": "@elizaos/plugin-discord" });
        let (status, _) = call(app, "PUT", uri, Some(&w.ada), Some(change.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = call(
            app,
            "PUT",
            uri,
            Some(&w.platform),
            Some(json!({ "reason": "x", "replacement": "no-such-plugin-anywhere" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, body) = call(
            app,
            "PUT",
            "/api/admin/deprecations?plugin=no-such-plugin-anywhere",
            Some(&w.platform),
            Some(change.clone()),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "plugin_not_found"),
            "{body}"
        );
        let (status, body) = call(app, "PUT", uri, Some(&w.platform), Some(change)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["replacement"], "@elizaos/plugin-discord");

        let (_, hidden) = call(app, "GET", "/api/plugins?q=twitter", None, None).await;
        assert!(!found(&hidden), "hidden from default search: {hidden}");
        let (_, any) = call(
            app,
            "GET",
            "/api/plugins?q=twitter&deprecated=any",
            None,
            None,
        )
        .await;
        let hit = any["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == "@elizaos/plugin-twitter")
            .expect("shown with deprecated=any");
        assert_eq!(
            (hit["deprecated"].as_bool(), hit["replacement"].as_str()),
            (Some(true), Some("@elizaos/plugin-discord"))
        );
        let (_, only) = call(
            app,
            "GET",
            "/api/plugins?q=twitter&deprecated=true",
            None,
            None,
        )
        .await;
        assert!(found(&only), "{only}");
        let (_, detail) = call(
            app,
            "GET",
            "/api/plugins/@elizaos/plugin-twitter",
            None,
            None,
        )
        .await;
        assert_eq!(detail["replacement"], "@elizaos/plugin-discord");
        assert!(
            detail["deprecated"]
                .as_str()
                .unwrap()
                .contains("Superseded"),
            "{detail}"
        );
        let (_, compared) = call(
            app,
            "GET",
            "/api/compare?plugins=twitter,discord",
            None,
            None,
        )
        .await;
        assert_eq!(
            compared["plugins"][0]["replacement"],
            "@elizaos/plugin-discord"
        );
        let recorded = events(&w.t.store, EventType::PluginDeprecated).await;
        assert_eq!(recorded.len(), 1);
        assert_eq!(
            recorded[0].metadata["replacement"],
            "@elizaos/plugin-discord"
        );

        let (status, lifted) = call(app, "DELETE", uri, Some(&w.platform), None).await;
        assert_eq!(
            (status, lifted["reason"].as_str()),
            (StatusCode::OK, Some("Superseded"))
        );
        let (_, back) = call(app, "GET", "/api/plugins?q=twitter", None, None).await;
        assert!(found(&back), "{back}");
        let (status, _) = call(app, "DELETE", uri, Some(&w.platform), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            events(&w.t.store, EventType::PluginUndeprecated)
                .await
                .len(),
            1
        );
        w.t.cleanup().await;
    }
}
