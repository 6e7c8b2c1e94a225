//! Install, list and uninstall, with events, the risk gate, the install rate limit and crash recovery.

use crate::LifecycleError;
use crate::instance::InstanceRecord;
use crate::packages::{PackageStore, remove};
use plughub_domain::lifecycle::{State, Step};
use plughub_domain::{CoreMajor, EventType, Group, NewEvent, Thing, ThingKind};
use plughub_install::{
    DependencyInstaller, ExtractLimits, PackageSpec, document, fetch_resolved, open_local, resolve,
};
use plughub_npm::NpmClient;
use plughub_store::{EventFilter, NewThing, Store};
use serde_json::json;
use std::path::{Path, PathBuf};
use tokio::sync::OnceCell;

/// What one install may do.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    pub core: Option<CoreMajor>,
    /// An org_owner accepts a risk score above the threshold, by name.
    pub accept_risk_by: Option<String>,
    pub actor: String,
}

pub struct Installer {
    pub(crate) store: Store,
    pub(crate) packages: PackageStore,
    npm: NpmClient,
    registry: String,
    pub(crate) deps: OnceCell<DependencyInstaller>,
    pub limits: ExtractLimits,
    /// Installs refused above this analysis score (0–100) unless the risk is accepted.
    pub risk_threshold: u32,
    /// Installs an organisation may make in an hour (product spec default).
    pub installs_per_hour: i64,
}

impl Installer {
    /// Opens the installer on a store and a package folder, settling instances a crash left half-done.
    pub async fn open(
        store: Store,
        packages_root: &Path,
        registry: &str,
    ) -> Result<Installer, LifecycleError> {
        let installer = Installer {
            store,
            packages: PackageStore::new(packages_root),
            npm: NpmClient::new(registry),
            registry: registry.to_string(),
            deps: OnceCell::new(),
            limits: ExtractLimits::default(),
            risk_threshold: 50,
            installs_per_hour: 10,
        };
        installer.recover().await?;
        Ok(installer)
    }

    pub fn packages(&self) -> &PackageStore {
        &self.packages
    }

    pub(crate) async fn deps(&self) -> Result<&DependencyInstaller, LifecycleError> {
        Ok(self
            .deps
            .get_or_try_init(|| async {
                let tools = self.packages.tools_dir();
                DependencyInstaller::locate(&tools, self.packages.pnpm_store(), &self.registry)
                    .await
            })
            .await?)
    }

    pub(crate) async fn group(&self, org: &str) -> Result<Group, LifecycleError> {
        self.store
            .group_by_name(org)
            .await?
            .ok_or_else(|| LifecycleError::UnknownOrg(org.to_string()))
    }

    /// An organisation's instance of a plugin, unless there is none or it was uninstalled.
    pub(crate) async fn installed_instance(
        &self,
        org: &str,
        plugin: &str,
    ) -> Result<(Group, Thing, InstanceRecord), LifecycleError> {
        let group = self.group(org).await?;
        let not_installed = || LifecycleError::NotInstalled {
            plugin: plugin.into(),
            org: org.into(),
        };
        let thing = self
            .store
            .thing_by_name(ThingKind::PluginInstance, Some(&group.id), plugin)
            .await?
            .ok_or_else(not_installed)?;
        match record_of(&thing) {
            Some(record) if record.state != State::Uninstalled => Ok((group, thing, record)),
            _ => Err(not_installed()),
        }
    }

    pub async fn list(&self, org: &str) -> Result<Vec<InstanceRecord>, LifecycleError> {
        let group = self.group(org).await?;
        let things = self
            .store
            .things(ThingKind::PluginInstance, Some(&group.id))
            .await?;
        Ok(things
            .iter()
            .filter_map(record_of)
            .filter(|r| r.state != State::Uninstalled)
            .collect())
    }

