//! Platform owners' deprecations of catalogue plugins (migration 0012 says why they are kept beside the
//! catalogue's entries, not in them). Each change takes its event, `plugin_deprecated` or
//! `plugin_undeprecated`, on the catalogue's entry.

use crate::events::insert_event;
use crate::{Result, Store, StoreTx};
use plughub_domain::{EventType, NewEvent};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A platform owner's deprecation of a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeprecationRecord {
    /// The catalogue's name of the plugin.
    pub plugin: String,
    /// The catalogue plugin to use instead, if there is one.
    pub replacement: Option<String>,
    pub reason: String,
    pub deprecated_by: String,
    pub deprecated_at: String,
}

impl StoreTx<'_> {
    /// Deprecates `record.plugin` (or replaces its deprecation), with the event on `target` (the
    /// catalogue entry's id).
    pub async fn put_plugin_deprecation(
        &mut self,
        record: &DeprecationRecord,
        target: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO plugin_deprecations (plugin, replacement, reason, deprecated_by, deprecated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (plugin) DO UPDATE SET replacement = excluded.replacement, \
             reason = excluded.reason, deprecated_by = excluded.deprecated_by, deprecated_at = excluded.deprecated_at",
        )
        .bind(&record.plugin)
        .bind(&record.replacement)
        .bind(&record.reason)
        .bind(&record.deprecated_by)
        .bind(&record.deprecated_at)
        .execute(self.conn())
        .await?;
        let event = NewEvent {
            event_type: EventType::PluginDeprecated,
            actor: record.deprecated_by.clone(),
            target: Some(target.to_string()),
            group_id: None,
            metadata: serde_json::json!({
                "plugin": record.plugin,
                "replacement": record.replacement,
                "reason": record.reason,
            }),
        };
        insert_event(&mut self.tx, &self.metrics, &event).await?;
        Ok(())
    }

    /// Lifts a platform owner's deprecation of `plugin`, with the event on `target`; false (and no
    /// event) when it was not deprecated.
    pub async fn remove_plugin_deprecation(
        &mut self,
        plugin: &str,
        target: &str,
        actor: &str,
    ) -> Result<bool> {
        let done = sqlx::query("DELETE FROM plugin_deprecations WHERE plugin = $1")
            .bind(plugin)
            .execute(self.conn())
            .await?
            .rows_affected()
            == 1;
        if done {
            let event = NewEvent {
                event_type: EventType::PluginUndeprecated,
                actor: actor.to_string(),
                target: Some(target.to_string()),
                group_id: None,
                metadata: serde_json::json!({ "plugin": plugin }),
            };
            insert_event(&mut self.tx, &self.metrics, &event).await?;
        }
        Ok(done)
    }
}

impl Store {
    /// Every platform deprecation, by plugin.
    pub async fn plugin_deprecations(&self) -> Result<Vec<DeprecationRecord>> {
        let rows = sqlx::query(
            "SELECT plugin, replacement, reason, deprecated_by, deprecated_at FROM plugin_deprecations \
             ORDER BY plugin",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(deprecation_from_row).collect()
    }

    /// The platform deprecation of `plugin`, if any.
    pub async fn plugin_deprecation(&self, plugin: &str) -> Result<Option<DeprecationRecord>> {
        let row = sqlx::query(
            "SELECT plugin, replacement, reason, deprecated_by, deprecated_at FROM plugin_deprecations \
             WHERE plugin = $1",
        )
        .bind(plugin)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(deprecation_from_row).transpose()
    }
}

fn deprecation_from_row(row: &AnyRow) -> Result<DeprecationRecord> {
    Ok(DeprecationRecord {
        plugin: row.try_get("plugin")?,
        replacement: row.try_get("replacement")?,
        reason: row.try_get("reason")?,
        deprecated_by: row.try_get("deprecated_by")?,
        deprecated_at: row.try_get("deprecated_at")?,
    })
}
