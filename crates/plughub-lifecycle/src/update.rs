//! Updating an instance to another version, and rolling back to the one before. The configuration and
//! secrets stay (they belong to the instance, not the version); the version replaced stays on disk for a
//! rollback; plugins that depend on this one must accept the new version. While the new version is being
//! assembled the record says which state to return to, so a crash leaves the old version working.

use crate::LifecycleError;
use crate::instance::{InstanceRecord, this_host};
use crate::plan::{Located, Source, plugin_requirements, read_manifest};
use crate::service::{InstallOptions, Installer, analysis_change, record_of};
use plughub_domain::dependencies::{DependencyError, satisfies};
use plughub_domain::lifecycle::{State, Step};
use plughub_domain::{EventType, Group, Thing};
use plughub_install::{Naming, PackageSpec};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What an update or rollback did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpdateOutcome {
    pub plugin: String,
    pub from: String,
    pub to: String,
    /// False when the instance was at that version already.
    pub changed: bool,
    pub state: State,
    /// Required settings the new version declares that have no value yet.
    pub missing_settings: Vec<String>,
    /// Permissions the version asks for that are not granted: it does not run until they are.
    pub missing_permissions: plughub_domain::permissions::Permissions,
}

impl Installer {
    /// Updates to `target` (a version, range, tag, or a local folder or tarball), or to the newest version
    /// for the core major it was installed for.
    pub async fn update(
        &self,
        org: &str,
        plugin: &str,
        target: Option<&str>,
        options: &InstallOptions,
    ) -> Result<UpdateOutcome, LifecycleError> {
        match target {
            Some(t) if is_local(t) => {
                self.update_with(org, plugin, Some(PackageSpec::parse(t)?), None, options)
                    .await
            }
            wanted => self.update_to(org, plugin, wanted, options).await,
        }
    }

    /// Updates to `wanted` of the registry (a version, range or tag; the newest for its core major when
    /// none): what the API is given is never read as a path on this machine.
    pub async fn update_to(
        &self,
        org: &str,
        plugin: &str,
        wanted: Option<&str>,
        options: &InstallOptions,
    ) -> Result<UpdateOutcome, LifecycleError> {
        self.update_with(org, plugin, None, wanted, options).await
    }

    /// Updates to `local` when given, else to `wanted` of the registry.
    async fn update_with(
        &self,
        org: &str,
        plugin: &str,
        local: Option<PackageSpec>,
        wanted: Option<&str>,
        options: &InstallOptions,
    ) -> Result<UpdateOutcome, LifecycleError> {
        let (group, thing, record) = self.instance_meant(org, plugin).await?;
        record.state.next(Step::Replace)?;
        // The instance's own name, vetted when it was installed: taken as written from here on.
        let spec = local.unwrap_or_else(|| PackageSpec::Npm {
            name: record.plugin.clone(),
            wanted: wanted.map(str::to_string),
        });
        let core = options.core.or(record.core);
        let result = {
            let _working = self.packages.lock_shared()?;
            self.replace(&group, &thing, record, &spec, core, options)
                .await
        };
        // The version before the one kept for rollback is no longer needed.
        self.collect().await?;
        result
    }

    async fn replace(
        &self,
        group: &Group,
        thing: &Thing,
        mut record: InstanceRecord,
        spec: &PackageSpec,
        core: Option<plughub_domain::CoreMajor>,
        options: &InstallOptions,
    ) -> Result<UpdateOutcome, LifecycleError> {
        let located = self.locate(spec, core, Naming::AsWritten).await?;
        if located.name != record.plugin {
            return Err(plughub_install::InstallError::BadSpec(format!(
                "{:?} holds {}, not {}",
                spec, located.name, record.plugin
            ))
            .into());
        }
        let from = record.version().to_string();
        if located.version == from {
            return self.outcome(&record, from, false).await;
        }
        self.check_dependents(thing, &located.version).await?;
        let mut plan = self.plan(group, located, core).await?;
        let located = plan.pop().expect("a plan ends with the plugin asked for");
        // Named by the plugin's own package.json, as the install's plan names them: taken as written.
        for dependency in plan {
            self.install_as(
                &group.name,
                &format!("{}@{}", dependency.name, dependency.version),
                Naming::AsWritten,
                options,
            )
            .await?;
        }

        let to = located.version.clone();
        let prior = record.state;
        record.state = prior.next(Step::Replace)?;
        record.replacing = Some(prior);
        record.worker = Some(this_host());
        let event = self.event(
            EventType::PluginUpdated,
            group,
            options,
            json!({
                "phase": "started", "plugin": record.plugin, "from": from, "to": to,
            }),
        );
        self.save(&thing.id, &record, event).await?;

        let assembled = self.assemble(&located, options).await;
        // Settings may have been configured while the new version was assembled: keep them.
        if let Some(fresh) = self
            .store
            .thing(&thing.id)
            .await?
            .as_ref()
            .and_then(record_of)
        {
            record.config = fresh.config;
            record.secrets = fresh.secrets;
            record.granted = fresh.granted;
            record.granted_by = fresh.granted_by;
        }
        match assembled {
            Ok((new, report)) => {
                record.previous = Some(std::mem::replace(&mut record.current, new));
                let asks_more = record.ungranted();
                if options.grant && !asks_more.is_empty() {
                    record.granted = record
                        .granted
                        .union(&crate::permissions::granted_on_request(
                            &record.current.requested,
                        ));
                    record.granted_by = Some(options.actor.clone());
                }
                record.state = settle(self.serves_agents(&thing.id).await?)?;
                record.replacing = None;
                record.worker = None;
                record.error = None;
                let mut links = self
                    .dependency_links(group, &thing.id, &located.requires)
                    .await?;
                links.push(analysis_change(&report, &to));
                let event = self.event(EventType::PluginUpdated, group, options, json!({
                    "phase": "updated", "plugin": record.plugin, "from": from, "to": to,
                    "integrity": record.current.integrity, "risk_score": record.current.risk_score,
                    "permissions": record.current.requested, "asks_more": asks_more,
                    "granted": record.granted, "missing": record.ungranted(),
                }));
                self.save_with(&thing.id, &record, event, &links).await?;
                self.progress
                    .step(&record.plugin, &format!("updated to {to}"));
                self.outcome(&record, from, true).await
            }
            Err(error) => {
                record.state = prior;
                record.replacing = None;
                record.worker = None;
                let event = self.event(
                    EventType::PluginErrorOccurred,
                    group,
                    options,
                    json!({
                        "operation": "update", "plugin": record.plugin, "from": from, "to": to,
                        "error": error.to_string(),
                    }),
                );
                self.save(&thing.id, &record, event).await?;
                Err(error)
            }
        }
    }

