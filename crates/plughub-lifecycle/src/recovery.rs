//! After a crash, and after an uninstall: instances left in a state that only lasts while work is in
//! flight are settled with an event each, and packages no instance uses are removed from disk.

use crate::LifecycleError;
use crate::service::Installer;
use plughub_domain::lifecycle::State;
use plughub_domain::{EventType, NewEvent};
use serde_json::json;
use std::collections::HashSet;

/// How long recovery and collection wait for installs on this machine before leaving it for later.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(1);

/// A change another machine started is taken for dead after this long without a word (an install gives
/// pnpm 15 minutes at most).
const OTHER_HOST_STALE: time::Duration = time::Duration::minutes(30);

const INTERRUPTED: &str = "interrupted: plughub stopped while this change was in progress";

impl Installer {
    /// Removes packages no instance uses (and staging leftovers), then prunes the shared store. Skipped
    /// (returns nothing) while an install is running; a later collection does it.
    pub async fn collect(&self) -> Result<Vec<String>, LifecycleError> {
        let Some(_exclusive) = self.packages.lock_exclusive_within(PATIENCE).await? else {
            return Ok(Vec::new());
        };
        let removed = self.packages.collect(&self.in_use().await?)?;
        if !removed.is_empty() && self.packages.pnpm_store().exists() {
            self.deps().await?.prune().await?;
        }
        Ok(removed)
    }

    /// Settles instances that a crash left in a state that only lasts while work is in flight, with an
    /// event each, and collects what the interrupted work left on disk.
    /// Skipped while another process on this machine is installing: its work is in flight, not lost.
    pub async fn recover(&self) -> Result<Vec<String>, LifecycleError> {
        let Some(_exclusive) = self.packages.lock_exclusive_within(PATIENCE).await? else {
            return Ok(Vec::new());
        };
        let mut settled = Vec::new();
        for (thing, mut record) in self.all_instances().await? {
            if !self.is_abandoned(&record, &thing.updated_at) {
                continue;
            }
            // An interrupted update goes back to where it was: the old version is still in place.
            let to = record
                .replacing
                .take()
                .unwrap_or_else(|| record.state.recover());
            if to == record.state {
                continue;
            }
            let event = NewEvent {
                event_type: EventType::PluginErrorOccurred,
                actor: "recovery".into(),
                target: None,
                group_id: thing.group_id.clone(),
                metadata: json!({ "operation": "recover", "plugin": record.plugin, "from": record.state, "to": to,
                                   "error": INTERRUPTED }),
            };
            record.error = Some(INTERRUPTED.into());
            record.state = to;
            record.worker = None;
            self.save(&thing.id, &record, event).await?;
            settled.push(record.plugin);
        }
        self.packages.collect(&self.in_use().await?)?;
        Ok(settled)
    }

    /// Whether a change in flight was abandoned. On this machine the package lock (held exclusively
    /// here) says no live process is working on it; another machine's change is only given up on when it
    /// is long stale, as that machine may be working on it now.
    fn is_abandoned(&self, record: &crate::InstanceRecord, updated_at: &str) -> bool {
        let this = crate::instance::this_host();
        match &record.worker {
            Some(host) if *host != this => {
                let format = &time::format_description::well_known::Rfc3339;
                time::OffsetDateTime::parse(updated_at, format)
                    .is_ok_and(|at| time::OffsetDateTime::now_utc() - at > OTHER_HOST_STALE)
            }
            _ => true,
        }
    }

    async fn in_use(&self) -> Result<HashSet<String>, LifecycleError> {
        Ok(self
            .all_instances()
            .await?
            .iter()
            .filter(|(_, r)| r.state != State::Uninstalled)
            .flat_map(|(_, r)| r.packages().cloned())
            .collect())
    }
}
