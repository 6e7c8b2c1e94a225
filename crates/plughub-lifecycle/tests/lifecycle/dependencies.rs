//! Plugins that need other plugins: installed first (once), activated first, protected from removal,
//! and cycles, depth and conflicts refused with a clear message before anything is installed.

use crate::common::*;
use plughub_lifecycle::ActivateOptions;

fn needs(deps: &[(&str, &str)]) -> serde_json::Value {
    let deps: serde_json::Map<String, serde_json::Value> = deps
        .iter()
        .map(|(n, r)| (n.to_string(), json!(r)))
        .collect();
    json!({ "dependencies": deps })
}

fn installed_names(records: &[plughub_lifecycle::InstanceRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| format!("{}@{} {:?}", r.plugin, r.version(), r.state))
        .collect()
}

#[tokio::test]
async fn needed_plugins_come_first_and_are_protected() {
    let (t, npm, dir) = world().await;
    publish_with(&npm, "@acme/plugin-base", "1.0.0", json!({}));
    publish_with(&npm, "@acme/plugin-base", "2.0.0", json!({}));
    publish_with(
        &npm,
        "@acme/plugin-mid",
        "1.0.0",
        needs(&[("@acme/plugin-base", "^1.0.0"), ("@acme/dep", "^1.0.0")]),
    );
    publish_with(
        &npm,
        "@acme/plugin-top",
        "1.0.0",
        needs(&[("@acme/plugin-mid", "^1.0.0"), ("@acme/plugin-base", "1.x")]),
    );
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;

    let record = inst
        .install("acme", "@acme/plugin-top", &opts("alice"))
        .await
        .unwrap();
    assert_eq!(record.plugin, "@acme/plugin-top");
    assert_eq!(
        installed_names(&inst.list("acme").await.unwrap()),
        [
            "@acme/plugin-base@1.0.0 Installed",
            "@acme/plugin-mid@1.0.0 Installed",
            "@acme/plugin-top@1.0.0 Installed"
        ],
        "the newest base that meets ^1.0.0, once"
    );
    let installs: Vec<String> = story(&t.store, "acme")
        .await
        .into_iter()
        .filter(|s| s.ends_with(":installed"))
        .collect();
    assert_eq!(
        installs,
        [
            "plugin_installed:@acme/plugin-base:installed",
            "plugin_installed:@acme/plugin-mid:installed",
            "plugin_installed:@acme/plugin-top:installed"
        ],
        "dependencies first"
    );

    // Activating the top plugin activates what it needs for the same agent.
    inst.create_agent("acme", "eliza", "alice").await.unwrap();
    let all = ActivateOptions {
        actor: "alice".into(),
        ..Default::default()
    };
    inst.activate("acme", "@acme/plugin-top", "eliza", &all)
        .await
        .unwrap();
    let agents = inst.agents("acme").await.unwrap();
    assert_eq!(agents[0].plugins.len(), 3);
    assert!(
        inst.list("acme")
            .await
            .unwrap()
            .iter()
            .all(|r| r.state == State::Active)
    );

    let err = inst
        .deactivate("acme", "@acme/plugin-base", Some("eliza"), "alice")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("@acme/plugin-mid, @acme/plugin-top depend(s) on @acme/plugin-base"),
        "{err}"
    );
    assert!(err.contains("deactivate"), "{err}");
    let err = inst
        .update("acme", "@acme/plugin-base", Some("2.0.0"), &opts("alice"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("version conflict on @acme/plugin-base"),
        "{err}"
    );
    assert!(err.contains("@acme/plugin-mid needs ^1.0.0"), "{err}");

    inst.deactivate("acme", "@acme/plugin-top", None, "alice")
        .await
        .unwrap();
    inst.deactivate("acme", "@acme/plugin-mid", None, "alice")
        .await
        .unwrap();
    let err = inst
        .uninstall("acme", "@acme/plugin-base", "alice")
        .await
        .unwrap_err();
    assert!(matches!(err, LifecycleError::HasDependents { .. }), "{err}");
    inst.uninstall("acme", "@acme/plugin-top", "alice")
        .await
        .unwrap();
    inst.uninstall("acme", "@acme/plugin-mid", "alice")
        .await
        .unwrap();
    inst.deactivate("acme", "@acme/plugin-base", None, "alice")
        .await
        .unwrap();
    inst.uninstall("acme", "@acme/plugin-base", "alice")
        .await
        .unwrap();
    assert!(inst.packages().folders().is_empty());
    t.cleanup().await;
}

