//! The workers of one instance: started as executions come (up to a maximum; past it, executions share
//! the least busy worker, as Node serves many at once), each retired after a number of executions, the
//! idle ones beyond the minimum ended, dead ones replaced on the next execution.

use crate::EngineError;
use crate::plugin::{LoadedPlugin, PluginSpec};
use crate::runtime::RuntimeHost;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    pub min_workers: usize,
    pub max_workers: usize,
    /// A worker is replaced after this many executions (product spec: 100).
    pub recycle_after: u64,
    /// Workers beyond the minimum idle this long are ended (product spec: 5 minutes).
    pub idle_after: Duration,
}

impl Default for PoolConfig {
    fn default() -> PoolConfig {
        PoolConfig {
            min_workers: 2,
            max_workers: 10,
            recycle_after: 100,
            idle_after: Duration::from_secs(300),
        }
    }
}

struct Slot {
    plugin: Arc<LoadedPlugin>,
    executions: u64,
    busy: usize,
    last_used: Instant,
}

#[derive(Default)]
struct Slots {
    slots: Vec<Slot>,
    /// Workers being started (counted against the maximum).
    starting: usize,
    /// Workers started over the pool's life.
    started: u64,
}

pub struct Pool {
    spec: PluginSpec,
    runtime: Arc<dyn RuntimeHost>,
    config: PoolConfig,
    state: Mutex<Slots>,
}

/// A worker lent to one execution; given back when dropped.
pub struct Lease<'a> {
    pool: &'a Pool,
    plugin: Arc<LoadedPlugin>,
}

impl Lease<'_> {
    pub fn plugin(&self) -> &LoadedPlugin {
        &self.plugin
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        self.pool.give_back(&self.plugin);
    }
}

impl Pool {
    pub fn new(spec: PluginSpec, runtime: Arc<dyn RuntimeHost>, config: PoolConfig) -> Pool {
        Pool {
            spec,
            runtime,
            config,
            state: Mutex::new(Slots::default()),
        }
    }

    /// A worker for one execution: an idle one, else a new one while under the maximum, else the least
    /// busy one.
    pub async fn acquire(&self) -> Result<Lease<'_>, EngineError> {
        {
            let mut state = self.state.lock().expect("not poisoned");
            state.slots.retain(|s| s.plugin.worker().is_alive());
            let idle = state.slots.iter_mut().find(|s| s.busy == 0);
            if let Some(slot) = idle {
                slot.busy += 1;
                return Ok(self.lease(slot));
            }
            let full = state.slots.len() + state.starting >= self.config.max_workers.max(1);
            if full && let Some(slot) = state.slots.iter_mut().min_by_key(|s| s.busy) {
                slot.busy += 1;
                return Ok(self.lease(slot));
            }
            state.starting += 1;
        }
        let loaded = LoadedPlugin::load(&self.spec, self.runtime.clone()).await;
        let mut state = self.state.lock().expect("not poisoned");
        state.starting -= 1;
        let plugin = Arc::new(loaded?);
        state.started += 1;
        state.slots.push(Slot {
            plugin: plugin.clone(),
            executions: 0,
            busy: 1,
            last_used: Instant::now(),
        });
        Ok(Lease { pool: self, plugin })
    }

    fn lease(&self, slot: &Slot) -> Lease<'_> {
        Lease {
            pool: self,
            plugin: slot.plugin.clone(),
        }
    }

    fn give_back(&self, plugin: &Arc<LoadedPlugin>) {
        let mut state = self.state.lock().expect("not poisoned");
        let recycle_after = self.config.recycle_after;
        if let Some(i) = state
            .slots
            .iter()
            .position(|s| Arc::ptr_eq(&s.plugin, plugin))
        {
            let slot = &mut state.slots[i];
            slot.busy -= 1;
            slot.executions += 1;
            slot.last_used = Instant::now();
            if slot.executions >= recycle_after && slot.busy == 0 {
                // Dropping the last handle ends the worker.
                state.slots.remove(i);
            }
        }
    }

    /// Ends workers idle longer than the idle time, keeping the minimum.
    pub fn reap_idle(&self) -> usize {
        let mut state = self.state.lock().expect("not poisoned");
        let mut removed = 0;
        while state.slots.len() > self.config.min_workers {
            let stale = state
                .slots
                .iter()
                .position(|s| s.busy == 0 && s.last_used.elapsed() >= self.config.idle_after);
            match stale {
                Some(i) => {
                    state.slots.remove(i);
                    removed += 1;
                }
                None => break,
            }
        }
        removed
    }

    /// Workers alive now.
    pub fn size(&self) -> usize {
        let state = self.state.lock().expect("not poisoned");
        state
            .slots
            .iter()
            .filter(|s| s.plugin.worker().is_alive())
            .count()
    }

    /// Workers started over the pool's life (each start is a cold start).
    pub fn started(&self) -> u64 {
        self.state.lock().expect("not poisoned").started
    }
}
