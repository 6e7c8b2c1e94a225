//! Rotating the secret key: every stored secret is resealed under the new key, still opens, and the old
//! key can then be dropped.

use crate::common::*;
use plughub_secrets::KeyRing;

#[tokio::test]
async fn rotation_reseals_every_secret_and_old_keys_can_be_retired() {
    let (t, npm, dir) = world().await;
    let name = "@acme/plugin-vault";
    publish_with(
        &npm,
        name,
        "1.0.0",
        json!({ "agentConfig": { "pluginParameters": {
        "VAULT_TOKEN": { "type": "string", "required": true },
        "VAULT_URL": { "type": "string", "required": false } } } }),
    );
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    for org in ["acme", "globex"] {
        inst.install(org, name, &opts("alice")).await.unwrap();
    }
    let key_file = dir.path().join("keys.json");
    let mut keys = KeyRing::load_or_create(&key_file).unwrap();
    let token = "hvs.CAESIJ3x9-rotation-test";
    for org in ["acme", "globex"] {
        inst.configure(
            org,
            name,
            &settings(&[
                ("VAULT_TOKEN", token),
                ("VAULT_URL", "http://127.0.0.1:8200"),
            ]),
            &keys,
            "alice",
        )
        .await
        .unwrap();
    }
    let sealed = |org: &'static str| {
        let store = t.store.clone();
        async move {
            let group = store.group_by_name(org).await.unwrap().unwrap();
            let thing = store
                .thing_by_name(ThingKind::PluginInstance, Some(&group.id), name)
                .await
                .unwrap()
                .unwrap();
            thing.properties["secrets"]["VAULT_TOKEN"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let before = sealed("acme").await;
    assert!(before.starts_with("v1.k1-"), "{before}");

    let new_key = keys.rotate().unwrap();
    assert!(new_key.starts_with("k2-"), "{new_key}");
    assert_eq!(
        inst.reseal_secrets(&keys, "ops").await.unwrap(),
        2,
        "one secret in each organisation"
    );
    assert_eq!(
        inst.reseal_secrets(&keys, "ops").await.unwrap(),
        0,
        "nothing stale is left"
    );
    let after = sealed("acme").await;
    assert!(after.starts_with(&format!("v1.{new_key}.")), "{after}");
    assert!(!after.contains(token));

    keys.retire_old_keys().unwrap();
    let reloaded = KeyRing::load_or_create(&key_file).unwrap();
    assert_eq!(reloaded.active_key_id(), new_key);
    // The resealed secret still opens with the one key left: configuring checks the whole configuration,
    // secrets included, and a setting changed beside it keeps the token.
    let view = inst
        .configure(
            "acme",
            name,
            &settings(&[("VAULT_URL", "http://127.0.0.1:8300")]),
            &reloaded,
            "alice",
        )
        .await
        .unwrap();
    assert_eq!(view.secrets_set, ["VAULT_TOKEN"]);
    assert!(view.missing.is_empty());

    let events = t
        .store
        .events(&EventFilter {
            event_type: Some(EventType::PluginConfigured),
            ..Default::default()
        })
        .await
        .unwrap();
    let resealed: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e.metadata["resealed"].is_array())
        .map(|e| &e.metadata)
        .collect();
    assert_eq!(resealed.len(), 2);
    assert_eq!(resealed[0]["resealed"], json!(["VAULT_TOKEN"]));
    assert!(
        events
            .iter()
            .all(|e| !e.metadata.to_string().contains(token)),
        "no value in any event"
    );
    t.cleanup().await;
}