    pub async fn install(
        &self,
        org: &str,
        spec: &str,
        options: &InstallOptions,
    ) -> Result<InstanceRecord, LifecycleError> {
        let group = self.group(org).await?;
        self.check_rate(&group).await?;
        let spec = PackageSpec::parse(spec)?;
        // Recovery and collection on this machine wait while this lock is held.
        let _working = self.packages.lock_shared()?;

        // Resolve first, so that a version already in the package store is not downloaded again.
        let (name, version, resolved) = match &spec {
            PackageSpec::Npm { name, wanted } => {
                let doc = document(&self.npm, name).await?;
                let r = resolve(&doc, name, wanted.as_deref(), options.core)?;
                (r.name.clone(), r.version.clone(), Some(r))
            }
            PackageSpec::Folder(path) | PackageSpec::Tarball(path) => {
                let probe = self.packages.staging()?;
                let local = open_local(path, &probe, &self.limits)?;
                remove(&probe)?;
                (local.name, local.version, None)
            }
        };
        let thing_id = self.begin(&group, &name, &version, options).await?;
        let outcome = self
            .assemble(&spec, resolved, &name, &version, options)
            .await;
        match outcome {
            Ok((folder, integrity, score)) => {
                let record = InstanceRecord {
                    package: Some(folder),
                    integrity: integrity.clone(),
                    risk_score: Some(score),
                    risk_accepted_by: (score >= self.risk_threshold)
                        .then(|| options.accept_risk_by.clone())
                        .flatten(),
                    ..InstanceRecord::new(&name, &version, State::Installing.next(Step::Installed)?)
                };
                let event = self.event(EventType::PluginInstalled, &group, options, json!({
                    "phase": "installed", "plugin": name, "version": version, "integrity": integrity,
                    "risk_score": score, "risk_accepted_by": record.risk_accepted_by,
                }));
                self.save(&thing_id, &record, event).await?;
                Ok(record)
            }
            Err(error) => {
                let record = InstanceRecord {
                    error: Some(error.to_string()),
                    ..InstanceRecord::new(
                        &name,
                        &version,
                        State::Installing.next(Step::InstallFailed)?,
                    )
                };
                let event = self.event(EventType::PluginErrorOccurred, &group, options, json!({
                    "operation": "install", "plugin": name, "version": version, "error": error.to_string(),
                }));
                self.save(&thing_id, &record, event).await?;
                Err(error)
            }
        }
    }

    /// Fetches (or finds) the package, analyses it, applies the risk gate, installs its dependencies.
    async fn assemble(
        &self,
        spec: &PackageSpec,
        resolved: Option<plughub_install::Resolved>,
        name: &str,
        version: &str,
        options: &InstallOptions,
    ) -> Result<(String, Option<String>, u32), LifecycleError> {
        let folder = PackageStore::folder_name(name, version);
        let staging = self.packages.staging()?;
        let result = async {
            let (dir, integrity) = if self.packages.contains(&folder) {
                // Stored once already, verified when it was first installed against this same SRI.
                let sri = resolved.as_ref().and_then(|r| match &r.expected {
                    plughub_install::integrity::Expected::Sri(s) => Some(s.clone()),
                    plughub_install::integrity::Expected::Sha1Hex(_) => None,
                });
                (self.packages.path(&folder), sri)
            } else {
                let fetched = match (spec, resolved) {
                    (PackageSpec::Npm { .. }, Some(r)) => {
                        fetch_resolved(&self.npm, r, &staging, &self.limits).await?
                    }
                    (PackageSpec::Folder(path) | PackageSpec::Tarball(path), _) => {
                        let local = open_local(path, &staging, &self.limits)?;
                        if local.dir != staging {
                            copy_dir(&local.dir, &staging)?;
                        }
                        plughub_install::FetchedPackage {
                            dir: staging.clone(),
                            ..local
                        }
                    }
                    (PackageSpec::Npm { .. }, None) => {
                        unreachable!("npm specs are resolved before")
                    }
                };
                (fetched.dir, fetched.integrity)
            };
            let analysis_dir = dir.clone();
            let report = tokio::task::spawn_blocking(move || {
                plughub_analyzer::analyze_package(&analysis_dir)
            })
            .await
            .expect("analysis does not panic")?;
            if report.score >= self.risk_threshold && options.accept_risk_by.is_none() {
                return Err(LifecycleError::TooRisky {
                    plugin: name.into(),
                    version: version.into(),
                    score: report.score,
                    threshold: self.risk_threshold,
                });
            }
            if dir == staging {
                self.deps().await?.install(&staging).await?;
                self.packages.commit(&staging, &folder)?;
            }
            Ok((folder.clone(), integrity, report.score))
        }
        .await;
        remove(&staging)?;
        result
    }

