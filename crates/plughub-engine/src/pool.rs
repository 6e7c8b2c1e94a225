//! Workers booted ahead of need, a few for each set of limits a server has recently run plugins under:
//! a new agent's worker, or the successor of a recycled one, then costs the plugin's import and `init`
//! alone, not Node's start. The pool refills in the background at the lowest CPU priority
//! (`Urgency::Ahead`), so booting ahead takes the CPU executions leave idle and none of theirs.
//!
//! A booted worker holds no plugin (its package mount point is empty until it is assigned one), so one
//! booted for any plugin serves any other with the same limits and grants.

use crate::EngineError;
use crate::boot::{BootSpec, Booted, Urgency};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct WorkerPool {
    /// Booted workers kept for each set of limits.
    per_spec: usize,
    /// A set of limits nobody asked for in this long is forgotten, and its booted workers end.
    idle: Duration,
    specs: Mutex<HashMap<BootSpec, Kept>>,
}

#[derive(Default)]
struct Kept {
    booted: VecDeque<Booted>,
    booting: usize,
    wanted: Option<Instant>,
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPool")
            .field("per_spec", &self.per_spec)
            .field("booted", &self.booted())
            .finish()
    }
}

impl WorkerPool {
    /// A pool keeping `per_spec` booted workers for each set of limits asked for in the last `idle`.
    pub fn new(per_spec: usize, idle: Duration) -> Arc<WorkerPool> {
        Arc::new(WorkerPool {
            per_spec,
            idle,
            specs: Mutex::new(HashMap::new()),
        })
    }

    /// A booted worker for `spec`: one kept, or else one booted now with `urgency`. The pool then
    /// boots ahead what it lacks for `spec`.
    pub async fn take(
        self: &Arc<Self>,
        spec: &BootSpec,
        urgency: Urgency,
    ) -> Result<Booted, EngineError> {
        let kept = {
            let mut specs = self.specs.lock().expect("not poisoned");
            let kept = specs.entry(spec.clone()).or_default();
            kept.wanted = Some(Instant::now());
            // One that died waiting (killed from outside, out of memory) is let go.
            std::iter::from_fn(|| kept.booted.pop_front()).find(Booted::is_alive)
        };
        self.refill(spec);
        match kept {
            Some(booted) => Ok(booted),
            None => Booted::boot(spec, urgency).await,
        }
    }

    /// Boots in the background what the pool lacks for `spec`.
    fn refill(self: &Arc<Self>, spec: &BootSpec) {
        let missing = {
            let mut specs = self.specs.lock().expect("not poisoned");
            let Some(kept) = specs.get_mut(spec) else {
                return;
            };
            let missing = self
                .per_spec
                .saturating_sub(kept.booted.len() + kept.booting);
            kept.booting += missing;
            missing
        };
        for _ in 0..missing {
            let (pool, spec) = (self.clone(), spec.clone());
            tokio::spawn(async move {
                let booted = Booted::boot(&spec, Urgency::Ahead).await;
                let mut specs = pool.specs.lock().expect("not poisoned");
                let kept = specs.get_mut(&spec);
                match (booted, kept) {
                    (Ok(booted), Some(kept)) => {
                        kept.booting -= 1;
                        kept.booted.push_back(booted);
                    }
                    // Forgotten meanwhile: the worker ends as it drops.
                    (Ok(_), None) => {}
                    (Err(e), kept) => {
                        if let Some(kept) = kept {
                            kept.booting -= 1;
                        }
                        tracing::warn!(error = %e, "a worker booted ahead of need did not start");
                    }
                }
            });
        }
    }

    /// Forgets the sets of limits nobody asked for in the pool's `idle` time, ending their booted
    /// workers; returns how many ended.
    pub fn reap(&self) -> usize {
        let mut specs = self.specs.lock().expect("not poisoned");
        let mut ended = 0;
        specs.retain(|_, kept| {
            let keep = kept.wanted.is_some_and(|w| w.elapsed() < self.idle);
            if !keep {
                ended += kept.booted.len();
            }
            keep
        });
        ended
    }

    /// Ends every booted worker and forgets every set of limits (the server stops).
    pub fn clear(&self) {
        self.specs.lock().expect("not poisoned").clear();
    }

    /// Booted workers kept now.
    pub fn booted(&self) -> usize {
        self.specs
            .lock()
            .expect("not poisoned")
            .values()
            .map(|k| k.booted.len())
            .sum()
    }
}
