//! Warm instances for the server: a started, initialised worker per instance and agent, kept between
//! executions so that an execution costs a message to a running worker, not a cold start. Every
//! execution still reads the instance from the store first (state, settings, grants, plan, quota and
//! rate), so a change made on any node applies at once: a worker whose version, settings, grants or plan
//! are not the current ones is replaced before it serves again, and the reaper ends such workers (and
//! idle ones) even when no execution comes. A worker is retired (a successor started in the background
//! takes over) after the policy's `recycle_after` executions, once its resident memory grew by
//! `recycle_memory_growth_mb` over what it held when started, or once it is `recycle_age` old; it is
//! ended after `worker_idle` unused, replaced when it died; at most `MAX_WARM` are kept per node (the
//! least recently used goes); executions of a group wait for one of the plan's concurrent slots, which
//! hold across servers (`slots.rs`).

use crate::{Launched, Metrics, RunError, Runner};
use plughub_domain::execution_policy::RecycleReason;
use plughub_engine::Urgency;
use plughub_lifecycle::ExecutionContext;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Mutex as AsyncMutex;

/// Warm workers one node keeps at most: each is a Node process.
pub const MAX_WARM: usize = 64;
/// The shortest time an execution on a warm worker gets: its timeout ends the worker, and with it the
/// executions it serves at the same time.
pub(crate) const MIN_TIMEOUT: Duration = Duration::from_secs(1);

type Slot = Arc<AsyncMutex<Option<Warm>>>;

#[derive(Default)]
pub(crate) struct WarmPool {
    /// By instance and agent; the async lock makes concurrent first executions start one worker.
    slots: Mutex<HashMap<String, Slot>>,
}

struct Warm {
    org: String,
    plugin: String,
    instance_id: String,
    /// What the worker was started with (a digest): it serves only while the store says the same.
    fingerprint: [u8; 32],
    launched: Arc<Launched>,
    /// When the worker was ready (its `init` and services done): its age counts from then.
    started: Instant,
    /// Its resident memory then, read only while the policy recycles by memory growth.
    memory_at_start: Option<u64>,
    executions: u64,
    last_used: Instant,
    /// The worker that takes over once the policy says this one is to be recycled, starting in the
    /// background meanwhile: executions do not wait for a cold start.
    successor: Option<Successor>,
}

/// A replacement starting in the background, and why the worker it replaces is recycled.
struct Successor {
    reason: RecycleReason,
    start: tokio::task::JoinHandle<Result<Ready, RunError>>,
}

/// A worker just started, with what its recycling is measured from.
struct Ready {
    launched: Launched,
    started: Instant,
    memory_at_start: Option<u64>,
}

impl Warm {
    /// Why the policy would have this worker replaced now, if it would. Its memory is the reading its
    /// last run's invocation made (read here only before any run), and only when the policy recycles by
    /// memory growth.
    fn recycle_reason(
        &mut self,
        policy: &plughub_domain::execution_policy::ExecutionPolicy,
    ) -> Option<RecycleReason> {
        let growth = if policy.recycles_by_memory() {
            let worker = self.launched.plugin.worker();
            let now = worker.memory_last_read().or_else(|| worker.memory_bytes());
            match (now, self.memory_at_start) {
                (Some(now), Some(then)) => now.saturating_sub(then),
                (now, None) => {
                    // Not read at its start: measured from here.
                    self.memory_at_start = now;
                    0
                }
                (None, Some(_)) => 0,
            }
        } else {
            0
        };
        policy.recycle_reason(self.executions, self.started.elapsed(), growth)
    }

    /// A replacement that did not start: the current worker serves on, and is measured again from now
    /// (count, age and memory), so a failing start is not tried again at every execution.
    fn measure_again(&mut self, recycles_by_memory: bool) {
        self.executions = 0;
        self.started = Instant::now();
        self.memory_at_start = if recycles_by_memory {
            self.launched.plugin.worker().memory_bytes()
        } else {
            None
        };
    }
}

/// What a worker depends on: the version and package, the settings (secrets included), the grants and
/// the plan (its memory and time limits). A digest, so the secrets are not copied once more.
pub(crate) fn fingerprint(context: &ExecutionContext) -> [u8; 32] {
    let text = serde_json::json!([
        context.version,
        context.package_dir,
        context.settings,
        context.granted,
        context.plan
    ])
    .to_string();
    Sha256::digest(text.as_bytes()).into()
}

/// Whether a slot holds a worker (one in use is taken to: it is starting or serving).
fn holds_worker(slot: &Slot) -> bool {
    slot.try_lock().map(|w| w.is_some()).unwrap_or(true)
}

fn key(instance_id: &str, agent: &str) -> String {
    format!("{instance_id}\u{1f}{agent}")
}

