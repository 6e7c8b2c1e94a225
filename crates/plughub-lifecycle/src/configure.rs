//! Configuring an installed plugin: values checked against the settings it declares, secrets sealed with
//! the key ring and bound to this instance and setting, nothing secret in events, logs or answers.

use crate::InstanceRecord;
use crate::LifecycleError;
use crate::service::{InstallOptions, Installer};
use plughub_domain::config_schema::ConfigSchema;
use plughub_domain::{EventType, NewEvent};
use plughub_secrets::{KeyRing, Secret};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What may be shown of an instance's configuration: values of ordinary settings, names of secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConfigView {
    pub plugin: String,
    /// Each ordinary setting's value, typed by the schema (a string, number, boolean, array or JSON).
    pub values: BTreeMap<String, Value>,
    /// Secrets that have a value (the values are never shown).
    pub secrets_set: Vec<String>,
    /// Required settings with neither a value nor a default.
    pub missing: Vec<String>,
    pub schema: ConfigSchema,
}

/// `KEY=VALUE` lines, as in a `.env` file: blank lines and `#` comments skipped, `export ` and matching
/// quotes around the value removed.
pub fn parse_env_file(text: &str) -> Result<BTreeMap<String, String>, LifecycleError> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(LifecycleError::BadEnvFile(format!(
                "line {}: expected KEY=VALUE",
                i + 1
            )));
        };
        let value = value.trim();
        let unquoted = ['"', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
            .unwrap_or(value);
        out.insert(key.trim().to_string(), unquoted.to_string());
    }
    Ok(out)
}

impl Installer {
    /// The settings the installed package declares (its package.json `agentConfig`, and
    /// `elizaos.plugin.json` when it ships one).
    /// The package is fetched first when this node does not hold it (another node installed it).
    pub(crate) async fn schema_of(
        &self,
        record: &InstanceRecord,
    ) -> Result<ConfigSchema, LifecycleError> {
        let Some(folder) = &record.current.package else {
            return Ok(ConfigSchema::default());
        };
        if let Some(schema) = self.schemas.lock().expect("not poisoned").get(folder) {
            return Ok(schema.clone());
        }
        let dir = self
            .ensure_package(&record.plugin, &record.current, folder)
            .await?;
        let schema = plughub_analyzer::settings_schema(&dir);
        self.schemas
            .lock()
            .expect("not poisoned")
            .insert(folder.clone(), schema.clone());
        Ok(schema)
    }

