//! Update notices: for each organisation's installed plugins, the newest version in the registry for
//! the core major it runs on (as an update would pick it); a newer one than installed is recorded once
//! per version per organisation as a `plugin_update_available` event, which the notifier tells of.

use crate::NotifyError;
use plughub_domain::core_range::compare_versions;
use plughub_domain::lifecycle::State;
use plughub_domain::{EventType, NewEvent, StoredEvent, ThingKind};
use plughub_lifecycle::Installer;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The actor of the events the check records.
pub const ACTOR: &str = "plughub";

/// Looks for newer versions of every installed plugin of every organisation; returns the notices
/// recorded now (a version announced before is not announced again).
pub async fn check(installer: &Installer) -> Result<Vec<StoredEvent>, NotifyError> {
    let store = installer.store();
    // One document per package, however many organisations run it.
    let mut documents: HashMap<String, Option<Value>> = HashMap::new();
    let mut recorded = Vec::new();
    for group in store.groups().await? {
        let records = installer.list(&group.name).await?;
        for record in records {
            if matches!(record.state, State::Uninstalled | State::Failed) {
                continue;
            }
            if !documents.contains_key(&record.plugin) {
                let doc = match plughub_install::document(installer.sources(), &record.plugin).await
                {
                    Ok(doc) => Some(doc),
                    Err(e) => {
                        tracing::info!(plugin = %record.plugin, error = %e, "no update check for this plugin");
                        None
                    }
                };
                documents.insert(record.plugin.clone(), doc);
            }
            let Some(doc) = &documents[&record.plugin] else {
                continue;
            };
            let Ok(newest) = plughub_install::resolve(doc, &record.plugin, None, record.core)
            else {
                continue;
            };
            if !compare_versions(&newest.version, record.version()).is_gt() {
                continue;
            }
            let instance = store
                .thing_by_name(ThingKind::PluginInstance, Some(&group.id), &record.plugin)
                .await?;
            let mut tx = store.begin().await?;
            let event = NewEvent {
                event_type: EventType::PluginUpdateAvailable,
                actor: ACTOR.into(),
                target: instance.map(|t| t.id),
                group_id: Some(group.id.clone()),
                metadata: json!({
                    "plugin": record.plugin, "version": newest.version, "installed": record.version(),
                }),
            };
            let notice = tx
                .record_update_notice(&group.id, &record.plugin, &newest.version, event)
                .await?;
            tx.commit().await?;
            recorded.extend(notice);
        }
    }
    Ok(recorded)
}