impl WarmPool {
    /// The slot of `key`; workers unused for `idle` are ended on the way, and the least recently used
    /// one when the node keeps `MAX_WARM` already.
    fn slot(&self, key: &str, idle: Duration, metrics: &Metrics) -> Slot {
        let mut slots = self.slots.lock().expect("not poisoned");
        // Only slots nobody holds (the map's is the one reference) and nobody uses are let go.
        let free = |slot: &Slot| Arc::strong_count(slot) == 1;
        slots.retain(|_, slot| {
            if !free(slot) {
                return true;
            }
            let Ok(warm) = slot.try_lock() else {
                return true;
            };
            match warm.as_ref() {
                Some(w) if w.last_used.elapsed() < idle => true,
                Some(_) => {
                    metrics.worker_ended("idle");
                    false
                }
                None => false,
            }
        });
        if !slots.contains_key(key) && slots.len() >= MAX_WARM {
            let oldest = slots
                .iter()
                .filter(|(_, slot)| free(slot))
                .filter_map(|(k, slot)| {
                    let used = slot.try_lock().ok()?.as_ref()?.last_used;
                    Some((used, k.clone()))
                })
                .min();
            if let Some((_, k)) = oldest {
                slots.remove(&k);
                metrics.worker_ended("evicted");
            }
        }
        slots.entry(key.to_string()).or_default().clone()
    }

    /// Warm workers kept now.
    fn len(&self) -> usize {
        self.slots
            .lock()
            .expect("not poisoned")
            .values()
            .filter(|s| holds_worker(s))
            .count()
    }

    /// Ends the workers of an instance (after a change on this node: they will not serve again);
    /// returns how many there were.
    pub(crate) fn evict(&self, instance_id: &str) -> usize {
        let prefix = key(instance_id, "");
        let mut ended = 0;
        self.slots.lock().expect("not poisoned").retain(|k, slot| {
            let keep = !k.starts_with(&prefix);
            if !keep && holds_worker(slot) {
                ended += 1;
            }
            keep
        });
        ended
    }

    /// Every slot, no longer kept.
    fn take_all(&self) -> Vec<Slot> {
        self.slots
            .lock()
            .expect("not poisoned")
            .drain()
            .map(|(_, slot)| slot)
            .collect()
    }

    fn all(&self) -> Vec<Slot> {
        self.slots
            .lock()
            .expect("not poisoned")
            .values()
            .cloned()
            .collect()
    }
}

impl Runner {
    /// Gives back the plan's execution slots this server holds, for the other servers: when it stops.
    async fn release_execution_slots(&self) {
        self.slots().release_all().await;
    }

    /// What a command or server that ran plugins does when it stops: its execution slots go back to
    /// the other servers and commands at once (not when their leases expire), and every warm worker
    /// ends once its network requests are recorded.
    pub async fn shut_down(&self) {
        self.release_execution_slots().await;
        if let Some(pool) = self.booted_workers() {
            pool.clear();
        }
        self.end_workers().await;
    }

    /// Ends every warm worker, and waits until their network requests are recorded.
    async fn end_workers(&self) {
        for slot in self.warm().take_all() {
            let Some(warm) = slot.lock().await.take() else {
                continue;
            };
            self.metrics().worker_ended("shutdown");
            if let Ok(launched) = Arc::try_unwrap(warm.launched) {
                let Launched {
                    plugin,
                    network_log,
                    ..
                } = launched;
                drop(plugin);
                network_log.flush().await;
            }
        }
        self.metrics().warm_workers.set(0);
    }

    /// Warm workers this node keeps now.
    pub fn warm_workers(&self) -> usize {
        self.warm().len()
    }

    /// Ends the warm workers that are idle, or whose instance is no longer what the store says
    /// (uninstalled, deactivated, suspended, reconfigured, regranted, updated, on another plan), by
    /// whichever node changed it. Returns how many ended.
    pub async fn reap_warm(&self) -> usize {
        let mut ended = 0;
        for slot in self.warm().all() {
            let Ok(mut warm) = slot.try_lock() else {
                continue; // in use: its next execution checks it anyway
            };
            let Some(w) = warm.as_ref() else {
                continue;
            };
            let idle = w.last_used.elapsed() >= self.policy().worker_idle;
            let current = !idle
                && match self.context(&w.org, &w.plugin).await {
                    Ok(context) => {
                        context.instance_id == w.instance_id
                            && fingerprint(&context) == w.fingerprint
                    }
                    Err(_) => false,
                };
            if !current {
                *warm = None;
                ended += 1;
                self.metrics()
                    .worker_ended(if idle { "idle" } else { "changed" });
            }
        }
        self.metrics().warm_workers.set(self.warm().len() as i64);
        ended
    }

