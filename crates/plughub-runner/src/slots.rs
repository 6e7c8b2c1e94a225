//! A plan's concurrent executions, held across every server on the store. Each group has slots 0 to the
//! plan's limit - 1, leased in the store (`execution_leases`) to the server whose executions use them.
//! A server keeps the slots it leased while its executions need them: an execution on a held slot costs
//! no statement. Every `TEND_EVERY` a server renews its leases (a lease lasts `LEASE`, so a server that
//! dies frees its slots then) and gives back the slots it did not need since the last time. A slot is
//! used only while its lease is known to be valid; one another server took over is let go. There is no
//! queue across servers: while one server keeps all of a group's slots busy without a pause, the
//! executions waiting on another server wait (the plan's limit holds either way).
//! Lease times are each server's clock, as every time in the store: servers' clocks must agree to
//! within a few seconds.

use crate::RunError;
use plughub_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long a lease lasts unless renewed: how long a server that died keeps its slots from the others.
const LEASE: Duration = Duration::from_secs(8);
/// How often a server renews its leases and gives back what it does not need.
const TEND_EVERY: Duration = Duration::from_secs(1);
/// A lease is used until this long before it would expire (renewals that fail make it lapse here first).
const MARGIN: Duration = Duration::from_secs(3);
/// How often an execution waiting for a slot held by another server asks the store again.
const RETRY_EVERY: Duration = Duration::from_millis(100);

/// This server's slots, by group.
pub(crate) struct Slots {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// This server's name on its leases.
    holder: String,
    groups: Mutex<HashMap<String, Arc<Group>>>,
    /// The tending task, started with the first lease.
    tending: std::sync::OnceLock<()>,
}

#[derive(Default)]
struct Group {
    state: Mutex<Held>,
    /// An execution of this server's ended.
    freed: Notify,
    /// One execution at a time asks the store for another slot; the others wait for it.
    claiming: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Held {
    limit: u32,
    leases: Vec<Lease>,
    /// Executions running now (slots are counted, not tied to an execution).
    in_use: usize,
    /// The most running at once since the last tending.
    peak: usize,
}

struct Lease {
    slot: u32,
    valid_until: Instant,
    /// When it was claimed.
    since: Instant,
}

impl Held {
    /// Slots a new execution may use: below the limit, known valid.
    fn usable(&self, now: Instant) -> usize {
        self.leases
            .iter()
            .filter(|l| is_usable(l, self.limit, now))
            .count()
    }

    fn below_limit(&self) -> usize {
        self.leases.iter().filter(|l| l.slot < self.limit).count()
    }

    fn start(&mut self) {
        self.in_use += 1;
        self.peak = self.peak.max(self.in_use);
    }
}

/// A slot held for one execution; it is this server's again when dropped.
pub(crate) struct Turn {
    group: Arc<Group>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.group.state.lock().expect("not poisoned").in_use -= 1;
        self.group.freed.notify_one();
    }
}

impl Slots {
    pub(crate) fn new(store: Store) -> Slots {
        Slots {
            inner: Arc::new(Inner {
                store,
                holder: uuid::Uuid::new_v4().simple().to_string(),
                groups: Default::default(),
                tending: Default::default(),
            }),
        }
    }

    /// A slot of `group_id` (whose plan allows `limit` at once), waiting for one when all are in use,
    /// here or on other servers. Says whether it waited (what the execution read may then be stale).
    pub(crate) async fn take(&self, group_id: &str, limit: u32) -> Result<(Turn, bool), RunError> {
        let limit = limit.max(1);
        let group = self
            .inner
            .groups
            .lock()
            .expect("not poisoned")
            .entry(group_id.to_string())
            .or_default()
            .clone();
        let turn = || Turn {
            group: group.clone(),
        };
        let mut waited = false;
        loop {
            let freed = group.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let (holding, may_claim) = {
                let mut held = group.state.lock().expect("not poisoned");
                held.limit = limit;
                let now = Instant::now();
                if held.in_use < held.usable(now) {
                    held.start();
                    return Ok((turn(), waited));
                }
                let holding: Vec<u32> = held.leases.iter().map(|l| l.slot).collect();
                let may_claim = held.below_limit() < limit as usize;
                (holding, may_claim)
            };
            if may_claim && let Ok(_claiming) = group.claiming.try_lock() {
                let wall = time::OffsetDateTime::now_utc();
                let asked = Instant::now();
                let claimed = self
                    .inner
                    .store
                    .claim_execution_slot(
                        group_id,
                        limit,
                        &holding,
                        &self.inner.holder,
                        &plughub_store::format_time(wall),
                        &plughub_store::format_time(wall + LEASE),
                    )
                    .await?;
                if let Some(slot) = claimed {
                    self.tend_in_background();
                    let mut held = group.state.lock().expect("not poisoned");
                    held.leases.retain(|l| l.slot != slot);
                    held.leases.push(Lease {
                        slot,
                        valid_until: asked + LEASE - MARGIN,
                        since: asked,
                    });
                    // Taken at once: nothing else may see it idle in between.
                    held.start();
                    return Ok((turn(), waited));
                }
            }
            waited = true;
            tokio::select! {
                _ = freed => {}
                _ = tokio::time::sleep(RETRY_EVERY) => {}
            }
        }
    }

    /// Gives back every slot this server holds (it stops serving). Executions still running keep
    /// running, uncounted.
    pub(crate) async fn release_all(&self) {
        self.inner.groups.lock().expect("not poisoned").clear();
        if let Err(e) = self
            .inner
            .store
            .release_all_execution_slots(&self.inner.holder)
            .await
        {
            tracing::warn!(error = %e, "execution slots could not be given back; their leases will expire");
        }
    }