#[tokio::test]
async fn cycles_depth_and_missing_plugins_are_refused_before_anything_is_installed() {
    let (t, npm, dir) = world().await;
    let mut inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    inst.installs_per_hour = 100;
    publish_with(
        &npm,
        "@acme/plugin-c1",
        "1.0.0",
        needs(&[("@acme/plugin-c2", "*")]),
    );
    publish_with(
        &npm,
        "@acme/plugin-c2",
        "1.0.0",
        needs(&[("@acme/plugin-c1", "^1")]),
    );
    let err = inst
        .install("acme", "@acme/plugin-c1", &opts("alice"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "dependency cycle: @acme/plugin-c1 → @acme/plugin-c2 → @acme/plugin-c1"
    );

    // d0 → d1 → … → d6 is six levels deep; d1 → … → d6 is five.
    for i in 0..=6 {
        let next = format!("@acme/plugin-d{}", i + 1);
        let extra = if i < 6 {
            needs(&[(&next, "^1.0.0")])
        } else {
            json!({})
        };
        publish_with(&npm, &format!("@acme/plugin-d{i}"), "1.0.0", extra);
    }
    let err = inst
        .install("acme", "@acme/plugin-d0", &opts("alice"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "dependencies nest deeper than 5 levels: @acme/plugin-d0 → @acme/plugin-d1"
        ),
        "{err}"
    );

    publish_with(
        &npm,
        "@acme/plugin-needy",
        "1.0.0",
        needs(&[("@acme/plugin-ghost", "^1.0.0")]),
    );
    let err = inst
        .install("acme", "@acme/plugin-needy", &opts("alice"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("@acme/plugin-needy needs @acme/plugin-ghost, which cannot be installed"),
        "{err}"
    );
    publish_with(&npm, "@acme/plugin-old", "1.0.0", json!({}));
    publish_with(
        &npm,
        "@acme/plugin-picky",
        "1.0.0",
        needs(&[("@acme/plugin-old", "^3.0.0")]),
    );
    let err = inst
        .install("acme", "@acme/plugin-picky", &opts("alice"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "@acme/plugin-picky needs @acme/plugin-old, which cannot be installed: @acme/plugin-old: no version matches '^3.0.0' (notarget)"
        ),
        "{err}"
    );
    assert!(
        inst.list("acme").await.unwrap().is_empty(),
        "nothing was installed"
    );
    assert!(
        !story(&t.store, "acme")
            .await
            .iter()
            .any(|s| s.starts_with("plugin_installed")),
        "nothing was even started"
    );

    let record = inst
        .install("acme", "@acme/plugin-d1", &opts("alice"))
        .await
        .unwrap();
    assert_eq!(record.plugin, "@acme/plugin-d1");
    assert_eq!(
        inst.list("acme").await.unwrap().len(),
        6,
        "five levels are allowed"
    );
    t.cleanup().await;
}

#[tokio::test]
async fn when_a_needed_plugin_fails_the_ones_installed_for_it_are_removed() {
    let (t, npm, dir) = world().await;
    publish_with(&npm, "@acme/plugin-able", "1.0.0", json!({}));
    let broken = json!({ "name": "@acme/plugin-broken", "version": "1.0.0", "main": "index.js" });
    npm.publish_version(
        broken.clone(),
        package(&broken, &[("index.js", "module.exports = {};")]),
        Some("sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="),
    );
    publish_with(
        &npm,
        "@acme/plugin-app",
        "1.0.0",
        needs(&[("@acme/plugin-able", "^1"), ("@acme/plugin-broken", "^1")]),
    );
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    let err = inst
        .install("acme", "@acme/plugin-app", &opts("alice"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "@acme/plugin-app was not installed: its dependency @acme/plugin-broken failed"
        ),
        "{text}"
    );
    assert!(text.contains("integrity"), "{text}");
    assert_eq!(
        installed_names(&inst.list("acme").await.unwrap()),
        ["@acme/plugin-broken@1.0.0 Failed"],
        "the plugin installed for it is removed again; the failure stays visible"
    );
    assert!(
        inst.packages().folders().is_empty(),
        "its package is collected"
    );
    let story = story(&t.store, "acme").await;
    assert!(
        story.contains(&"plugin_uninstalled:@acme/plugin-able:".to_string()),
        "{story:?}"
    );
    assert!(!story.iter().any(|s| s.contains("plugin-app")), "{story:?}");
    t.cleanup().await;
}

#[tokio::test]
async fn an_update_cannot_close_a_cycle_and_a_rollback_needs_what_it_needs() {
    let (t, npm, dir) = world().await;
    publish_with(&npm, "@acme/plugin-a", "1.0.0", json!({}));
    publish_with(
        &npm,
        "@acme/plugin-b",
        "1.0.0",
        needs(&[("@acme/plugin-a", "^1.0.0")]),
    );
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    inst.install("acme", "@acme/plugin-b", &opts("alice"))
        .await
        .unwrap();
    // a 1.1.0 would need b, which needs a: a cycle through installed plugins.
    publish_with(
        &npm,
        "@acme/plugin-a",
        "1.1.0",
        needs(&[("@acme/plugin-b", "^1.0.0")]),
    );
    let err = inst
        .update("acme", "@acme/plugin-a", None, &opts("alice"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("dependency cycle: @acme/plugin-a → @acme/plugin-b → @acme/plugin-a"),
        "{err}"
    );

    // c 1.0.0 needs d; c 2.0.0 does not; d is uninstalled after the update; rolling back needs d again.
    publish_with(&npm, "@acme/plugin-d", "1.0.0", json!({}));
    publish_with(
        &npm,
        "@acme/plugin-c",
        "1.0.0",
        needs(&[("@acme/plugin-d", "^1.0.0")]),
    );
    inst.install("acme", "@acme/plugin-c", &opts("alice"))
        .await
        .unwrap();
    publish_with(&npm, "@acme/plugin-c", "2.0.0", json!({}));
    inst.update("acme", "@acme/plugin-c", None, &opts("alice"))
        .await
        .unwrap();
    inst.uninstall("acme", "@acme/plugin-d", "alice")
        .await
        .unwrap();
    let err = inst
        .rollback("acme", "@acme/plugin-c", "alice")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "rolling @acme/plugin-c back to 1.0.0 needs @acme/plugin-d installed first"
    );
    t.cleanup().await;
}

/// A `workspace:` reference left in a published plugin (as `@elizaos/plugin-edge-tts` 1.0.0 has): the
/// plugin it names is installed at the version pnpm gets for it (the one published last before the plugin
/// requiring it), and a reference to a package the registry does not have fails, naming it.
#[tokio::test]
async fn workspace_references_are_read_as_the_published_versions() {
    let (t, npm, dir) = world().await;
    publish_with(&npm, "@acme/plugin-base", "1.0.0", json!({}));
    publish_with(&npm, "@acme/plugin-base", "1.1.0", json!({}));
    publish_with(
        &npm,
        "@acme/plugin-top",
        "1.0.0",
        needs(&[("@acme/plugin-base", "workspace:^")]),
    );
    publish_with(
        &npm,
        "@acme/plugin-orphan",
        "1.0.0",
        needs(&[("@acme/private-lib", "workspace:*")]),
    );
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    inst.install("acme", "@acme/plugin-top", &opts("alice"))
        .await
        .unwrap();
    assert_eq!(
        installed_names(&inst.list("acme").await.unwrap()),
        [
            "@acme/plugin-base@1.1.0 Installed",
            "@acme/plugin-top@1.0.0 Installed"
        ]
    );
    let err = inst
        .install("acme", "@acme/plugin-orphan", &opts("alice"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("@acme/plugin-orphan depends on @acme/private-lib@workspace:*")
            && err.contains("not on the npm registry"),
        "{err}"
    );
}