    /// Sets the given settings (all checked first: one wrong value changes nothing).
    pub async fn configure(
        &self,
        org: &str,
        plugin: &str,
        given: &BTreeMap<String, String>,
        keys: &KeyRing,
        actor: &str,
    ) -> Result<ConfigView, LifecycleError> {
        let (group, thing, mut record) = self.installed_instance(org, plugin).await?;
        if record.current.package.is_none() {
            return Err(LifecycleError::NotInstalled {
                plugin: plugin.into(),
                org: org.into(),
            });
        }
        let schema = self.schema_of(&record).await?;

        // Check the whole configuration as it will be, so a required secret set earlier still counts.
        let mut whole: BTreeMap<String, String> = record
            .config
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                )
            })
            .collect();
        for (key, sealed) in &record.secrets {
            whole.insert(
                key.clone(),
                keys.open(&place(&thing.id, key), sealed)?
                    .expose()
                    .to_string(),
            );
        }
        whole.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
        let typed = schema
            .validate(&whole)
            .map_err(|problems| LifecycleError::InvalidConfig {
                plugin: plugin.into(),
                problems,
            })?;

        for (key, value) in typed {
            let sensitive = schema.param(&key).is_some_and(|p| p.sensitive);
            if sensitive {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_string);
                // Reseal only what changed (or was sealed with an older key): a fresh nonce each time.
                let unchanged = !given.contains_key(&key)
                    && record.secrets.get(&key).is_some_and(|s| !keys.is_stale(s));
                if !unchanged {
                    record.secrets.insert(
                        key.clone(),
                        keys.seal(&place(&thing.id, &key), &Secret::new(text)),
                    );
                }
                record.config.remove(&key);
            } else {
                // A setting sealed when an earlier version called it secret is plain now.
                record.secrets.remove(&key);
                record.config.insert(key, value);
            }
        }
        let mut changed: Vec<&String> = given.keys().collect();
        changed.sort();
        let secret_names: Vec<&String> = changed
            .iter()
            .copied()
            .filter(|k| schema.param(k).is_some_and(|p| p.sensitive))
            .collect();
        let options = InstallOptions {
            actor: actor.into(),
            ..Default::default()
        };
        // Names only: no value of any setting goes into the event log.
        let event = self.event(
            EventType::PluginConfigured,
            &group,
            &options,
            json!({ "plugin": plugin, "keys": changed, "secrets": secret_names }),
        );
        self.save(&thing.id, &record, event).await?;
        Ok(view(plugin, &record, schema))
    }

    /// What an instance's configuration holds, secrets by name only.
    pub async fn config_view(&self, org: &str, plugin: &str) -> Result<ConfigView, LifecycleError> {
        let (_, _, record) = self.installed_instance(org, plugin).await?;
        let schema = self.schema_of(&record).await?;
        Ok(view(plugin, &record, schema))
    }

    /// Required settings of the installed version that have neither a value nor a default.
    pub(crate) async fn missing_settings(
        &self,
        record: &InstanceRecord,
    ) -> Result<Vec<String>, LifecycleError> {
        let schema = self.schema_of(record).await?;
        Ok(view(&record.plugin, record, schema).missing)
    }

    /// Reseals every secret sealed with an older key under the ring's active key (after `rotate`), with
    /// a `plugin_configured` event per instance naming the settings resealed. Returns how many values.
    pub async fn reseal_secrets(
        &self,
        keys: &KeyRing,
        actor: &str,
    ) -> Result<usize, LifecycleError> {
        let mut resealed = 0;
        for (thing, mut record) in self.all_instances().await? {
            let stale: Vec<String> = record
                .secrets
                .iter()
                .filter(|(_, sealed)| keys.is_stale(sealed))
                .map(|(k, _)| k.clone())
                .collect();
            if stale.is_empty() {
                continue;
            }
            for key in &stale {
                let at = place(&thing.id, key);
                let plain = keys.open(&at, &record.secrets[key])?;
                record.secrets.insert(key.clone(), keys.seal(&at, &plain));
            }
            resealed += stale.len();
            let event = NewEvent {
                event_type: EventType::PluginConfigured,
                actor: actor.into(),
                target: None,
                group_id: thing.group_id.clone(),
                metadata: json!({ "plugin": record.plugin, "keys": [], "resealed": stale,
                                   "key": keys.active_key_id() }),
            };
            self.save(&thing.id, &record, event).await?;
        }
        Ok(resealed)
    }
}

/// Where a secret belongs, bound into its sealing: this instance and this setting.
pub(crate) fn place(instance_id: &str, key: &str) -> String {
    format!("{instance_id}/{key}")
}

fn view(plugin: &str, record: &InstanceRecord, schema: ConfigSchema) -> ConfigView {
    let missing = schema
        .params
        .iter()
        .filter(|p| p.required && p.default.is_none())
        .filter(|p| !record.config.contains_key(&p.name) && !record.secrets.contains_key(&p.name))
        .map(|p| p.name.clone())
        .collect();
    ConfigView {
        plugin: plugin.into(),
        values: record.config.clone(),
        secrets_set: record.secrets.keys().cloned().collect(),
        missing,
        schema,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn env_files_are_read_as_people_write_them() {
        let env =
            super::parse_env_file("# keys\nexport A_KEY=\"s3cret\"\nB = 2\n\nC='x=y'\n").unwrap();
        assert_eq!(env["A_KEY"], "s3cret");
        assert_eq!(env["B"], "2");
        assert_eq!(env["C"], "x=y");
        assert!(
            super::parse_env_file("just words")
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
    }
}
