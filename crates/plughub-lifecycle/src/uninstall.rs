//! Uninstalling an instance: refused while another instance depends on it; its package is collected
//! once no instance uses it.

use crate::LifecycleError;
use crate::service::{Change, InstallOptions, Installer};
use plughub_domain::lifecycle::Step;
use plughub_domain::{ConnectionKind, EventType};
use serde_json::json;

impl Installer {
    /// Uninstalls an organisation's instance; returns the package folders collected after it.
    pub async fn uninstall(
        &self,
        org: &str,
        plugin: &str,
        actor: &str,
    ) -> Result<Vec<String>, LifecycleError> {
        let (group, thing, mut record) = self.installed_instance(org, plugin).await?;
        let dependents = self.dependents(&thing).await?;
        if !dependents.is_empty() {
            return Err(LifecycleError::HasDependents {
                plugin: plugin.into(),
                org: org.into(),
                dependents: dependents.into_iter().map(|(_, r, _)| r.plugin).collect(),
                what: "uninstall",
            });
        }
        record.state = record
            .state
            .next(Step::Uninstall)?
            .next(Step::Uninstalled)?;
        let event = self.event(
            EventType::PluginUninstalled,
            &group,
            &InstallOptions::by(actor),
            json!({ "plugin": plugin, "version": record.version() }),
        );
        let links = [Change::Disconnect {
            kind: ConnectionKind::PluginDependsOn,
            from: thing.id.clone(),
            to: None,
        }];
        self.save_with(&thing.id, &record, event, &links).await?;
        self.collect().await
    }
}
