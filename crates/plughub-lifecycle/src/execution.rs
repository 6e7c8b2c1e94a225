//! What running an installed plugin needs from its instance (the package, its settings with secrets
//! opened), and what running it leaves: the true manifest as things linked to the instance, and an event
//! per execution, with secret values cut out of whatever is recorded.

use crate::LifecycleError;
use crate::instance::{InstanceRecord, Provides};
use crate::service::{InstallOptions, Installer};
use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_domain::lifecycle::{ErrorStreak, SUSPEND_AFTER_ERRORS, State, Step};
use plughub_domain::{ConnectionKind, EventType, NewEvent, ThingKind};
use plughub_protocol::Manifest;
use plughub_secrets::KeyRing;
use plughub_store::NewThing;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// An installed instance ready to run.
#[derive(Debug, Clone)]
pub struct ExecutionContext {
    pub org: String,
    pub group_id: String,
    /// The organisation's plan: its quotas and resource tier.
    pub plan: plughub_domain::Plan,
    pub instance_id: String,
    pub plugin: String,
    pub version: String,
    pub package_dir: PathBuf,
    /// Defaults, configured values and opened secrets, as the plugin's `getSetting` sees them.
    pub settings: BTreeMap<String, Value>,
    /// What an org_owner granted: the runtime's calls, the secrets in `settings` and the egress proxy's
    /// domains follow it.
    pub granted: plughub_domain::permissions::Permissions,
    /// The secret values among the settings, to cut out of logs and results.
    secrets: Vec<String>,
    /// The instance's failures in a row when this context was read.
    error_streak: u32,
    /// The instance's circuit breaker when this context was read.
    pub breaker: plughub_domain::execution_policy::Breaker,
    /// Read for one execution, just before it (see `for_one_execution`).
    one_execution: bool,
}

impl ExecutionContext {
    /// Marks a context read for the one execution about to run: if that execution succeeds and the
    /// instance had no failures in a row when it was read, the success is recorded without reading
    /// the instance again (there is no streak to clear). A context kept for many executions (a model
    /// plugin's, a session's) is never marked: what it read may be long stale, so each of its
    /// executions reads the instance. A failure recorded by a concurrent execution while this one ran
    /// keeps its streak until the next success.
    pub fn for_one_execution(mut self) -> ExecutionContext {
        self.one_execution = true;
        self
    }

    /// The same context, kept by a started plugin for all it will run.
    pub fn kept(mut self) -> ExecutionContext {
        self.one_execution = false;
        self
    }

    /// The instance's failures in a row when this context was read.
    pub fn error_streak(&self) -> u32 {
        self.error_streak
    }

