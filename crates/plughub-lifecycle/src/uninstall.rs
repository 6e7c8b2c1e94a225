//! Uninstalling an instance: refused while another instance depends on it; its package is collected
//! once no instance uses it.

use crate::service::{Change, InstallOptions, Installer};
use crate::{InstanceRecord, LifecycleError};
use plughub_domain::lifecycle::Step;
use plughub_domain::{ConnectionKind, EventType, Group};
use serde_json::json;

impl Installer {
    /// Uninstalls an organisation's instance; returns the package folders collected after it.
    pub async fn uninstall(
        &self,
        org: &str,
        plugin: &str,
        actor: &str,
    ) -> Result<Vec<String>, LifecycleError> {
        let (group, thing, record) = self.installed_instance(org, plugin).await?;
        let dependents = self.dependents(&thing).await?;
        if !dependents.is_empty() {
            return Err(LifecycleError::HasDependents {
                plugin: plugin.into(),
                org: org.into(),
                dependents: dependents.into_iter().map(|(_, r, _)| r.plugin).collect(),
                what: "uninstall",
            });
        }
        self.mark_uninstalled(&group, &thing.id, record, None, &InstallOptions::by(actor))
            .await?;
        self.collect().await
    }

    /// Moves an instance to UNINSTALLED, with its event (and the reason, when it is not the user's
    /// uninstall), its links removed. Its package is left to collection.
    pub(crate) async fn mark_uninstalled(
        &self,
        group: &Group,
        thing_id: &str,
        mut record: InstanceRecord,
        reason: Option<String>,
        options: &InstallOptions,
    ) -> Result<(), LifecycleError> {
        record.state = record
            .state
            .next(Step::Uninstall)?
            .next(Step::Uninstalled)?;
        let event = self.event(
            EventType::PluginUninstalled,
            group,
            options,
            json!({ "plugin": record.plugin, "version": record.version(), "reason": reason }),
        );
        // Nothing links to or from it any more: dependencies, and the agents it served (a suspended or
        // failing instance may be uninstalled without a deactivation first).
        let mut links = vec![
            Change::Disconnect {
                kind: ConnectionKind::PluginDependsOn,
                from: thing_id.into(),
                to: None,
            },
            Change::Disconnect {
                kind: ConnectionKind::PluginPowers,
                from: thing_id.into(),
                to: None,
            },
        ];
        for uses in self
            .store
            .connections_to(ConnectionKind::PluginUses, thing_id)
            .await?
        {
            links.push(Change::Disconnect {
                kind: ConnectionKind::PluginUses,
                from: uses.from_id,
                to: Some(thing_id.into()),
            });
        }
        self.save_with(thing_id, &record, event, &links).await
    }
}
