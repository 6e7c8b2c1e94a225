//! Update and rollback: the configuration stays, the replaced version stays on disk for a rollback, a
//! failed or interrupted update leaves the old version working.

use crate::common::*;

fn weather_config(extra_required: bool) -> serde_json::Value {
    let mut params = json!({
        "WEATHER_API_KEY": { "type": "string", "required": true, "sensitive": true },
        "WEATHER_UNITS": { "type": "string", "required": false, "default": "metric" } });
    if extra_required {
        params["WEATHER_REGION"] = json!({ "type": "string", "required": true });
    }
    json!({ "agentConfig": { "pluginParameters": params } })
}

#[tokio::test]
async fn update_keeps_the_configuration_and_rollback_returns() {
    let (t, npm, dir) = world().await;
    let name = "@acme/plugin-weather";
    publish_with(&npm, name, "1.0.0", weather_config(false));
    publish_with(&npm, name, "1.1.0", weather_config(true));
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    inst.install("acme", &format!("{name}@1.0.0"), &opts("alice"))
        .await
        .unwrap();
    let keys = plughub_secrets::KeyRing::load_or_create(&dir.path().join("keys.json")).unwrap();
    inst.configure(
        "acme",
        name,
        &settings(&[("WEATHER_API_KEY", "wk-1"), ("WEATHER_UNITS", "imperial")]),
        &keys,
        "alice",
    )
    .await
    .unwrap();
    inst.create_agent("acme", "eliza", "alice").await.unwrap();
    let active = plughub_lifecycle::ActivateOptions {
        actor: "alice".into(),
        ..Default::default()
    };
    inst.activate("acme", name, "eliza", &active).await.unwrap();

    let outcome = inst
        .update("acme", name, None, &opts("alice"))
        .await
        .unwrap();
    assert_eq!(
        (outcome.from.as_str(), outcome.to.as_str(), outcome.changed),
        ("1.0.0", "1.1.0", true)
    );
    assert_eq!(
        outcome.state,
        State::Active,
        "an active instance stays active"
    );
    assert_eq!(outcome.missing_settings, ["WEATHER_REGION"]);
    let view = inst.config_view("acme", name).await.unwrap();
    assert_eq!(view.values["WEATHER_UNITS"], json!("imperial"));
    assert_eq!(view.secrets_set, ["WEATHER_API_KEY"]);
    assert_eq!(
        inst.packages().folders(),
        ["@acme+plugin-weather@1.0.0", "@acme+plugin-weather@1.1.0"],
        "the replaced version stays for a rollback"
    );
    // The secret still opens: it belongs to the instance, not the version.
    inst.configure(
        "acme",
        name,
        &settings(&[("WEATHER_REGION", "eu")]),
        &keys,
        "alice",
    )
    .await
    .unwrap();

    let again = inst
        .update("acme", name, None, &opts("alice"))
        .await
        .unwrap();
    assert!(!again.changed, "at the newest version already");

    let back = inst.rollback("acme", name, "alice").await.unwrap();
    assert_eq!((back.from.as_str(), back.to.as_str()), ("1.1.0", "1.0.0"));
    assert_eq!(back.state, State::Active);
    let record = inst.list("acme").await.unwrap().remove(0);
    assert_eq!(record.previous.unwrap().version, "1.1.0");

    // A newer version: the one before the kept one is collected.
    publish_with(&npm, name, "1.2.0", weather_config(true));
    let outcome = inst
        .update("acme", name, None, &opts("alice"))
        .await
        .unwrap();
    assert_eq!(
        (outcome.from.as_str(), outcome.to.as_str()),
        ("1.0.0", "1.2.0")
    );
    assert!(
        outcome.missing_settings.is_empty(),
        "WEATHER_REGION was set"
    );
    assert_eq!(
        inst.packages().folders(),
        ["@acme+plugin-weather@1.0.0", "@acme+plugin-weather@1.2.0"]
    );
    let pinned = inst
        .update("acme", name, Some("1.1.0"), &opts("alice"))
        .await
        .unwrap();
    assert_eq!(pinned.to, "1.1.0", "an explicit version, even an older one");

    let story = story(&t.store, "acme").await;
    let updates: Vec<&String> = story
        .iter()
        .filter(|s| s.starts_with("plugin_updated"))
        .collect();
    assert_eq!(
        updates,
        [
            "plugin_updated:@acme/plugin-weather:started",
            "plugin_updated:@acme/plugin-weather:updated",
            "plugin_updated:@acme/plugin-weather:rolled_back",
            "plugin_updated:@acme/plugin-weather:started",
            "plugin_updated:@acme/plugin-weather:updated",
            "plugin_updated:@acme/plugin-weather:started",
            "plugin_updated:@acme/plugin-weather:updated",
        ]
    );
    t.cleanup().await;
}

#[tokio::test]
async fn a_failed_or_interrupted_update_leaves_the_old_version_working() {
    let (t, npm, dir) = world().await;
    let name = "@acme/plugin-solid";
    publish_with(&npm, name, "1.0.0", json!({}));
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    inst.install("acme", name, &opts("alice")).await.unwrap();
    let err = inst.rollback("acme", name, "alice").await.unwrap_err();
    assert!(err.to_string().contains("no earlier version"), "{err}");

    // 2.0.0 is published with an integrity its tarball does not match.
    let manifest = json!({ "name": name, "version": "2.0.0", "main": "index.js" });
    npm.publish_version(
        manifest.clone(),
        package(&manifest, &[("index.js", "module.exports = {};")]),
        Some("sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="),
    );
    let err = inst
        .update("acme", name, None, &opts("alice"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("integrity"), "{err}");
    let record = inst.list("acme").await.unwrap().remove(0);
    assert_eq!(
        (record.version(), record.state),
        ("1.0.0", State::Installed)
    );
    assert!(record.previous.is_none());
    assert_eq!(inst.packages().folders(), ["@acme+plugin-solid@1.0.0"]);
    assert!(
        story(&t.store, "acme")
            .await
            .contains(&"plugin_error_occurred:@acme/plugin-solid:".to_string())
    );

    // What a crash during an update leaves: INSTALLING, with the state to return to.
    let acme = t.store.group_by_name("acme").await.unwrap().unwrap();
    let thing = t
        .store
        .thing_by_name(ThingKind::PluginInstance, Some(&acme.id), name)
        .await
        .unwrap()
        .unwrap();
    let mut properties = thing.properties.clone();
    properties["state"] = json!("INSTALLING");
    properties["replacing"] = json!("INSTALLED");
    let mut tx = t.store.begin().await.unwrap();
    let event = plughub_domain::NewEvent {
        event_type: EventType::PluginUpdated,
        actor: "alice".into(),
        target: None,
        group_id: Some(acme.id.clone()),
        metadata: json!({ "phase": "started", "plugin": name }),
    };
    tx.update_thing(&thing.id, "draft", &properties.to_string(), event)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(inst.recover().await.unwrap(), [name.to_string()]);
    let record = inst.list("acme").await.unwrap().remove(0);
    assert_eq!(
        (record.version(), record.state),
        ("1.0.0", State::Installed)
    );
    assert!(record.replacing.is_none());
    // And it can be updated once a good version is out.
    publish_with(&npm, name, "2.0.1", json!({}));
    assert_eq!(
        inst.update("acme", name, None, &opts("alice"))
            .await
            .unwrap()
            .to,
        "2.0.1"
    );
    t.cleanup().await;
}
