//! The pool and the execution policy on fixture plugins: recycling, sharing at the maximum, reaping; the
//! daily quota, the per-minute rate, the circuit breaker, the result cache and retries after a worker
//! died.

use crate::common::*;
use plughub_domain::Plan;
use plughub_domain::execution_policy::{BreakerState, ExecutionPolicy};
use plughub_engine::{ComponentKind, ExecError, ExecutionRequest, Executor, Pool, PoolConfig};

#[tokio::test(flavor = "multi_thread")]
async fn workers_are_recycled_shared_at_the_maximum_and_reaped() {
    let run = tempfile::tempdir().unwrap();
    let config = PoolConfig {
        min_workers: 1,
        max_workers: 2,
        recycle_after: 3,
        idle_after: Duration::ZERO,
    };
    let hello = || spec("plugin-hello", run.path(), &[("HELLO_API_KEY", "k")]);
    let pool = Pool::new(hello(), Arc::new(LocalRuntime::default()), config);
    for _ in 0..7 {
        let lease = pool.acquire().await.unwrap();
        lease
            .plugin()
            .invoke_action("REGISTERED_IN_INIT", message("x", "a"), SECOND * 5, None)
            .await
            .unwrap();
    }
    assert_eq!(
        pool.started(),
        3,
        "a worker serves three executions, then a fresh one"
    );

    let lasting = PoolConfig {
        recycle_after: 100,
        ..config
    };
    let pool = Pool::new(hello(), Arc::new(LocalRuntime::default()), lasting);
    let leases = [
        pool.acquire().await.unwrap(),
        pool.acquire().await.unwrap(),
        pool.acquire().await.unwrap(),
    ];
    assert_eq!(
        pool.size(),
        2,
        "never more than the maximum; the third shares"
    );
    let pids: Vec<u32> = leases.iter().map(|l| l.plugin().worker().pid()).collect();
    assert_ne!(pids[0], pids[1]);
    assert!(pids[2] == pids[0] || pids[2] == pids[1], "{pids:?}");
    drop(leases);
    assert_eq!(pool.reap_idle(), 1);
    assert_eq!(pool.size(), 1, "the minimum stays");
}

fn request(
    instance: &str,
    plan: Plan,
    kind: ComponentKind,
    name: &str,
    text: &str,
) -> ExecutionRequest {
    ExecutionRequest {
        instance_id: instance.into(),
        group_id: format!("group-of-{instance}"),
        plan,
        plugin: "@fixture/plugin".into(),
        version: "1.0.0".into(),
        kind,
        name: name.into(),
        memory: message(text, "agent-1"),
        cacheable: false,
        ran_today: 0,
        timeout: Some(SECOND * 5),
    }
}

fn quick_policy() -> ExecutionPolicy {
    ExecutionPolicy {
        backoff_first: Duration::from_millis(10),
        backoff_max: Duration::from_millis(20),
        ..ExecutionPolicy::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn quota_rate_breaker_cache_and_retries() {
    let run = tempfile::tempdir().unwrap();
    let executor = Executor::new(
        ExecutionPolicy {
            executions_per_minute: 6,
            ..quick_policy()
        },
        PoolConfig::default(),
    );
    let runtime: Arc<LocalRuntime> = Arc::new(LocalRuntime::default());
    let hello = || spec("plugin-hello", run.path(), &[("HELLO_API_KEY", "k")]);
    let hostile = || spec("plugin-hostile", run.path(), &[]);

    // The daily quota of the plan.
    let mut spent = request("h1", Plan::Free, ComponentKind::Action, "HELLO", "Ada");
    spent.ran_today = 100;
    let err = executor
        .execute(&spent, hello, runtime.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecError::QuotaExceeded { limit: 100, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("resets at midnight UTC"));

    // The result cache, for a cacheable provider: the second call is a hit; invalidation clears it.
    let mut provider = request(
        "h1",
        Plan::Pro,
        ComponentKind::Provider,
        "GREETING_STYLE",
        "",
    );
    provider.cacheable = true;
    let first = executor
        .execute(&provider, hello, runtime.clone())
        .await
        .unwrap();
    assert!(!first.cache_hit);
    let second = executor
        .execute(&provider, hello, runtime.clone())
        .await
        .unwrap();
    assert!(second.cache_hit);
    assert_eq!(second.invocation.result, first.invocation.result);
    executor.invalidate("@fixture/plugin", &["h1".to_string()]);
    assert_eq!(executor.pool_size("h1"), 0, "its workers are ended");
    let third = executor
        .execute(&provider, hello, runtime.clone())
        .await
        .unwrap();
    assert!(!third.cache_hit, "an update clears the plugin's results");

    // Six executions a minute for this instance (three above; the quota refusal counted none).
    for _ in 0..3 {
        executor
            .execute(
                &request("h1", Plan::Pro, ComponentKind::Action, "HELLO", "Ada"),
                hello,
                runtime.clone(),
            )
            .await
            .unwrap();
    }
    let err = executor
        .execute(
            &request("h1", Plan::Pro, ComponentKind::Action, "HELLO", "Ada"),
            hello,
            runtime.clone(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecError::RateLimited { limit: 6, .. }),
        "{err}"
    );

    // A worker that dies under an execution is replaced and the execution retried.
    let marker = run.path().join("flaky-marker");
    let flaky = request(
        "x1",
        Plan::Pro,
        ComponentKind::Action,
        "FLAKY",
        marker.to_str().unwrap(),
    );
    let done = executor
        .execute(&flaky, hostile, runtime.clone())
        .await
        .unwrap();
    assert_eq!(done.invocation.result["text"], "worked on a fresh worker");
    assert_eq!(done.attempts, 2);
    let dies = request("x2", Plan::Pro, ComponentKind::Action, "EXIT", "");
    let err = executor
        .execute(&dies, hostile, runtime.clone())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the plugin worker ended: it exited with code 7"),
        "{err}"
    );

    // Five failures in a row open the instance's circuit; other instances go on.
    for _ in 0..5 {
        let err = executor
            .execute(
                &request("x3", Plan::Enterprise, ComponentKind::Action, "THROW", ""),
                hostile,
                runtime.clone(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "the plugin broke on purpose");
    }
    assert_eq!(executor.breaker_state("x3"), BreakerState::Open);
    let err = executor
        .execute(
            &request("x3", Plan::Enterprise, ComponentKind::Action, "THROW", ""),
            hostile,
            runtime.clone(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecError::BreakerOpen { failures: 5, .. }),
        "{err}"
    );
    assert_eq!(executor.breaker_state("x1"), BreakerState::Closed);

    // All of it is counted for Prometheus.
    let text = executor.metrics().render();
    for line in [
        "plughub_executions_total{kind=\"provider\",outcome=\"ok\"} 3",
        "plughub_executions_total{kind=\"action\",outcome=\"refused\"} 3",
        "plughub_cache_hits_total 1",
        "plughub_breaker_state{instance=\"x3\"} 2",
        "plughub_pool_workers{instance=\"h1\"} 1",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    assert!(
        text.contains("plughub_execution_duration_seconds_bucket"),
        "{text}"
    );
}