    /// `text` with every secret value of this instance replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        self.secrets
            .iter()
            .filter(|s| s.len() >= 4)
            .fold(text.to_string(), |acc, secret| {
                acc.replace(secret.as_str(), "***")
            })
    }

    /// A JSON value with secret values cut out of every string in it.
    pub fn redact_value(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.redact(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.redact_value(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.redact_value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// How one attempt of an execution ended, as `Installer::record_execution` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Succeeded,
    /// Failed, and the execution ends with it.
    Failed,
    /// Failed, and the execution tries again.
    FailedRetrying,
    /// Failed by the caller's mistake (a component the plugin does not have): an execution that
    /// failed, which neither the error streak nor the circuit breaker count against the plugin.
    Refused,
}

/// Milliseconds since the Unix epoch: the breaker's clock, shared by every server on the store.
pub fn unix_ms() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as u64 / 1_000_000
}

/// A component of the true manifest: (kind, name, description).
pub type ManifestComponent = (ThingKind, String, String);

/// The components of a manifest that are recorded as things.
fn components(manifest: &Manifest) -> Vec<ManifestComponent> {
    let mut out: Vec<ManifestComponent> = Vec::new();
    for (kind, list) in [
        (ThingKind::PluginAction, &manifest.actions),
        (ThingKind::PluginProvider, &manifest.providers),
        (ThingKind::PluginEvaluator, &manifest.evaluators),
    ] {
        out.extend(
            list.iter()
                .map(|c| (kind, c.name.clone(), c.description.clone())),
        );
    }
    out.extend(manifest.services.iter().map(|s| {
        (
            ThingKind::PluginService,
            s.service_type.clone(),
            s.capability_description.clone(),
        )
    }));
    out
}

impl Installer {
    /// The instance of `plugin` in `org`, ready to run: installed, not failed or suspended, every
    /// required setting given.
    pub async fn execution_context(
        &self,
        org: &str,
        plugin: &str,
        keys: &KeyRing,
    ) -> Result<ExecutionContext, LifecycleError> {
        let group = self.group(org).await?;
        self.execution_context_in(group, plugin, keys).await
    }

    /// As `execution_context`, in a group read already (the API has read it to authorize the caller).
    pub async fn execution_context_in(
        &self,
        group: plughub_domain::Group,
        plugin: &str,
        keys: &KeyRing,
    ) -> Result<ExecutionContext, LifecycleError> {
        let org = group.name.clone();
        let org = org.as_str();
        let (group, thing, mut record) = self.installed_instance_in(group, plugin).await?;
        if !record.current.permissions_recorded {
            // Installed before permissions were recorded: nothing is granted for what it asks.
            self.requested_now(&mut record).await?;
            record.granted = plughub_domain::permissions::Permissions::default();
        }
        if !matches!(record.state, State::Installed | State::Active) {
            return Err(LifecycleError::NotRunnable {
                plugin: plugin.into(),
                state: record.state,
            });
        }
        let missing = self.missing_settings(&record).await?;
        if !missing.is_empty() {
            return Err(LifecycleError::NeedsConfig {
                plugin: plugin.into(),
                org: org.into(),
                missing,
            });
        }
        let Some(package) = record.current.package.clone() else {
            return Err(LifecycleError::NotInstalled {
                plugin: plugin.into(),
                org: org.into(),
            });
        };
        let missing = record.ungranted();
        if !missing.is_empty() {
            return Err(LifecycleError::NeedsGrant {
                plugin: plugin.into(),
                org: org.into(),
                missing: Box::new(missing),
            });
        }
        let schema = self.schema_of(&record).await?;
        let mut settings: BTreeMap<String, Value> = schema
            .params
            .iter()
            .filter_map(|p| Some((p.name.clone(), p.default.clone()?)))
            .collect();
        settings.extend(record.config.clone());
        let mut secrets = Vec::new();
        // Only granted secrets reach `getSetting`; the others are not even opened.
        for (key, sealed) in record
            .secrets
            .iter()
            .filter(|(key, _)| record.granted.secrets.contains(*key))
        {
            let value = keys.open(&crate::configure::place(&thing.id, key), sealed)?;
            secrets.push(value.expose().to_string());
            settings.insert(key.clone(), Value::String(value.expose().to_string()));
        }
        let package_dir = self
            .ensure_package(plugin, &record.current, &package)
            .await?;
        Ok(ExecutionContext {
            plan: group.plan,
            org: group.name,
            group_id: group.id,
            instance_id: thing.id,
            plugin: record.plugin.clone(),
            version: record.version().to_string(),
            package_dir,
            settings,
            granted: record.granted.clone(),
            secrets,
            error_streak: record.error_streak,
            breaker: record.breaker.clone(),
            one_execution: false,
        })
    }

    /// Records what the plugin really has after `init`: a thing per action, provider, evaluator and service
    /// (named `<plugin>:<component>`) linked from the instance by plugin_provides, and the model types and
    /// routes on the installed version. Unchanged components are left as they are; components gone since
    /// are unlinked. Returns how many changed.
    pub async fn record_manifest(
        &self,
        context: &ExecutionContext,
        manifest: &Manifest,
    ) -> Result<usize, LifecycleError> {
        // Everything is read before the transaction: a write transaction waiting on another connection
        // of the pool could wait for ever while the pool's connections wait for its write lock.
        let mut planned = Vec::new();
        for (kind, name, description) in components(manifest) {
            let thing_name = format!("{}:{name}", context.plugin);
            let properties = json!({ "plugin": context.plugin, "version": context.version,
                                     "name": name, "description": description });
            let existing = self
                .store
                .thing_by_name(kind, Some(&context.group_id), &thing_name)
                .await?;
            planned.push((kind, name, thing_name, properties, existing));
        }
        let provides = Provides {
            models: manifest.models.clone(),
            routes: manifest.routes.clone(),
        };
        let instance = self.store.thing(&context.instance_id).await?;
        let linked: std::collections::BTreeSet<String> = self
            .store
            .connections_from(ConnectionKind::PluginProvides, &context.instance_id)
            .await?
            .into_iter()
            .map(|c| c.to_id)
            .collect();
        let record = instance
            .and_then(|t| crate::service::record_of(&t).map(|r| (t, r)))
            .filter(|(_, r)| r.version() == context.version);
        let provides_changed = record
            .as_ref()
            .is_some_and(|(_, r)| r.current.provides.as_ref() != Some(&provides));
        let same_components = planned.len() == linked.len()
            && planned.iter().all(|(_, _, _, properties, existing)| {
                existing
                    .as_ref()
                    .is_some_and(|t| t.properties == *properties && linked.contains(&t.id))
            });
        if same_components && !provides_changed {
            // A worker started again with what was recorded already: nothing to write.
            return Ok(0);
        }

        let recorded = |kind: Value, component: &str| NewEvent {
            event_type: EventType::PluginManifestRecorded,
            actor: "engine".into(),
            target: Some(context.instance_id.clone()),
            group_id: Some(context.group_id.clone()),
            metadata: json!({ "plugin": context.plugin, "version": context.version,
                               "kind": kind, "component": component }),
        };
        let mut tx = self.store.begin().await?;
        let mut changed = 0;
        tx.remove_connections(ConnectionKind::PluginProvides, &context.instance_id, None)
            .await?;
        for (kind, name, thing_name, properties, existing) in planned {
            let event = recorded(json!(kind), &name);
            let id = match existing {
                Some(thing) if thing.properties == properties => thing.id,
                Some(thing) => {
                    tx.update_thing(&thing.id, "active", &properties.to_string(), event)
                        .await?;
                    changed += 1;
                    thing.id
                }
                None => {
                    changed += 1;
                    tx.insert_thing(
                        &NewThing {
                            kind,
                            name: &thing_name,
                            group_id: Some(&context.group_id),
                            status: "active",
                            properties: &properties.to_string(),
                        },
                        event,
                    )
                    .await?
                }
            };
            tx.put_connection(
                ConnectionKind::PluginProvides,
                &context.instance_id,
                &id,
                Some(&context.group_id),
                &json!({ "kind": kind }),
            )
            .await?;
        }
        if provides_changed && let Some((thing, mut record)) = record {
            record.current.provides = Some(provides);
            let properties = serde_json::to_string(&record).expect("records serialise");
            tx.update_thing(
                &thing.id,
                record.state.thing_status(),
                &properties,
                recorded(json!("models_and_routes"), "*"),
            )
            .await?;
            changed += 1;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// The components an instance provides, as recorded from its last run: (kind, name, description).
    pub async fn provided(
        &self,
        org: &str,
        plugin: &str,
    ) -> Result<Vec<ManifestComponent>, LifecycleError> {
        let (_, thing, _) = self.installed_instance(org, plugin).await?;
        let mut out = Vec::new();
        for link in self
            .store
            .connections_from(ConnectionKind::PluginProvides, &thing.id)
            .await?
        {
            if let Some(component) = self.store.thing(&link.to_id).await? {
                out.push((
                    component.kind,
                    component.properties["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    component.properties["description"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ));
            }
        }
        Ok(out)
    }

    /// Records one attempt of an execution and keeps the instance's error streak and circuit breaker,
    /// which see every failed attempt: an execution that ended (`plugin_action_executed`, or
    /// `plugin_error_occurred` when it failed), or a failed attempt about to be retried
    /// (`plugin_attempt_failed`, not an execution: a run counts once however many attempts it takes).
    /// Secret values are cut out of the metadata. At `SUSPEND_AFTER_ERRORS` failures in a row the
    /// instance is suspended, in the same transaction. Returns true when this attempt suspended it.
    pub async fn record_execution(
        &self,
        context: &ExecutionContext,
        attempt: Attempt,
        metadata: Value,
        actor: &str,
        policy: &ExecutionPolicy,
    ) -> Result<bool, LifecycleError> {
        let succeeded = attempt == Attempt::Succeeded;
        let event = |metadata: Value| NewEvent {
            event_type: match attempt {
                Attempt::Succeeded => EventType::PluginActionExecuted,
                Attempt::Failed | Attempt::Refused => EventType::PluginErrorOccurred,
                Attempt::FailedRetrying => EventType::PluginAttemptFailed,
            },
            actor: actor.into(),
            target: Some(context.instance_id.clone()),
            group_id: Some(context.group_id.clone()),
            metadata,
        };
        let mut metadata = context.redact_value(&metadata);
        if attempt == Attempt::Refused
            || succeeded
                && context.one_execution
                && context.error_streak == 0
                && context.breaker.is_quiet()
        {
            // Nothing to keep on the instance (no streak to clear, a closed breaker; or the caller's
            // mistake, not the plugin's): the event alone, written with the events of other executions
            // of the moment.
            self.store.append_event(&event(metadata)).await?;
            return Ok(false);
        }
        let thing = self.store.thing(&context.instance_id).await?;
        let mut record = thing.as_ref().and_then(crate::service::record_of);
        let mut suspended = false;
        if let Some(record) = record.as_mut() {
            let mut streak = ErrorStreak(record.error_streak);
            let limit_reached = streak.record(succeeded);
            record.error_streak = streak.0;
            let now_ms = unix_ms();
            // An open breaker whose pause is over takes this attempt as its trial.
            let _ = record.breaker.allow(now_ms, policy);
            record.breaker.record(succeeded, now_ms, policy);
            if limit_reached && let Ok(next) = record.state.next(Step::Suspend) {
                record.state = next;
                record.error = Some(format!(
                    "suspended after {SUSPEND_AFTER_ERRORS} failed executions in a row: `plughub resume {} --org {}` once fixed",
                    record.plugin, context.org
                ));
                metadata["suspended"] = json!(true);
                suspended = true;
            }
        }
        let event = event(metadata);
        let mut tx = self.store.begin().await?;
        match record {
            Some(record) => {
                let properties = serde_json::to_string(&record).expect("records serialise");
                tx.update_thing(
                    &context.instance_id,
                    record.state.thing_status(),
                    &properties,
                    event,
                )
                .await?;
            }
            None => {
                tx.append_event(&event).await?;
            }
        }
        tx.commit().await?;
        Ok(suspended)
    }

    /// Lets a suspended instance run again, its error streak cleared: ACTIVE when it still serves agents,
    /// else INSTALLED.
    pub async fn resume(
        &self,
        org: &str,
        plugin: &str,
        actor: &str,
    ) -> Result<InstanceRecord, LifecycleError> {
        let (group, thing, mut record) = self.installed_instance(org, plugin).await?;
        record.state = record.state.next(Step::Resume)?;
        // Back to serving the agents it served before it was suspended.
        let powers = self
            .store
            .connections_from(ConnectionKind::PluginPowers, &thing.id)
            .await?;
        if !powers.is_empty() {
            record.state = record.state.next(Step::Activate)?.next(Step::Activated)?;
        }
        record.error_streak = 0;
        record.breaker = Default::default();
        record.error = None;
        let event = self.event(
            EventType::PluginResumed,
            &group,
            &InstallOptions::by(actor),
            json!({ "plugin": plugin }),
        );
        self.save(&thing.id, &record, event).await?;
        Ok(record)
    }
}
