//! What running leaves on an instance: the error streak and suspension after ten failures in a row,
//! resuming, and the plan's daily quota and the per-minute rate counted from the store.

use crate::common::*;
use plughub_domain::execution_policy::ExecutionPolicy;

#[tokio::test]
async fn ten_failures_in_a_row_suspend_and_quotas_hold() {
    let (t, npm, dir) = world().await;
    let name = "@acme/plugin-runner";
    publish_with(&npm, name, "1.0.0", json!({}));
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    for org in ["acme", "globex"] {
        inst.install(org, name, &opts("alice")).await.unwrap();
    }
    let keys = plughub_secrets::KeyRing::load_or_create(&dir.path().join("keys.json")).unwrap();
    let context = inst.execution_context("acme", name, &keys).await.unwrap();
    assert_eq!(context.plan, Plan::Pro);

    for i in 1..=10 {
        let suspended = inst
            .record_execution(&context, i == 5, json!({ "kind": "action" }), "test")
            .await
            .unwrap();
        assert!(!suspended, "a success at 5 restarted the count");
    }
    for i in 1..=5 {
        let suspended = inst
            .record_execution(&context, false, json!({ "kind": "action" }), "test")
            .await
            .unwrap();
        assert_eq!(suspended, i == 5, "the tenth failure in a row suspends");
    }
    let err = inst
        .execution_context("acme", name, &keys)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("suspended after repeated errors"),
        "{err}"
    );
    let record = inst.list("acme").await.unwrap().remove(0);
    assert_eq!(record.state, State::Suspended);
    assert!(record.error.unwrap().contains("plughub resume"));
    let record = inst.resume("acme", name, "alice").await.unwrap();
    assert_eq!((record.state, record.error_streak), (State::Installed, 0));
    let err = inst.resume("acme", name, "alice").await.unwrap_err();
    assert!(err.to_string().contains("Resume"), "{err}");

    // Pro: 15 ran in this minute so far; 100 a minute is the instance's limit.
    let policy = ExecutionPolicy::default();
    inst.check_execution_allowed(&context, &policy)
        .await
        .unwrap();
    for _ in 0..85 {
        inst.record_execution(&context, true, json!({ "kind": "action" }), "test")
            .await
            .unwrap();
    }
    let err = inst
        .check_execution_allowed(&context, &policy)
        .await
        .unwrap_err();
    assert!(
        matches!(err, LifecycleError::ExecutionRate { limit: 100, .. }),
        "{err}"
    );

    // Free: 100 a day for the whole organisation.
    let free = inst.execution_context("globex", name, &keys).await.unwrap();
    let tight = ExecutionPolicy {
        executions_per_minute: 1_000,
        ..ExecutionPolicy::default()
    };
    for _ in 0..100 {
        inst.record_execution(&free, true, json!({ "kind": "action" }), "test")
            .await
            .unwrap();
    }
    let err = inst
        .check_execution_allowed(&free, &tight)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("globex has used the 100 executions a day of its free plan"),
        "{err}"
    );
    inst.check_execution_allowed(&context, &tight)
        .await
        .expect("another organisation's quota is its own");
    t.cleanup().await;
}

#[tokio::test]
async fn a_suspended_instance_serving_agents_comes_back_active_or_goes_cleanly() {
    let (t, npm, dir) = world().await;
    let name = "@acme/plugin-flaky";
    publish_with(&npm, name, "1.0.0", json!({}));
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    inst.install("acme", name, &opts("alice")).await.unwrap();
    inst.create_agent("acme", "eliza", "alice").await.unwrap();
    let all = plughub_lifecycle::ActivateOptions {
        actor: "alice".into(),
        ..Default::default()
    };
    inst.activate("acme", name, "eliza", &all).await.unwrap();
    let keys = plughub_secrets::KeyRing::load_or_create(&dir.path().join("keys.json")).unwrap();
    let context = inst.execution_context("acme", name, &keys).await.unwrap();
    let fail_ten_times = || async {
        for _ in 0..10 {
            inst.record_execution(&context, false, json!({ "kind": "action" }), "test")
                .await
                .unwrap();
        }
    };
    fail_ten_times().await;
    let record = inst.resume("acme", name, "alice").await.unwrap();
    assert_eq!(record.state, State::Active, "it still serves eliza");

    fail_ten_times().await;
    assert_eq!(inst.list("acme").await.unwrap()[0].state, State::Suspended);
    inst.uninstall("acme", name, "alice").await.unwrap();
    let agents = inst.agents("acme").await.unwrap();
    assert!(
        agents[0].plugins.is_empty(),
        "no link to an uninstalled plugin is left"
    );
    let again = inst.install("acme", name, &opts("alice")).await.unwrap();
    assert_eq!(again.state, State::Installed);
    inst.activate("acme", name, "eliza", &all).await.unwrap();
    t.cleanup().await;
}

/// An instance installed before plughub recorded permissions: what it asks for is worked out from its
/// package when next needed, nothing counts as granted for it until an owner grants, and then it runs
/// with its secret.
#[tokio::test]
async fn an_instance_from_before_permissions_needs_a_grant() {
    let (t, npm, dir) = world().await;
    let name = "@acme/plugin-old";
    publish_with(
        &npm,
        name,
        "1.0.0",
        json!({ "agentConfig": { "pluginParameters": {
            "OLD_API_KEY": { "type": "string", "required": true, "sensitive": true } } },
            "plughub": { "permissions": ["storage.read"] } }),
    );
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    inst.install("acme", name, &opts("alice")).await.unwrap();
    let keys = plughub_secrets::KeyRing::load_or_create(&dir.path().join("keys.json")).unwrap();
    inst.configure(
        "acme",
        name,
        &settings(&[("OLD_API_KEY", "ok-123456")]),
        &keys,
        "alice",
    )
    .await
    .unwrap();
    inst.grant("acme", name, true, &Default::default(), "alice")
        .await
        .unwrap();
    // The record as an older plughub wrote it: no permissions asked, recorded or granted.
    let group = t.store.group_by_name("acme").await.unwrap().unwrap();
    let thing = t
        .store
        .thing_by_name(ThingKind::PluginInstance, Some(&group.id), name)
        .await
        .unwrap()
        .unwrap();
    let mut old = thing.properties.clone();
    for field in [
        "requested",
        "declared_permissions",
        "permissions_recorded",
        "granted",
        "granted_by",
    ] {
        old.as_object_mut().unwrap().remove(field);
    }
    let mut tx = t.store.begin().await.unwrap();
    let event = plughub_domain::NewEvent {
        event_type: plughub_domain::EventType::PluginConfigured,
        actor: "test".into(),
        target: Some(thing.id.clone()),
        group_id: Some(group.id.clone()),
        metadata: json!({ "phase": "an older record" }),
    };
    tx.update_thing(&thing.id, &thing.status, &old.to_string(), event)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let err = inst
        .execution_context("acme", name, &keys)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("storage.read") && message.contains("secrets.access: OLD_API_KEY"),
        "{message}"
    );
    let view = inst.permissions("acme", name).await.unwrap();
    assert!(view.declared && view.requested.storage_read);
    inst.grant("acme", name, true, &Default::default(), "alice")
        .await
        .unwrap();
    let context = inst.execution_context("acme", name, &keys).await.unwrap();
    assert_eq!(context.settings["OLD_API_KEY"], "ok-123456");
}
