//! A plan's concurrent executions, held across every server on the store. Each group has slots 0 to the
//! plan's limit - 1, leased in the store (`execution_leases`) to the server whose executions use them.
//! A server keeps the slots it leased while its executions need them: an execution on a held slot costs
//! no statement. The leases are renewed every `RENEW_EVERY` and expire after `LEASE` (a server that
//! stops frees its slots then); a slot this server has not used for `GIVE_BACK_AFTER` goes back to the
//! store, for the executions waiting on other servers.

use crate::LifecycleError;
use plughub_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long a lease lasts unless renewed: how long a server that stopped without giving its slots back
/// keeps them from the others.
const LEASE: Duration = Duration::from_secs(8);
/// How often this server renews its leases and gives back the slots it no longer uses.
const RENEW_EVERY: Duration = Duration::from_secs(1);
/// A held slot unused this long goes back to the store (an execution waiting on another server waits
/// at most about this plus `RENEW_EVERY` once the slot is free).
const GIVE_BACK_AFTER: Duration = Duration::from_millis(500);
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
    /// The renewing task, started with the first lease.
    renewing: std::sync::OnceLock<()>,
}

#[derive(Default)]
struct Group {
    state: Mutex<Held>,
    /// A slot of this server's came free.
    freed: Notify,
    /// One execution at a time asks the store for another slot; the others wait for it.
    claiming: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Held {
    limit: u32,
    /// The slots this server leased.
    slots: Vec<u32>,
    /// How many of them executions use now.
    in_use: usize,
    /// When one was last used.
    last_used: Option<Instant>,
}

/// A slot held for one execution; it is this server's again when dropped.
pub(crate) struct Turn {
    group: Arc<Group>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut held = self.group.state.lock().expect("not poisoned");
        held.in_use -= 1;
        held.last_used = Some(Instant::now());
        drop(held);
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
                renewing: Default::default(),
            }),
        }
    }

    /// A slot of `group_id` (whose plan allows `limit` at once), waiting for one when all are in use,
    /// here or on other servers. Says whether it waited (what the execution read may then be stale).
    pub(crate) async fn take(
        &self,
        group_id: &str,
        limit: u32,
    ) -> Result<(Turn, bool), LifecycleError> {
        let limit = limit.max(1);
        let group = self
            .inner
            .groups
            .lock()
            .expect("not poisoned")
            .entry(group_id.to_string())
            .or_default()
            .clone();
        let mut waited = false;
        loop {
            let freed = group.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let held = {
                let mut held = group.state.lock().expect("not poisoned");
                held.limit = limit;
                // Slots beyond a lowered limit are not used again (they go back when free).
                let usable = held.slots.iter().filter(|s| **s < limit).count();
                if held.in_use < usable {
                    held.in_use += 1;
                    return Ok((
                        Turn {
                            group: group.clone(),
                        },
                        waited,
                    ));
                }
                held.slots.clone()
            };
            if held.len() < limit as usize
                && let Ok(_claiming) = group.claiming.try_lock()
            {
                let now = time::OffsetDateTime::now_utc();
                let claimed = self
                    .inner
                    .store
                    .claim_execution_slot(
                        group_id,
                        limit,
                        &held,
                        &self.inner.holder,
                        &plughub_store::format_time(now),
                        &plughub_store::format_time(now + LEASE),
                    )
                    .await?;
                if let Some(slot) = claimed {
                    self.renew_in_background();
                    let mut held = group.state.lock().expect("not poisoned");
                    if !held.slots.contains(&slot) {
                        held.slots.push(slot);
                    }
                    continue;
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

    /// Starts, once, the task that renews this server's leases and gives back unused slots, for as long
    /// as these slots exist.
    fn renew_in_background(&self) {
        self.inner.renewing.get_or_init(|| {
            let inner: Weak<Inner> = Arc::downgrade(&self.inner);
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(RENEW_EVERY);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
    /// Gives back the slots unused for a while (or beyond their group's limit now), then renews the
    /// rest.
    async fn tend(&self) {
        let groups: Vec<(String, Arc<Group>)> = self
            .groups
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|(id, g)| (id.clone(), g.clone()))
            .collect();
        for (group_id, group) in groups {
            let spare: Vec<u32> = {
                let mut held = group.state.lock().expect("not poisoned");
                let idle = held
                    .last_used
                    .is_none_or(|t| t.elapsed() >= GIVE_BACK_AFTER);
                let limit = held.limit;
                // Busy lately: keep what the limit allows. Idle: keep only what executions use. Never
                // fewer than they use (slots are counted, not tied to an execution).
                let wanted = if idle {
                    held.in_use
                } else {
                    held.slots.len().min(limit as usize)
                };
                let keep = wanted.max(held.in_use).min(held.slots.len());
                // The slots below the limit are the ones kept.
                held.slots.sort_by_key(|s| (*s >= limit, *s));
                held.slots.split_off(keep)
            };
            for slot in spare {
                if let Err(e) = self
                    .store
                    .release_execution_slot(&group_id, slot, &self.holder)
                    .await
                {
                    tracing::warn!(error = %e, "an execution slot could not be given back; its lease will expire");
                }
            }
        }
        let until = plughub_store::format_time(time::OffsetDateTime::now_utc() + LEASE);
        if let Err(e) = self.store.renew_execution_slots(&self.holder, &until).await {
            tracing::warn!(error = %e, "execution slot leases could not be renewed");
        }
    }
}
