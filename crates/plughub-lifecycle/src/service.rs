//! The installer: what every lifecycle operation shares (the store, the package store, the npm client,
//! lookups of organisations and instances, saving a record with its event and links).

use crate::LifecycleError;
use crate::instance::InstanceRecord;
use crate::packages::PackageStore;
use crate::progress::{Progress, Silent};
use plughub_domain::config_schema::ConfigSchema;
use plughub_domain::lifecycle::State;
use plughub_domain::names::{Catalogue, catalogue_plugin};
use plughub_domain::{ConnectionKind, CoreMajor, EventType, Group, NewEvent, Thing, ThingKind};
use plughub_install::{DependencyInstaller, ExtractLimits, Naming};
use plughub_npm::NpmClient;
use plughub_store::Store;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// What one install or update may do.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    pub core: Option<CoreMajor>,
    /// An org_owner accepts a risk score above the threshold, by name.
    pub accept_risk_by: Option<String>,
    pub actor: String,
    /// The actor, an org_owner, grants the permissions the installed versions ask for.
    pub grant: bool,
    /// Install the npm name as written although the catalogue does not hold it and its package.json
    /// does not look like an elizaOS plugin's: a private plugin, vouched for by the actor. The loader is
    /// still the last word: a package that exports no plugin never starts.
    pub not_in_catalogue: bool,
}

impl InstallOptions {
    pub fn by(actor: &str) -> InstallOptions {
        InstallOptions {
            actor: actor.into(),
            ..Default::default()
        }
    }
}

pub struct Installer {
    pub(crate) store: Store,
    pub(crate) packages: PackageStore,
    pub(crate) npm: NpmClient,
    /// npm and plughub's own registry, chosen by name: what installs fetch from.
    pub(crate) sources: crate::sources::Sources,
    registry: String,
    pub(crate) deps: OnceCell<DependencyInstaller>,
    pub(crate) progress: Arc<dyn Progress>,
    /// Which plugin a name given to an install or update means; none: an empty catalogue, so that every
    /// name must look like a plugin.
    pub(crate) catalogue: Option<Arc<dyn Catalogue>>,
    pub limits: ExtractLimits,
    /// Installs refused above this analysis score (0–100) unless the risk is accepted.
    pub risk_threshold: u32,
    /// Installs an organisation may make in an hour (product spec default).
    pub installs_per_hour: i64,
    /// The settings each package folder declares: a folder never changes once in the package store (an
    /// npm version is immutable, a local copy gets a folder of its own), so it is read once, not on
    /// every execution.
    pub(crate) schemas: std::sync::Mutex<std::collections::HashMap<String, ConfigSchema>>,
}

/// What else changes with a record, in the same transaction as its event.
pub(crate) enum Change {
    /// A link from one thing to another (its metadata replaced if it exists).
    Connect {
        kind: ConnectionKind,
        from: String,
        to: String,
        group_id: String,
        metadata: serde_json::Value,
    },
    /// Every link of a kind from a thing, or only the one to `to`.
    Disconnect {
        kind: ConnectionKind,
        from: String,
        to: Option<String>,
    },
    /// Text kept about the instance (e.g. the analysis report of a version).
    Knowledge { kind: String, body: String },
}

impl Installer {
    /// Opens the installer on a store and a package folder, settling instances a crash left half-done.
    pub async fn open(
        store: Store,
        packages_root: &Path,
        registry: &str,
    ) -> Result<Installer, LifecycleError> {
        // The scopes and credentials of the npm configuration's files apply to `registry` too: a
        // private registry's token, a scope's own registry.
        let npm = NpmClient::with_config(plughub_npm::NpmConfig::with_files(registry));
        let installer = Installer {
            sources: crate::sources::Sources {
                npm: npm.clone(),
                store: store.clone(),
            },
            store,
            packages: PackageStore::new(packages_root),
            npm,
            registry: registry.to_string(),
            deps: OnceCell::new(),
            progress: Arc::new(Silent),
            catalogue: None,
            limits: ExtractLimits::default(),
            risk_threshold: 50,
            installs_per_hour: 10,
            schemas: Default::default(),
        };
        installer.recover().await?;
        Ok(installer)
    }

    /// Where the steps of long changes are reported.
    pub fn set_progress(&mut self, progress: Arc<dyn Progress>) {
        self.progress = progress;
    }

    /// The catalogue names given to installs and updates are resolved through (`solana` means
    /// `@elizaos/plugin-solana`), as `plughub info` resolves them.
    pub fn set_catalogue(&mut self, catalogue: Arc<dyn Catalogue>) {
        self.catalogue = Some(catalogue);
    }

