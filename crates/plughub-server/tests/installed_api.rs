//! Changing installed plugins through the API, from a registry on loopback: each route as the role that
//! may, as one that may not, and from another organisation; secrets never come back; the caller is the
//! actor of every event.

mod support;

use axum::http::StatusCode;
use plughub_domain::{Plan, Role};
use plughub_testkit::http::LoopbackNpm;
use plughub_testkit::{TestBackend, TestStore};
use serde_json::json;
use support::{Node, person_with_token};

const PLUGIN: &str = "@acme/plugin-api";
const ENCODED: &str = "@acme%2Fplugin-api";
/// An action that answers with its input and, carelessly, its own key.
const ECHO: &str = "export default { name: 'api', description: 'echoes', actions: [{ name: 'ECHO', \
    description: 'echo', validate: async () => true, handler: async (runtime, message) => \
    ({ text: `echo ${message.content.text} ${runtime.getSetting('API_KEY')}` }) }] };";

#[tokio::test(flavor = "multi_thread")]
async fn install_configure_grant_and_uninstall_by_role() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let npm = LoopbackNpm::start().await;
    let manifest = json!({ "name": PLUGIN, "version": "1.0.0", "type": "module", "main": "index.js",
        "agentConfig": { "pluginParameters": {
            "API_KEY": { "type": "string", "required": true, "sensitive": true } } },
        "plughub": { "permissions": ["storage.read"] } });
    npm.publish_version(
        manifest.clone(),
        plughub_testkit::tarball::package(&manifest, &[("index.js", ECHO)]),
        None,
    );
    let mut tx = t.store.begin().await.unwrap();
    for org in ["acme", "globex"] {
        tx.create_group(org, Plan::Pro, None, "test").await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tokens = std::collections::HashMap::new();
    for (email, org, role) in [
        ("owner@acme.test", "acme", Role::OrgOwner),
        ("user@acme.test", "acme", Role::OrgUser),
        ("owner@globex.test", "globex", Role::OrgOwner),
    ] {
        tokens.insert(email, person_with_token(&t.store, email, org, role).await);
    }
    let node = Node::start(
        t.store.clone(),
        &npm.url,
        dir.path(),
        &dir.path().join("keys.json"),
        Default::default(),
    )
    .await;
    let (owner, user, globex) = (
        tokens["owner@acme.test"].as_str(),
        tokens["user@acme.test"].as_str(),
        tokens["owner@globex.test"].as_str(),
    );
    let plugins = "/api/orgs/acme/plugins";
    let install = json!({ "plugin": PLUGIN });

    let (status, body) = node
        .send("POST", plugins, user, Some(install.clone()))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, body) = node
        .send("POST", plugins, globex, Some(install.clone()))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("org_not_found"))
    );
    // What the document's `Install` does not admit is refused before anything is looked up: a path on
    // the server's disk never reaches the installer.
    for (bad, code) in [
        (json!({ "plugin": "/etc" }), "invalid_body"),
        (json!({ "plugin": "./here" }), "invalid_body"),
        (json!({ "plugin": "~/x" }), "invalid_body"),
        (json!({ "plugin": format!(" {PLUGIN}") }), "invalid_body"),
        (json!({ "plugin": PLUGIN, "core": "v9" }), "invalid_body"),
        (json!({ "plugin": PLUGIN, "force": true }), "invalid_body"),
    ] {
        let (status, body) = node.send("POST", plugins, owner, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["code"], code, "{bad}: {body}");
    }
    let (status, body) = node
        .send("POST", plugins, owner, Some(install.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["version"], "1.0.0");
    assert_eq!(
        body["permissions"]["missing"]["storage.read"], true,
        "{body}"
    );
    assert!(body.get("secrets").is_none());
    let (status, body) = node.send("POST", plugins, owner, Some(install)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );

    // Configure: the owner only; a secret is sealed and shown by name.
    let config = format!("{plugins}/{ENCODED}/config");
    let settings = json!({ "settings": { "API_KEY": "ak-0123456789" } });
    let (status, _) = node
        .send("PUT", &config, user, Some(settings.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = node.send("PUT", &config, owner, Some(settings)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["secrets_set"], json!(["API_KEY"]));
    assert!(!body.to_string().contains("ak-0123456789"));
    let (status, body) = node
        .send(
            "PUT",
            &config,
            owner,
            Some(json!({ "settings": { "NOPE": "1" } })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Permissions: members see them, the owner grants.
    let permissions = format!("{plugins}/{ENCODED}/permissions");
    let (status, body) = node.send("GET", &permissions, user, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["requested"]["secrets.access"], json!(["API_KEY"]));
    let (status, _) = node.send("POST", &permissions, user, Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = node
        .send("GET", &permissions.replace("acme", "globex"), owner, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = node
        .send("POST", &permissions, owner, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["missing"], json!({}));
    // What the document's `Named` does not admit: the network and secrets are granted by naming them,
    // and a domain is a domain name.
    for bad in [
        json!({ "permissions": ["network.external"] }),
        json!({ "domains": ["203.0.113.7"] }),
        json!({ "domains": ["*.*.example.com"] }),
        json!({ "domains": [format!("{}.com", "a".repeat(250))] }),
    ] {
        let (status, body) = node
            .send("POST", &permissions, owner, Some(bad.clone()))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")),
            "{bad}: {body}"
        );
    }
    let (status, body) = node
        .send(
            "POST",
            &permissions,
            owner,
            Some(json!({ "domains": ["*.example.com", "localhost"], "permissions": ["storage.read"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["granted"]["network.external"],
        json!(["*.example.com", "localhost"])
    );

    // An agent, and the plugin activated for it.
    let (status, body) = node
        .send(
            "POST",
            "/api/orgs/acme/agents",
            owner,
            Some(json!({ "name": "eliza" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A name is taken as sent, as the document's pattern reads it: no trimming of what it refuses.
    for bad in ["bad name", " eliza2", ""] {
        let (status, body) = node
            .send(
                "POST",
                "/api/orgs/acme/agents",
                owner,
                Some(json!({ "name": bad })),
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")),
            "{bad}: {body}"
        );
    }
    let (status, body) = node
        .send(
            "POST",
            "/api/orgs/acme/agents",
            owner,
            Some(json!({ "name": "eliza" })),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "a name taken already: {body}"
    );
    let activate = format!("{plugins}/{ENCODED}/activate");
    // An integer as JSON Schema reads it: 5.0 is 5.
    let (status, body) = node
        .send(
            "POST",
            &activate,
            owner,
            Some(json!({ "agent": "eliza", "priority": 5.0 })),
        )
        .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (StatusCode::OK, Some("ACTIVE")),
        "{body}"
    );
    let (status, body) = node
        .send("POST", &activate, owner, Some(json!({ "agent": "nobody" })))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("agent_not_found")),
        "{body}"
    );
    let (status, body) = node.send("GET", "/api/orgs/acme/agents", user, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.to_string().contains(PLUGIN), "{body}");

    // Run: members may; the answer is recorded by its caller, the key cut out of it.
    let run = format!("{plugins}/{ENCODED}/run");
    let (status, body) = node
        .send(
            "POST",
            &run,
            globex,
            Some(json!({ "action": "ECHO", "text": "hi" })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = node
        .send(
            "POST",
            &run,
            user,
            Some(json!({ "action": "ECHO", "provider": "X" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Exactly one is given, and not null: the document says so, and so does the answer.
    let (status, body) = node
        .send(
            "POST",
            &run,
            user,
            Some(json!({ "action": "ECHO", "provider": null })),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")),
        "{body}"
    );
    let (status, body) = node
        .send(
            "POST",
            &run,
            user,
            Some(json!({ "action": "ECHO", "text": "hi", "timeout": 5.0 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["text"], "echo hi ***");
    // A component the plugin does not have is the caller's mistake: not found (and recorded).
    let (status, body) = node
        .send("POST", &run, user, Some(json!({ "action": "NOPE" })))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("component_not_found")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("has no action named NOPE"),
        "{body}"
    );

    let (status, body) = node
        .send("GET", "/api/orgs/acme/executions", user, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 2, "the run and the failed one: {body}");
    assert_eq!(body["items"][1]["metadata"]["component"], "ECHO");
    assert_eq!(body["items"][1]["metadata"]["text"], "echo hi ***");
    let (status, body) = node
        .send(
            "GET",
            "/api/orgs/acme/executions?page=2&per_page=1",
            user,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["total"].as_i64(), body["page"].as_i64()),
        (Some(2), Some(2)),
        "{body}"
    );
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(
        items[0]["metadata"]["component"], "ECHO",
        "the older one: {body}"
    );
    let (status, body) = node
        .send(
            "GET",
            "/api/orgs/acme/executions?page=18446744073709551615&per_page=1",
            user,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["items"],
        json!([]),
        "a page past the log is empty: {body}"
    );
    assert_eq!(body["total"], 2, "{body}");
    // A caller's mistakes are not the plugin's failures: however many, its circuit stays closed (5 in
    // a row open it) and it is not suspended (10), and the next good run is answered.
    for _ in 0..11 {
        let (status, body) = node
            .send("POST", &run, user, Some(json!({ "action": "NOPE" })))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }
    let (status, body) = node
        .send(
            "POST",
            &run,
            user,
            Some(json!({ "action": "ECHO", "text": "hi" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = node
        .send(
            "POST",
            &format!("{plugins}/{ENCODED}/rollback"),
            owner,
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "nothing to roll back to: {body}"
    );
    let (status, body) = node
        .send(
            "POST",
            &format!("{plugins}/{ENCODED}/deactivate"),
            owner,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (StatusCode::OK, Some("INSTALLED")),
        "{body}"
    );

    // Uninstall: the owner only; then it is gone.
    let one = format!("{plugins}/{ENCODED}");
    let (status, _) = node.send("DELETE", &one, user, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = node.send("DELETE", &one, owner, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = node.send("GET", &permissions, owner, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("plugin_not_installed"))
    );

    // Every change names its caller.
    let events = t.store.events(&Default::default()).await.unwrap();
    for kind in [
        "plugin_installed",
        "plugin_configured",
        "plugin_permissions_granted",
        "plugin_uninstalled",
    ] {
        assert!(
            events
                .iter()
                .any(|e| e.event_type.as_str() == kind && e.actor == "owner@acme.test"),
            "{kind}"
        );
    }
    assert!(
        !serde_json::to_string(&events.iter().map(|e| &e.metadata).collect::<Vec<_>>())
            .unwrap()
            .contains("ak-0123456789")
    );
}

/// A package at `version` with `extra` in its package.json.
fn publish(npm: &LoopbackNpm, name: &str, version: &str, extra: serde_json::Value) {
    let mut manifest =
        json!({ "name": name, "version": version, "type": "module", "main": "index.js" });
    for (k, v) in extra.as_object().into_iter().flatten() {
        manifest[k] = v.clone();
    }
    npm.publish_version(
        manifest.clone(),
        plughub_testkit::tarball::package(
            &manifest,
            &[(
                "index.js",
                "export default { name: 'x', description: 'x' };",
            )],
        ),
        None,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_is_read_through_the_catalogue_the_server_serves() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let npm = LoopbackNpm::start().await;
    let plugin_json = json!({ "keywords": ["elizaos-plugins"] });
    publish(&npm, "@elizaos/plugin-solana", "1.0.0", plugin_json.clone());
    publish(&npm, "left-pad", "1.3.0", json!({ "keywords": ["pad"] }));
    let mut tx = t.store.begin().await.unwrap();
    tx.create_group("acme", Plan::Pro, None, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let owner = person_with_token(&t.store, "owner@acme.test", "acme", Role::OrgOwner).await;
    let node = Node::start(
        t.store.clone(),
        &npm.url,
        dir.path(),
        &dir.path().join("keys.json"),
        Default::default(),
    )
    .await;
    let snapshot = plughub_testkit::registry_snapshot_dir()
        .join("generated-registry.json")
        .display()
        .to_string();
    node.catalog
        .sync(
            &plughub_catalog::SyncOptions::offline(vec![snapshot]),
            &plughub_catalog::sync::NoProgress,
        )
        .await
        .unwrap();
    let plugins = "/api/orgs/acme/plugins";

    let (status, body) = node
        .send(
            "POST",
            plugins,
            &owner,
            Some(json!({ "plugin": "left-pad" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "not_a_plugin", "{body}");
    assert_eq!(
        (
            &body["error"]["details"]["package"],
            &body["error"]["details"]["version"]
        ),
        (&json!("left-pad"), &json!("1.3.0"))
    );
    let (_, list) = node.send("GET", plugins, &owner, None).await;
    assert_eq!(list["plugins"], json!([]), "{list}");

    let (status, body) = node
        .send("POST", plugins, &owner, Some(json!({ "plugin": "solana" })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["plugin"], "@elizaos/plugin-solana");

    let private = json!({ "plugin": "left-pad", "not_in_catalogue": true });
    let (status, body) = node.send("POST", plugins, &owner, Some(private)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["plugin"], "left-pad");

    publish(&npm, "@elizaos/plugin-solana", "1.1.0", plugin_json);
    let (status, body) = node
        .send(
            "POST",
            &format!("{plugins}/solana/update"),
            &owner,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["plugin"], &body["from"], &body["to"]),
        (
            &json!("@elizaos/plugin-solana"),
            &json!("1.0.0"),
            &json!("1.1.0")
        )
    );
    t.cleanup().await;
}