    /// Records the start of an install: an instance in INSTALLING, with its event, so that a crash from
    /// here on is seen and settled by `recover`.
    async fn begin(
        &self,
        group: &Group,
        name: &str,
        version: &str,
        options: &InstallOptions,
    ) -> Result<String, LifecycleError> {
        let existing = self
            .store
            .thing_by_name(ThingKind::PluginInstance, Some(&group.id), name)
            .await?;
        let state = existing
            .as_ref()
            .and_then(record_of)
            .map_or(State::Discovered, |r| r.state);
        if let (Some(thing), false) = (
            &existing,
            matches!(state, State::Uninstalled | State::Failed),
        ) {
            let current = record_of(thing).map(|r| r.version).unwrap_or_default();
            return Err(LifecycleError::AlreadyInstalled {
                plugin: name.into(),
                org: group.name.clone(),
                version: current,
            });
        }
        let start = if state == State::Uninstalled {
            State::Discovered
        } else {
            state
        };
        let record = InstanceRecord::new(name, version, start.next(Step::Install)?);
        let properties = serde_json::to_string(&record).expect("records serialise");
        let event = self.event(
            EventType::PluginInstalled,
            group,
            options,
            json!({ "phase": "started", "plugin": name, "version": version }),
        );
        let mut tx = self.store.begin().await?;
        let id = match existing {
            Some(thing) => {
                tx.update_thing(&thing.id, record.state.thing_status(), &properties, event)
                    .await?;
                thing.id
            }
            None => {
                let thing = NewThing {
                    kind: ThingKind::PluginInstance,
                    name,
                    group_id: Some(&group.id),
                    status: record.state.thing_status(),
                    properties: &properties,
                };
                tx.insert_thing(&thing, event).await?
            }
        };
        tx.commit().await?;
        Ok(id)
    }

    async fn check_rate(&self, group: &Group) -> Result<(), LifecycleError> {
        let hour_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        let since = hour_ago
            .format(&time::format_description::well_known::Rfc3339)
            .expect("formats");
        let filter = EventFilter {
            event_type: Some(EventType::PluginInstalled),
            group_id: Some(group.id.clone()),
            since: Some(since),
            ..Default::default()
        };
        let started = self
            .store
            .events(&filter)
            .await?
            .iter()
            .filter(|e| e.metadata["phase"] == "started")
            .count() as i64;
        if started >= self.installs_per_hour {
            return Err(LifecycleError::RateLimited {
                org: group.name.clone(),
                count: started,
                limit: self.installs_per_hour,
            });
        }
        Ok(())
    }

    pub async fn uninstall(
        &self,
        org: &str,
        plugin: &str,
        actor: &str,
    ) -> Result<Vec<String>, LifecycleError> {
        let (group, thing, mut record) = self.installed_instance(org, plugin).await?;
        record.state = record
            .state
            .next(Step::Uninstall)?
            .next(Step::Uninstalled)?;
        let options = InstallOptions {
            actor: actor.into(),
            ..Default::default()
        };
        let event = self.event(
            EventType::PluginUninstalled,
            &group,
            &options,
            json!({ "plugin": plugin, "version": record.version }),
        );
        self.save(&thing.id, &record, event).await?;
        self.collect().await
    }

    pub(crate) async fn save(
        &self,
        thing_id: &str,
        record: &InstanceRecord,
        event: NewEvent,
    ) -> Result<(), LifecycleError> {
        let properties = serde_json::to_string(record).expect("records serialise");
        let mut tx = self.store.begin().await?;
        tx.update_thing(thing_id, record.state.thing_status(), &properties, event)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) fn event(
        &self,
        event_type: EventType,
        group: &Group,
        options: &InstallOptions,
        metadata: serde_json::Value,
    ) -> NewEvent {
        NewEvent {
            event_type,
            actor: options.actor.clone(),
            target: None,
            group_id: Some(group.id.clone()),
            metadata,
        }
    }
}

pub(crate) fn record_of(thing: &Thing) -> Option<InstanceRecord> {
    serde_json::from_value(thing.properties.clone()).ok()
}

/// Copies a local package folder (an author's working copy) into staging, leaving out its node_modules:
/// dependencies are installed fresh, without scripts.
fn copy_dir(from: &Path, to: &Path) -> Result<(), LifecycleError> {
    std::fs::create_dir_all(to).map_err(|e| crate::packages::io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| crate::packages::io(from, e))? {
        let entry = entry.map_err(|e| crate::packages::io(from, e))?;
        let kind = entry
            .file_type()
            .map_err(|e| crate::packages::io(&entry.path(), e))?;
        let target: PathBuf = to.join(entry.file_name());
        if kind.is_dir() {
            if entry.file_name() != "node_modules" && entry.file_name() != ".git" {
                copy_dir(&entry.path(), &target)?;
            }
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).map_err(|e| crate::packages::io(&target, e))?;
        }
    }
    Ok(())
}