    /// How a name given by a user is read under `options`.
    pub(crate) fn naming(&self, options: &InstallOptions) -> Naming<'_> {
        if options.not_in_catalogue {
            Naming::AsWritten
        } else {
            Naming::Catalogue(self.catalogue.as_deref())
        }
    }

    pub fn packages(&self) -> &PackageStore {
        &self.packages
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The npm registry client installs use (the registry of the user's npm configuration).
    pub fn npm(&self) -> &NpmClient {
        &self.npm
    }

    /// Where installs fetch packages: plughub's own registry for the names published to it, npm for
    /// every other name. Read documents of installable packages through this, never through `npm()`.
    pub fn sources(&self) -> &crate::sources::Sources {
        &self.sources
    }

    pub(crate) async fn deps(&self) -> Result<&DependencyInstaller, LifecycleError> {
        Ok(self
            .deps
            .get_or_try_init(|| async {
                let tools = self.packages.tools_dir();
                DependencyInstaller::locate(&tools, self.packages.pnpm_store(), &self.registry)
                    .await
                    .map(|d| d.with_npmrc(self.npm.config().to_npmrc()))
            })
            .await?)
    }

    pub async fn group(&self, org: &str) -> Result<Group, LifecycleError> {
        self.store
            .group_by_name(org)
            .await?
            .ok_or_else(|| LifecycleError::UnknownOrg(org.to_string()))
    }

    /// An organisation's instance of a plugin, unless there is none or it was uninstalled.
    pub async fn installed_instance(
        &self,
        org: &str,
        plugin: &str,
    ) -> Result<(Group, Thing, InstanceRecord), LifecycleError> {
        let group = self.group(org).await?;
        self.installed_instance_in(group, plugin).await
    }

    /// The instance a name given to an update means: the one of that very name, else the one of the
    /// catalogue plugin the name means (`solana` is `@elizaos/plugin-solana`), as the install read it.
    pub(crate) async fn instance_meant(
        &self,
        org: &str,
        plugin: &str,
    ) -> Result<(Group, Thing, InstanceRecord), LifecycleError> {
        let group = self.group(org).await?;
        let exact = self.installed_instance_in(group.clone(), plugin).await;
        if !matches!(exact, Err(LifecycleError::NotInstalled { .. })) {
            return exact;
        }
        let meant = self
            .catalogue
            .as_deref()
            .and_then(|c| catalogue_plugin(c, plugin))
            .filter(|meant| meant != plugin);
        match meant {
            Some(meant) => self.installed_instance_in(group, &meant).await.or(exact),
            None => exact,
        }
    }

    /// As `installed_instance`, in a group read already.
    pub(crate) async fn installed_instance_in(
        &self,
        group: Group,
        plugin: &str,
    ) -> Result<(Group, Thing, InstanceRecord), LifecycleError> {
        let not_installed = || LifecycleError::NotInstalled {
            plugin: plugin.into(),
            org: group.name.clone(),
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

    /// A group's instance of a plugin that is installed (not failed, not uninstalled), if any.
    pub(crate) async fn present_instance(
        &self,
        group: &Group,
        plugin: &str,
    ) -> Result<Option<(Thing, InstanceRecord)>, LifecycleError> {
        let thing = self
            .store
            .thing_by_name(ThingKind::PluginInstance, Some(&group.id), plugin)
            .await?;
        Ok(thing.and_then(|t| {
            let record = record_of(&t)?;
            record.is_present().then_some((t, record))
        }))
    }

    /// The static analysis of the version an instance runs, as it was when installed.
    pub async fn analysis(
        &self,
        org: &str,
        plugin: &str,
    ) -> Result<Option<plughub_analyzer::Report>, LifecycleError> {
        let (_, thing, record) = self.installed_instance(org, plugin).await?;
        let text = self
            .store
            .knowledge(&thing.id, &analysis_kind(record.version()))
            .await?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Every instance in every group with its record: for work that spans groups (recovery, collection,
    /// key rotation).
    pub(crate) async fn all_instances(
        &self,
    ) -> Result<Vec<(Thing, InstanceRecord)>, LifecycleError> {
        Ok(self
            .store
            .things_in_all_groups(ThingKind::PluginInstance)
            .await?
            .into_iter()
            .filter_map(|thing| record_of(&thing).map(|record| (thing, record)))
            .collect())
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

    /// Instances of the group that depend on `thing`, with the range each asks for.
    pub(crate) async fn dependents(
        &self,
        thing: &Thing,
    ) -> Result<Vec<(Thing, InstanceRecord, String)>, LifecycleError> {
        let mut out = Vec::new();
        for link in self
            .store
            .connections_to(ConnectionKind::PluginDependsOn, &thing.id)
            .await?
        {
            let Some(dependent) = self.store.thing(&link.from_id).await? else {
                continue;
            };
            if let Some(record) = record_of(&dependent).filter(InstanceRecord::is_present) {
                let range = link.metadata["range"].as_str().unwrap_or("*").to_string();
                out.push((dependent, record, range));
            }
        }
        Ok(out)
    }

    pub(crate) async fn save(
        &self,
        thing_id: &str,
        record: &InstanceRecord,
        event: NewEvent,
    ) -> Result<(), LifecycleError> {
        self.save_with(thing_id, record, event, &[]).await
    }

    /// Saves a record with its event and what changes with it, all or nothing.
    pub(crate) async fn save_with(
        &self,
        thing_id: &str,
        record: &InstanceRecord,
        event: NewEvent,
        links: &[Change],
    ) -> Result<(), LifecycleError> {
        let properties = serde_json::to_string(record).expect("records serialise");
        let mut tx = self.store.begin().await?;
        tx.update_thing(thing_id, record.state.thing_status(), &properties, event)
            .await?;
        for link in links {
            match link {
                Change::Connect {
                    kind,
                    from,
                    to,
                    group_id,
                    metadata,
                } => {
                    tx.put_connection(*kind, from, to, Some(group_id.as_str()), metadata)
                        .await?;
                }
                Change::Disconnect { kind, from, to } => {
                    tx.remove_connections(*kind, from, to.as_deref()).await?;
                }
                Change::Knowledge { kind, body } => {
                    tx.put_knowledge(thing_id, kind, body).await?;
                }
            }
        }
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

/// Where the analysis of a version is kept about an instance: one per version, so a rollback finds it.
pub(crate) fn analysis_kind(version: &str) -> String {
    format!("analysis:{version}")
}

/// The analysis report kept with an installed version.
pub(crate) fn analysis_change(report: &plughub_analyzer::Report, version: &str) -> Change {
    Change::Knowledge {
        kind: analysis_kind(version),
        body: serde_json::to_string(report).expect("reports serialise"),
    }
}

pub fn record_of(thing: &Thing) -> Option<InstanceRecord> {
    serde_json::from_value(thing.properties.clone()).ok()
}
