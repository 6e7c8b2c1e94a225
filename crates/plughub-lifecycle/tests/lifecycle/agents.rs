//! Agents, activation and deactivation: plugin_powers and plugin_uses links, required settings first,
//! several agents per plugin, and nothing reachable from another organisation.

use crate::common::*;
use plughub_lifecycle::ActivateOptions;

#[tokio::test]
async fn activation_links_plugins_to_agents_and_deactivation_unlinks_them() {
    let (t, npm, dir) = world().await;
    let name = "@acme/plugin-weather";
    publish_with(
        &npm,
        name,
        "1.0.0",
        json!({ "agentConfig": { "pluginParameters": {
        "WEATHER_API_KEY": { "type": "string", "required": true, "sensitive": true } } } }),
    );
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    inst.install("acme", name, &opts("alice")).await.unwrap();
    inst.create_agent("acme", "eliza", "alice").await.unwrap();
    inst.create_agent("acme", "ada", "alice").await.unwrap();
    let err = inst.create_agent("acme", "ada", "alice").await.unwrap_err();
    assert!(err.to_string().contains("exists already"), "{err}");
    let all = ActivateOptions {
        actor: "alice".into(),
        ..Default::default()
    };

    let err = inst
        .activate("acme", name, "eliza", &all)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "needs WEATHER_API_KEY before it can be used: `plughub configure @acme/plugin-weather --org acme WEATHER_API_KEY=…`"
        ),
        "{err}"
    );
    let keys = plughub_secrets::KeyRing::load_or_create(&dir.path().join("keys.json")).unwrap();
    inst.configure(
        "acme",
        name,
        &settings(&[("WEATHER_API_KEY", "k")]),
        &keys,
        "alice",
    )
    .await
    .unwrap();
    let err = inst.activate("acme", name, "hal", &all).await.unwrap_err();
    assert!(
        err.to_string().contains("no agent named 'hal' in acme"),
        "{err}"
    );

    let record = inst.activate("acme", name, "eliza", &all).await.unwrap();
    assert_eq!(record.state, State::Active);
    let err = inst
        .activate("acme", name, "eliza", &all)
        .await
        .unwrap_err();
    assert!(matches!(err, LifecycleError::AlreadyActive { .. }), "{err}");
    let some = ActivateOptions {
        enabled_actions: Some(vec!["GET_WEATHER".into()]),
        priority: 5,
        actor: "alice".into(),
    };
    inst.activate("acme", name, "ada", &some).await.unwrap();
    let agents = inst.agents("acme").await.unwrap();
    let ada = agents.iter().find(|a| a.name == "ada").unwrap();
    assert_eq!(ada.plugins[0].plugin, name);
    assert_eq!(ada.plugins[0].enabled_actions, json!(["GET_WEATHER"]));
    assert_eq!(ada.plugins[0].priority, 5);
    let eliza = agents.iter().find(|a| a.name == "eliza").unwrap();
    assert_eq!(eliza.plugins[0].enabled_actions, json!(null), "all actions");

    let err = inst.uninstall("acme", name, "alice").await.unwrap_err();
    assert!(err.to_string().contains("deactivate it first"), "{err}");

    // Another organisation sees neither the instance nor the agents.
    let err = inst
        .activate("globex", name, "eliza", &all)
        .await
        .unwrap_err();
    assert!(matches!(err, LifecycleError::NotInstalled { .. }), "{err}");
    assert!(inst.agents("globex").await.unwrap().is_empty());

    let record = inst
        .deactivate("acme", name, Some("ada"), "alice")
        .await
        .unwrap();
    assert_eq!(record.state, State::Active, "still serves eliza");
    let err = inst
        .deactivate("acme", name, Some("ada"), "alice")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not active for agent ada"),
        "{err}"
    );
    let record = inst.deactivate("acme", name, None, "alice").await.unwrap();
    assert_eq!(record.state, State::Installed);
    assert!(
        inst.agents("acme")
            .await
            .unwrap()
            .iter()
            .all(|a| a.plugins.is_empty())
    );
    let err = inst
        .deactivate("acme", name, None, "alice")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("it is not active"), "{err}");
    inst.uninstall("acme", name, "alice").await.unwrap();

    let story = story(&t.store, "acme").await;
    let lifecycle: Vec<&str> = story
        .iter()
        .map(String::as_str)
        .filter(|s| s.contains("activated") || s.contains("agent_created"))
        .collect();
    assert_eq!(
        lifecycle,
        [
            "agent_created::",
            "agent_created::",
            "plugin_activated:@acme/plugin-weather:",
            "plugin_activated:@acme/plugin-weather:",
            "plugin_deactivated:@acme/plugin-weather:",
            "plugin_deactivated:@acme/plugin-weather:",
        ]
    );
    t.cleanup().await;
}