    /// Reaps warm workers every `every`, for as long as the runtime runs.
    pub fn spawn_warm_reaper(&self, every: Duration) {
        let runner = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // On PostgreSQL, a change to an installed plugin made on any server is heard at once, and
            // its warm workers here end then, not at the next tick (a run reads the instance first all
            // the same: that is the backstop when an announcement is lost).
            let mut changes = runner.installer().store().changes();
            loop {
                let heard = async {
                    let Some(changes) = changes.as_mut() else {
                        return std::future::pending::<()>().await;
                    };
                    loop {
                        match changes.recv().await {
                            Ok(plughub_store::Change::Appended {
                                event_type: Some(_),
                                target: Some(_),
                                ..
                            })
                            | Ok(plughub_store::Change::Resync)
                            | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                            Ok(_) => {}
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                                return std::future::pending::<()>().await;
                            }
                        }
                    }
                };
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = heard => {}
                }
                if let Some(pool) = runner.booted_workers() {
                    pool.reap();
                }
                let ended = runner.reap_warm().await;
                if ended > 0 {
                    tracing::info!(
                        ended,
                        "warm plugin workers ended (idle, or changed in the store)"
                    );
                }
            }
        });
    }

    /// Starts the instance of `context` for `agent` to be kept warm: when it was ready, and its memory
    /// then when the policy recycles by memory growth. A successor starts ahead of need (`urgency`):
    /// nothing waits for it.
    async fn start_warm(
        &self,
        context: ExecutionContext,
        agent: &str,
        timeout: Duration,
        urgency: Urgency,
    ) -> Result<Ready, RunError> {
        let launched = self
            .start_with(context, agent, Some(timeout), 0, urgency)
            .await?;
        let memory_at_start = if self.policy().recycles_by_memory() {
            launched.plugin.worker().memory_bytes()
        } else {
            None
        };
        Ok(Ready {
            launched,
            started: Instant::now(),
            memory_at_start,
        })
    }

    pub(crate) async fn warm_worker(
        &self,
        context: &ExecutionContext,
        agent: &str,
        timeout: Duration,
    ) -> Result<Arc<Launched>, RunError> {
        let slot = self.warm().slot(
            &key(&context.instance_id, agent),
            self.policy().worker_idle,
            self.metrics(),
        );
        let mut slot = slot.lock().await;
        let wanted = fingerprint(context);
        if let Some(warm) = slot.as_mut()
            && warm.fingerprint == wanted
        {
            if warm
                .successor
                .as_ref()
                .is_some_and(|s| s.start.is_finished())
            {
                let Successor { reason, start } = warm.successor.take().expect("checked");
                let recycles_by_memory = self.policy().recycles_by_memory();
                match start.await {
                    Ok(Ok(next)) => {
                        // The one it replaces ends once the executions it serves now are done.
                        warm.launched = Arc::new(next.launched);
                        warm.started = next.started;
                        warm.memory_at_start = next.memory_at_start;
                        warm.executions = 0;
                        self.metrics().worker_recycled(reason);
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(plugin = %context.plugin, reason = reason.as_str(), error = %e, "a replacement worker did not start; the current one serves on");
                        warm.measure_again(recycles_by_memory);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "a replacement worker's start failed");
                        warm.measure_again(recycles_by_memory);
                    }
                }
            }
            if warm.launched.plugin.worker().is_alive() {
                if warm.successor.is_none()
                    && let Some(reason) = warm.recycle_reason(self.policy())
                {
                    let (runner, context, agent) =
                        (self.clone(), context.clone(), agent.to_string());
                    warm.successor = Some(Successor {
                        reason,
                        start: tokio::spawn(async move {
                            runner
                                .start_warm(context, &agent, timeout, Urgency::Ahead)
                                .await
                        }),
                    });
                }
                warm.executions += 1;
                warm.last_used = Instant::now();
                return Ok(warm.launched.clone());
            }
        }
        // The worker it replaces ends once the executions it serves now are done.
        if let Some(old) = slot.take() {
            let died = !old.launched.plugin.worker().is_alive();
            self.metrics()
                .worker_ended(if died { "died" } else { "changed" });
        }
        let ready = self
            .start_warm(context.clone(), agent, timeout, Urgency::Now)
            .await?;
        let launched = Arc::new(ready.launched);
        *slot = Some(Warm {
            org: context.org.clone(),
            plugin: context.plugin.clone(),
            instance_id: context.instance_id.clone(),
            fingerprint: wanted,
            launched: launched.clone(),
            started: ready.started,
            memory_at_start: ready.memory_at_start,
            executions: 1,
            last_used: Instant::now(),
            successor: None,
        });
        drop(slot);
        self.metrics().warm_workers.set(self.warm().len() as i64);
        Ok(launched)
    }
}
