//! Trials of catalogue plugins (migration 0016): what compatibility runs found, one row per plugin
//! version and npm registry, each write with its `plugin_tried` event.

use crate::events::insert_event;
use crate::{Result, Store, StoreError, StoreTx};
use plughub_domain::trial::{Baseline, Cause, Reached, Trial};
use plughub_domain::{EventType, NewEvent};
use sqlx::Row;
use sqlx::any::AnyRow;

const COLUMNS: &str = "plugin, version, registry, package, core_major, reached, cause, message, \
     duration_ms, disk_bytes, packages, manifest, needs, npm_reached, npm_message, npm_duration_ms, \
     rules, tried_at";

impl StoreTx<'_> {
    /// Records `trial`, replacing an earlier try of the same version on the same registry, with its
    /// event on `target` (the catalogue entry's id, when the plugin has one).
    pub async fn put_trial(
        &mut self,
        trial: &Trial,
        target: Option<&str>,
        actor: &str,
    ) -> Result<()> {
        sqlx::query(
            "DELETE FROM plugin_trials WHERE plugin = $1 AND version = $2 AND registry = $3",
        )
        .bind(&trial.plugin)
        .bind(&trial.version)
        .bind(&trial.registry)
        .execute(self.conn())
        .await?;
        let manifest = trial.manifest.as_ref().map(|m| m.to_string());
        let needs = serde_json::to_string(&trial.needs).expect("strings serialise");
        sqlx::query(&format!(
            "INSERT INTO plugin_trials ({COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        ))
        .bind(&trial.plugin)
        .bind(&trial.version)
        .bind(&trial.registry)
        .bind(&trial.package)
        .bind(trial.core_major.map(i64::from))
        .bind(trial.reached.as_str())
        .bind(trial.cause.map(Cause::as_str))
        .bind(&trial.message)
        .bind(trial.duration_ms)
        .bind(trial.disk_bytes)
        .bind(trial.packages)
        .bind(manifest)
        .bind(needs)
        .bind(trial.npm.as_ref().map(|b| b.reached.as_str()))
        .bind(trial.npm.as_ref().and_then(|b| b.message.clone()))
        .bind(trial.npm.as_ref().map(|b| b.duration_ms))
        .bind(&trial.rules)
        .bind(&trial.tried_at)
        .execute(self.conn())
        .await?;
        let event = NewEvent {
            event_type: EventType::PluginTried,
            actor: actor.to_string(),
            target: target.map(str::to_string),
            group_id: None,
            metadata: serde_json::json!({
                "plugin": trial.plugin,
                "version": trial.version,
                "registry": trial.registry,
                "reached": trial.reached,
                "cause": trial.cause,
                "npm": trial.npm.as_ref().map(|b| b.reached),
            }),
        };
        insert_event(&mut self.tx, &self.metrics, &event).await?;
        Ok(())
    }
}

impl Store {
    /// The try of `version` of `plugin` on `registry`, if there was one.
    pub async fn trial(
        &self,
        plugin: &str,
        version: &str,
        registry: &str,
    ) -> Result<Option<Trial>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM plugin_trials WHERE plugin = $1 AND version = $2 AND registry = $3"
        ))
        .bind(plugin)
        .bind(version)
        .bind(registry)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(trial_from).transpose()
    }

    /// Every try of `plugin`'s versions, newest first.
    pub async fn trials_of(&self, plugin: &str) -> Result<Vec<Trial>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM plugin_trials WHERE plugin = $1 ORDER BY tried_at DESC, version DESC"
        ))
        .bind(plugin)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(trial_from).collect()
    }

    /// Every try, of every plugin (on `registry` only, when given), by plugin then version.
    pub async fn trials(&self, registry: Option<&str>) -> Result<Vec<Trial>> {
        let rows = match registry {
            Some(registry) => sqlx::query(&format!(
                "SELECT {COLUMNS} FROM plugin_trials WHERE registry = $1 ORDER BY plugin, version"
            ))
            .bind(registry)
            .fetch_all(self.pool())
            .await?,
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM plugin_trials ORDER BY plugin, version"
                ))
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter().map(trial_from).collect()
    }
}

fn trial_from(row: &AnyRow) -> Result<Trial> {
    let reached = |column: &str, text: &str| {
        Reached::parse(text).ok_or_else(|| {
            StoreError::corrupt(
                format!("plugin_trials.{column}"),
                format!("'{text}' is no step"),
            )
        })
    };
    let cause = row
        .try_get::<Option<String>, _>("cause")?
        .map(|text| {
            Cause::parse(&text).ok_or_else(|| {
                StoreError::corrupt("plugin_trials.cause", format!("'{text}' is no cause"))
            })
        })
        .transpose()?;
    fn json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T> {
        serde_json::from_str(text)
            .map_err(|e| StoreError::corrupt(format!("plugin_trials.{column}"), e))
    }
    let npm = match row.try_get::<Option<String>, _>("npm_reached")? {
        Some(text) => Some(Baseline {
            reached: reached("npm_reached", &text)?,
            message: row.try_get("npm_message")?,
            duration_ms: row
                .try_get::<Option<i64>, _>("npm_duration_ms")?
                .unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Trial {
        plugin: row.try_get("plugin")?,
        package: row.try_get("package")?,
        version: row.try_get("version")?,
        core_major: row
            .try_get::<Option<i64>, _>("core_major")?
            .and_then(|m| u32::try_from(m).ok()),
        registry: row.try_get("registry")?,
        reached: reached("reached", &row.try_get::<String, _>("reached")?)?,
        cause,
        message: row.try_get("message")?,
        duration_ms: row.try_get("duration_ms")?,
        disk_bytes: row.try_get("disk_bytes")?,
        packages: row.try_get("packages")?,
        manifest: row
            .try_get::<Option<String>, _>("manifest")?
            .map(|text| json("manifest", &text))
            .transpose()?,
        needs: json("needs", &row.try_get::<String, _>("needs")?)?,
        npm,
        rules: row.try_get("rules")?,
        tried_at: row.try_get("tried_at")?,
    })
}