    /// Starts, once, the task that tends this server's leases, for as long as these slots exist.
    fn tend_in_background(&self) {
        self.inner.tending.get_or_init(|| {
            let inner: Weak<Inner> = Arc::downgrade(&self.inner);
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(TEND_EVERY);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticks.tick().await;
                loop {
                    ticks.tick().await;
                    let Some(inner) = inner.upgrade() else {
                        return;
                    };
                    inner.tend().await;
                }
            });
        });
    }
}

impl Inner {
    fn groups(&self) -> Vec<(String, Arc<Group>)> {
        self.groups
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|(id, g)| (id.clone(), g.clone()))
            .collect()
    }

    /// Gives back what each group did not need since the last time (and what it held too long), then
    /// renews the rest and lets go of any lease another server took over.
    async fn tend(&self) {
        for (group_id, group) in self.groups() {
            let spare = group.state.lock().expect("not poisoned").spare();
            for slot in spare {
                if let Err(e) = self
                    .store
                    .release_execution_slot(&group_id, slot, &self.holder)
                    .await
                {
                    // Still this server's in the store: the renewal below finds it and gives it back.
                    tracing::warn!(error = %e, "an execution slot could not be given back");
                }
            }
        }
        // No claim of this server's is half-way while the leases are reconciled (one that committed
        // but is not held yet would look untracked and be given back).
        let groups = self.groups();
        let mut _no_claims = Vec::with_capacity(groups.len());
        for (_, group) in &groups {
            _no_claims.push(group.claiming.lock().await);
        }
        let asked = Instant::now();
        let until = plughub_store::format_time(time::OffsetDateTime::now_utc() + LEASE);
        let renewed = match self.store.renew_execution_slots(&self.holder, &until).await {
            Ok(renewed) => renewed,
            Err(e) => {
                // The leases lapse locally before they can expire in the store.
                tracing::warn!(error = %e, "execution slot leases could not be renewed");
                return;
            }
        };
        let renewed: std::collections::HashSet<(String, u32)> = renewed.into_iter().collect();
        let mut tracked = std::collections::HashSet::new();
        for (group_id, group) in &groups {
            let mut held = group.state.lock().expect("not poisoned");
            // Held here but not renewed: another server took it over after it lapsed (unless it was
            // claimed after the renewal was asked for).
            held.leases
                .retain(|l| l.since >= asked || renewed.contains(&(group_id.clone(), l.slot)));
            for lease in &mut held.leases {
                if renewed.contains(&(group_id.clone(), lease.slot)) {
                    lease.valid_until = asked + LEASE - MARGIN;
                }
                tracked.insert((group_id.clone(), lease.slot));
            }
        }
        // Of the groups whose claims were held back only: a group met since may be claiming now.
        let untracked: Vec<&(String, u32)> = renewed
            .difference(&tracked)
            .filter(|(group_id, _)| groups.iter().any(|(id, _)| id == group_id))
            .collect();
        // In the store, not held here (a give-back or a claim that failed half-way): given back.
        for (group_id, slot) in untracked {
            let _ = self
                .store
                .release_execution_slot(group_id, *slot, &self.holder)
                .await;
        }
    }
}

fn is_usable(lease: &Lease, limit: u32, now: Instant) -> bool {
    lease.slot < limit && lease.valid_until > now
}

impl Held {
    /// The slots to give back now, removed from the held ones: those beyond the most that ran at once
    /// since the last tending, never one executions may be running on (slots are counted: as many as
    /// run now stay, the unusable ones first to go).
    fn spare(&mut self) -> Vec<u32> {
        let now = Instant::now();
        let needed = self.peak.max(self.in_use);
        self.peak = self.in_use;
        let limit = self.limit;
        // Usable ones first, lowest slot first: those are the ones kept.
        self.leases
            .sort_by_key(|l| (!is_usable(l, limit, now), l.slot));
        let keep = needed
            .min(self.usable(now))
            .max(self.in_use)
            .min(self.leases.len());
        self.leases.split_off(keep).iter().map(|l| l.slot).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(limit: u32, slots: &[u32], in_use: usize, peak: usize) -> Held {
        let now = Instant::now();
        Held {
            limit,
            leases: slots
                .iter()
                .map(|&slot| Lease {
                    slot,
                    valid_until: now + Duration::from_secs(5),
                    since: now,
                })
                .collect(),
            in_use,
            peak,
        }
    }

    #[test]
    fn what_was_not_needed_goes_back_and_what_runs_stays() {
        // Four held, at most two ran at once lately, one runs now: two go back.
        let mut h = held(4, &[3, 0, 2, 1], 1, 2);
        assert_eq!(h.spare(), [2, 3]);
        assert_eq!(h.leases.len(), 2);
        // Next time only the one running was needed.
        assert_eq!(h.spare(), [1]);
        // It ended: kept one more round (it was needed since the last), then given back.
        h.in_use = 0;
        assert!(h.spare().is_empty());
        assert_eq!(h.spare(), [0]);
        assert!(h.leases.is_empty());
    }

    #[test]
    fn slots_beyond_a_lowered_limit_or_lapsed_go_first_but_never_below_what_runs() {
        let mut h = held(2, &[0, 5, 1], 3, 3);
        assert_eq!(h.usable(Instant::now()), 2);
        assert!(h.spare().is_empty(), "three run: three stay");
        h.in_use = 2;
        assert_eq!(h.spare(), [5], "the one beyond the limit goes");
        let mut lapsed = held(3, &[0, 1], 1, 2);
        lapsed.leases[0].valid_until = Instant::now() - Duration::from_millis(1);
        assert_eq!(lapsed.usable(Instant::now()), 1);
        assert_eq!(
            lapsed.spare(),
            [0],
            "the lapsed one goes, the valid one stays"
        );
    }
}