    /// Returns to the version before the last update (which becomes the one to return to in turn).
    pub async fn rollback(
        &self,
        org: &str,
        plugin: &str,
        actor: &str,
    ) -> Result<UpdateOutcome, LifecycleError> {
        let (group, thing, mut record) = self.installed_instance(org, plugin).await?;
        let Some(previous) = record.previous.take() else {
            return Err(LifecycleError::NothingToRollBack {
                plugin: plugin.into(),
            });
        };
        let prior = record.state;
        prior.next(Step::Replace)?;
        self.check_dependents(&thing, &previous.version).await?;
        // The version rolled back to may have been installed on another node: fetched here first.
        let manifest = match &previous.package {
            Some(folder) => read_manifest(
                &self
                    .ensure_package(plugin, &previous, folder)
                    .await?
                    .join("package.json"),
            ),
            None => Default::default(),
        };
        let requires = plugin_requirements(plugin, &manifest);
        // The version rolled back to must fit the organisation as it is now: no cycle, every plugin it
        // needs installed at a version it accepts.
        let back = Located {
            name: plugin.into(),
            version: previous.version.clone(),
            source: Source::Local(
                self.packages
                    .path(previous.package.as_deref().unwrap_or_default()),
            ),
            requires: requires.clone(),
        };
        let missing: Vec<String> = self
            .plan(&group, back, record.core)
            .await?
            .into_iter()
            .filter(|l| l.name != plugin)
            .map(|l| l.name)
            .collect();
        if !missing.is_empty() {
            return Err(LifecycleError::RollbackNeeds {
                plugin: plugin.into(),
                version: previous.version.clone(),
                missing,
            });
        }
        let from = record.version().to_string();
        let to = previous.version.clone();
        record.previous = Some(std::mem::replace(&mut record.current, previous));
        record.state = settle(self.serves_agents(&thing.id).await?)?;
        let links = self.dependency_links(&group, &thing.id, &requires).await?;
        let event = self.event(
            EventType::PluginUpdated,
            &group,
            &InstallOptions::by(actor),
            json!({ "phase": "rolled_back", "plugin": plugin, "from": from, "to": to }),
        );
        self.save_with(&thing.id, &record, event, &links).await?;
        self.outcome(&record, from, true).await
    }

    async fn serves_agents(&self, thing_id: &str) -> Result<bool, LifecycleError> {
        Ok(!self
            .store
            .connections_from(plughub_domain::ConnectionKind::PluginPowers, thing_id)
            .await?
            .is_empty())
    }

    /// Refuses a version that a plugin depending on this one does not accept.
    async fn check_dependents(&self, thing: &Thing, version: &str) -> Result<(), LifecycleError> {
        let wanted: Vec<(String, String)> = self
            .dependents(thing)
            .await?
            .into_iter()
            .map(|(_, record, range)| (record.plugin, range))
            .collect();
        if wanted.iter().any(|(_, range)| !satisfies(version, range)) {
            return Err(DependencyError::Conflict {
                plugin: thing.name.clone(),
                version: version.into(),
                installed: false,
                wanted,
            }
            .into());
        }
        Ok(())
    }

    async fn outcome(
        &self,
        record: &InstanceRecord,
        from: String,
        changed: bool,
    ) -> Result<UpdateOutcome, LifecycleError> {
        Ok(UpdateOutcome {
            plugin: record.plugin.clone(),
            from,
            to: record.version().to_string(),
            changed,
            state: record.state,
            // Done already: a package this node cannot fetch now does not turn it into an error.
            missing_settings: self.missing_settings(record).await.unwrap_or_else(|e| {
                tracing::warn!(plugin = %record.plugin, error = %e, "cannot tell which settings are missing");
                Vec::new()
            }),
            missing_permissions: record.ungranted(),
        })
    }
}

/// Where a replaced instance lands: ACTIVE when it serves agents (also when it was suspended or failing:
/// an update is how that is fixed), else INSTALLED.
fn settle(serving: bool) -> Result<State, LifecycleError> {
    let installed = State::Installing.next(Step::Installed)?;
    Ok(if serving {
        installed.next(Step::Activate)?.next(Step::Activated)?
    } else {
        installed
    })
}

fn is_local(target: &str) -> bool {
    target.starts_with('.')
        || target.starts_with('/')
        || target.starts_with('~')
        || target.ends_with(".tgz")
        || target.ends_with(".tar.gz")
}
