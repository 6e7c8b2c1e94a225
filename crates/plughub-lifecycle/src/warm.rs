//! Warm instances for the server: a started, initialised worker per instance and agent, kept between
//! executions so that an execution costs a message to a running worker, not a cold start. Every
//! execution still reads the instance from the store first (state, settings, grants, quota and rate), so
//! a change made on any node applies at once: a worker whose version, settings or grants are not the
//! current ones is replaced before it serves again. A worker is retired after `RECYCLE_AFTER` executions,
//! ended after `IDLE_AFTER` unused, replaced when it died; executions of a group wait for the plan's
//! concurrent slots (per node).

use crate::run::{Component, Ran, record_outcome};
use crate::{ExecutionContext, Launched, Launcher, LifecycleError};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{Mutex as AsyncMutex, Semaphore};

/// Executions a warm worker serves before it is replaced (product spec: 100).
pub const RECYCLE_AFTER: u64 = 100;
/// How long a warm worker may stay unused (product spec: 5 minutes).
pub const IDLE_AFTER: Duration = Duration::from_secs(300);

#[derive(Default)]
pub(crate) struct WarmPool {
    /// By instance and agent; the async lock makes concurrent first executions start one worker.
    slots: Mutex<HashMap<String, Arc<AsyncMutex<Option<Warm>>>>>,
    groups: Mutex<HashMap<String, Arc<Semaphore>>>,
}

struct Warm {
    /// What the worker was started with: it serves only while the store says the same.
    fingerprint: String,
    launched: Arc<Launched>,
    executions: u64,
    last_used: Instant,
}

/// What a worker depends on: the version and package, the settings (secrets included) and the grants.
fn fingerprint(context: &ExecutionContext) -> String {
    serde_json::json!([
        context.version,
        context.package_dir,
        context.settings,
        context.granted
    ])
    .to_string()
}

impl WarmPool {
    fn slot(&self, key: &str) -> Arc<AsyncMutex<Option<Warm>>> {
        let mut slots = self.slots.lock().expect("not poisoned");
        // Idle workers are ended on the way: no timer needed, and none kept while nothing runs.
        slots.retain(|_, slot| match slot.try_lock() {
            Ok(warm) => warm
                .as_ref()
                .is_some_and(|w| w.last_used.elapsed() < IDLE_AFTER),
            Err(_) => true,
        });
        slots.entry(key.to_string()).or_default().clone()
    }

    fn group_slots(&self, group_id: &str, limit: u32) -> Arc<Semaphore> {
        self.groups
            .lock()
            .expect("not poisoned")
            .entry(group_id.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(limit.max(1) as usize)))
            .clone()
    }

    /// Warm workers kept now.
    fn len(&self) -> usize {
        self.slots
            .lock()
            .expect("not poisoned")
            .values()
            .filter(|s| s.try_lock().map(|w| w.is_some()).unwrap_or(true))
            .count()
    }
}

impl Launcher {
    /// Runs `component` of `plugin` of `org` for `agent` on a warm worker (started when there is none
    /// fit to serve), after the same checks as a cold launch, and records it as the command line does.
    #[allow(clippy::too_many_arguments)]
    pub async fn execute(
        &self,
        org: &str,
        plugin: &str,
        agent: &str,
        component: &Component,
        text: &str,
        timeout: Option<Duration>,
        stream: Option<UnboundedSender<Value>>,
        actor: &str,
    ) -> Result<Ran, LifecycleError> {
        let context = self.context(org, plugin).await?;
        self.installer()
            .check_execution_allowed(&context, self.policy())
            .await?;
        let limit = self.policy().limits(context.plan).concurrent_executions;
        let group = self.warm().group_slots(&context.group_id, limit);
        let _turn = group.acquire().await.expect("never closed");
        let launched = self.warm_worker(&context, agent).await?;
        let timeout = self.policy().timeout(context.plan, timeout);
        let worker = launched.plugin.worker();
        let mark = worker.log_mark();
        let outcome = launched
            .invoke_within(component, text, agent, stream, timeout)
            .await;
        let log = launched.log_lines(worker.log_since(mark));
        record_outcome(
            self,
            &context,
            component.kind(),
            component.name(),
            outcome,
            log,
            actor,
        )
        .await
    }

    /// Warm workers this node keeps now.
    pub fn warm_workers(&self) -> usize {
        self.warm().len()
    }

    async fn warm_worker(
        &self,
        context: &ExecutionContext,
        agent: &str,
    ) -> Result<Arc<Launched>, LifecycleError> {
        let slot = self
            .warm()
            .slot(&format!("{}\u{1f}{agent}", context.instance_id));
        let mut slot = slot.lock().await;
        let wanted = fingerprint(context);
        if let Some(warm) = slot.as_mut() {
            let fit = warm.fingerprint == wanted
                && warm.executions < RECYCLE_AFTER
                && warm.launched.plugin.worker().is_alive();
            if fit {
                warm.executions += 1;
                warm.last_used = Instant::now();
                return Ok(warm.launched.clone());
            }
        }
        // The worker it replaces ends once the executions it serves now are done.
        *slot = None;
        let launched = Arc::new(self.start(context.clone(), agent, None, 0).await?);
        *slot = Some(Warm {
            fingerprint: wanted,
            launched: launched.clone(),
            executions: 1,
            last_used: Instant::now(),
        });
        Ok(launched)
    }
}
