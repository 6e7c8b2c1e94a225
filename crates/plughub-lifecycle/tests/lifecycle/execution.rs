//! What running leaves on an instance: the error streak and suspension after ten failures in a row, the
//! circuit breaker kept with it, and resuming. (The quota and the rate are the runner's: see
//! plughub-server's tests/policies.rs.)

use crate::common::*;
use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_lifecycle::Attempt;

#[tokio::test]
async fn ten_failures_in_a_row_suspend_and_the_breaker_is_kept() {
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

    let policy = ExecutionPolicy::default();
    let attempt = |ok: bool| {
        if ok {
            Attempt::Succeeded
        } else {
            Attempt::Failed
        }
    };
    for i in 1..=10 {
        let suspended = inst
            .record_execution(
                &context,
                attempt(i == 5),
                json!({ "kind": "action" }),
                "test",
                &policy,
            )
            .await
            .unwrap();
        assert!(!suspended, "a success at 5 restarted the count");
    }
    let breaker = inst.list("acme").await.unwrap().remove(0).breaker;
    assert_eq!(
        breaker.state(),
        plughub_domain::execution_policy::BreakerState::Open,
        "five failures in a row open the breaker, kept in the store"
    );
    for i in 1..=5 {
        // Retried attempts count in the streak as the last attempt of an execution does.
        let how = if i % 2 == 0 {
            Attempt::FailedRetrying
        } else {
            Attempt::Failed
        };
        let suspended = inst
            .record_execution(&context, how, json!({ "kind": "action" }), "test", &policy)
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
    assert!(
        inst.list("acme").await.unwrap()[0].breaker.is_quiet(),
        "resuming closes the breaker"
    );
    let events = t.store.events(&Default::default()).await.unwrap();
    let executions = events.iter().filter(|e| e.is_execution()).count();
    assert_eq!(
        executions, 13,
        "the two retried attempts are not executions"
    );
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
            inst.record_execution(
                &context,
                Attempt::Failed,
                json!({ "kind": "action" }),
                "test",
                &ExecutionPolicy::default(),
            )
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
