//! Installing a plugin for an organisation, with the plugins it needs: each recorded as INSTALLING before
//! any work (so a crash is seen and settled), fetched or found in the package store, analysed against the
//! risk gate, given its dependencies without install scripts, and recorded INSTALLED or FAILED with its
//! event. When a needed plugin fails, the ones installed for it in the same operation are removed again.

use crate::LifecycleError;
use crate::instance::{InstalledVersion, InstanceRecord, this_host};
use crate::packages::{PackageStore, io, remove};
use crate::plan::{Located, Source};
use crate::service::{Change, InstallOptions, Installer, analysis_change, record_of};
use plughub_domain::dependencies::Requirement;
use plughub_domain::lifecycle::{State, Step};
use plughub_domain::{ConnectionKind, EventType, Group, ThingKind};
use plughub_install::integrity::Expected;
use plughub_install::{FetchedPackage, Naming, PackageSpec, fetch_resolved, open_local};
use plughub_store::{EventFilter, NewThing};
use serde_json::json;
use std::path::{Path, PathBuf};

impl Installer {
    /// A span of its own (`install`, with the organisation and the package asked for): its log lines
    /// carry them, and it is exported over OTLP when the server is.
    #[tracing::instrument(name = "install", skip(self, options), fields(org = %org, spec = %spec))]
    pub async fn install(
        &self,
        org: &str,
        spec: &str,
        options: &InstallOptions,
    ) -> Result<InstanceRecord, LifecycleError> {
        self.install_package(org, &PackageSpec::parse(spec)?, options)
            .await
    }

    /// Installs `spec` as read already: the API builds registry specs itself, so that nothing it is
    /// given is ever read as a path on this machine. Its name is read as `options` say (through the
    /// catalogue unless `not_in_catalogue`).
    pub async fn install_package(
        &self,
        org: &str,
        spec: &PackageSpec,
        options: &InstallOptions,
    ) -> Result<InstanceRecord, LifecycleError> {
        self.install_spec(org, spec, self.naming(options), options)
            .await
    }

    /// Installs `spec` with its name read as `naming` says.
    pub(crate) async fn install_as(
        &self,
        org: &str,
        spec: &str,
        naming: Naming<'_>,
        options: &InstallOptions,
    ) -> Result<InstanceRecord, LifecycleError> {
        self.install_spec(org, &PackageSpec::parse(spec)?, naming, options)
            .await
    }

    async fn install_spec(
        &self,
        org: &str,
        spec: &PackageSpec,
        naming: Naming<'_>,
        options: &InstallOptions,
    ) -> Result<InstanceRecord, LifecycleError> {
        let group = self.group(org).await?;
        let (result, undone) = {
            // Recovery and collection on this machine wait while this lock is held.
            let _working = self.packages.lock_shared()?;
            self.install_with_dependencies(&group, spec, naming, options)
                .await
        };
        if undone {
            self.collect().await?;
        }
        result
    }

    /// Installs the plan in order; the flag says whether instances were undone after a failure.
    async fn install_with_dependencies(
        &self,
        group: &Group,
        spec: &PackageSpec,
        naming: Naming<'_>,
        options: &InstallOptions,
    ) -> (Result<InstanceRecord, LifecycleError>, bool) {
        let plan = async {
            // Before anything is recorded: a name that means no plugin is refused with nothing to undo.
            let root = self.locate(spec, options.core, naming).await?;
            if let Some((_, record)) = self.present_instance(group, &root.name).await? {
                return Err(LifecycleError::AlreadyInstalled {
                    plugin: root.name,
                    org: group.name.clone(),
                    version: record.version().to_string(),
                });
            }
            let plan = self.plan(group, root, options.core).await?;
            self.check_rate(group, plan.len() as i64).await?;
            Ok(plan)
        };
        let plan = match plan.await {
            Ok(plan) => plan,
            Err(e) => return (Err(e), false),
        };
        let root = plan.last().map(|l| l.name.clone()).unwrap_or_default();
        let mut done: Vec<String> = Vec::new();
        // `--grant` grants what the plugin asked for shows; the plugins installed for it are granted
        // each on their own (`plughub permissions` shows what they ask).
        let for_dependency = InstallOptions {
            grant: false,
            ..options.clone()
        };
        for item in plan {
            let name = item.name.clone();
            let options = if name == root {
                options
            } else {
                &for_dependency
            };
            match self.install_one(group, item, options).await {
                Ok((_, record)) if name == root => return (Ok(record), false),
                Ok((thing_id, _)) => done.push(thing_id),
                Err(error) => {
                    let reason = error.to_string();
                    if let Err(e) = self.undo(group, &done, &name, options).await {
                        return (Err(e), true);
                    }
                    let error = if name == root {
                        error
                    } else {
                        LifecycleError::DependencyFailed {
                            plugin: root,
                            dependency: name,
                            reason,
                        }
                    };
                    return (Err(error), !done.is_empty());
                }
            }
        }
        unreachable!("a plan ends with the plugin asked for")
    }

    /// Installs one located package as an instance of the group.
    async fn install_one(
        &self,
        group: &Group,
        item: Located,
        options: &InstallOptions,
    ) -> Result<(String, InstanceRecord), LifecycleError> {
        let thing_id = self
            .begin(group, &item.name, &item.version, options)
            .await?;
        match self.assemble(&item, options).await {
            Ok((current, report)) => {
                let mut record = InstanceRecord::new(
                    &item.name,
                    &item.version,
                    State::Installing.next(Step::Installed)?,
                );
                record.current = current;
                record.core = options.core;
                if options.grant && !record.current.requested.is_empty() {
                    record.granted =
                        crate::permissions::granted_on_request(&record.current.requested);
                    record.granted_by = Some(options.actor.clone());
                }
                let mut links = self
                    .dependency_links(group, &thing_id, &item.requires)
                    .await?;
                links.push(analysis_change(&report, &item.version));
                let event = self.event(EventType::PluginInstalled, group, options, json!({
                    "phase": "installed", "plugin": item.name, "version": item.version,
                    "integrity": record.current.integrity, "risk_score": record.current.risk_score,
                    "risk_accepted_by": record.current.risk_accepted_by,
                    "depends_on": item.requires.iter().map(|r| &r.name).collect::<Vec<_>>(),
                    "permissions": record.current.requested, "granted": record.granted,
                }));
                self.save_with(&thing_id, &record, event, &links).await?;
                self.progress.step(&item.name, "installed");
                Ok((thing_id, record))
            }
            Err(error) => {
                let record = InstanceRecord {
                    error: Some(error.to_string()),
                    ..InstanceRecord::new(
                        &item.name,
                        &item.version,
                        State::Installing.next(Step::InstallFailed)?,
                    )
                };
                let event = self.event(
                    EventType::PluginErrorOccurred,
                    group,
                    options,
                    json!({
                        "operation": "install", "plugin": item.name, "version": item.version,
                        "error": error.to_string(),
                    }),
                );
                self.save(&thing_id, &record, event).await?;
                Err(error)
            }
        }
    }

    /// The plugin_depends_on links of an instance to the instances of what it requires (installed
    /// before it), replacing any it had.
    pub(crate) async fn dependency_links(
        &self,
        group: &Group,
        thing_id: &str,
        requires: &[Requirement],
    ) -> Result<Vec<Change>, LifecycleError> {
        let mut links = vec![Change::Disconnect {
            kind: ConnectionKind::PluginDependsOn,
            from: thing_id.into(),
            to: None,
        }];
        for requirement in requires {
            let Some((dependency, _)) = self.present_instance(group, &requirement.name).await?
            else {
                continue;
            };
            links.push(Change::Connect {
                kind: ConnectionKind::PluginDependsOn,
                from: thing_id.into(),
                to: dependency.id,
                group_id: group.id.clone(),
                metadata: json!({ "range": requirement.range }),
            });
        }
        Ok(links)
    }

    /// Removes instances installed for a plugin that then failed, newest first.
    async fn undo(
        &self,
        group: &Group,
        thing_ids: &[String],
        failed: &str,
        options: &InstallOptions,
    ) -> Result<(), LifecycleError> {
        for thing_id in thing_ids.iter().rev() {
            let Some(thing) = self.store.thing(thing_id).await? else {
                continue;
            };
            let Some(record) = record_of(&thing) else {
                continue;
            };
            let reason = format!("installed for a plugin that then failed ({failed})");
            self.mark_uninstalled(group, thing_id, record, Some(reason), options)
                .await?;
        }
        Ok(())
    }

    /// Fetches (or finds) the package, analyses it, applies the risk gate, installs its dependencies.
    pub(crate) async fn assemble(
        &self,
        item: &Located,
        options: &InstallOptions,
    ) -> Result<(InstalledVersion, plughub_analyzer::Report), LifecycleError> {
        let (name, version) = (item.name.as_str(), item.version.as_str());
        // npm versions are immutable, so one folder serves every organisation. A local folder or tarball
        // may claim any name and version: it gets a folder of its own, never shared or reused.
        let folder = match &item.source {
            // A version published to plughub never shares a folder with an npm version of the same
            // name and number (one taken from npm before the name was plughub's, say).
            Source::Npm(r) if crate::sources::from_plughub(r) => format!(
                "{}{}",
                PackageStore::folder_name(name, version),
                crate::sources::PLUGHUB_MARKER
            ),
            Source::Npm(_) => PackageStore::folder_name(name, version),
            Source::Local(_) => format!(
                "{}{}{}",
                PackageStore::folder_name(name, version),
                crate::materialize::LOCAL_MARKER,
                uuid::Uuid::new_v4().simple()
            ),
        };
        let staging = self.packages.staging()?;
        let result = async {
            let (dir, integrity) = if self.packages.contains(&folder) {
                self.progress
                    .step(name, &format!("found {version} in the package store"));
                // Stored once already, verified when it was first installed against this same SRI.
                let sri = match &item.source {
                    Source::Npm(r) => match &r.expected {
                        Expected::Sri(s) => Some(s.clone()),
                        Expected::Sha1Hex(_) => None,
                    },
                    Source::Local(_) => None,
                };
                (self.packages.path(&folder), sri)
            } else {
                let fetched = self.fetch(item, &staging).await?;
                (fetched.dir, fetched.integrity)
            };
            self.progress.step(name, "analysing the code");
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
            let (requested, declared_permissions) =
                crate::permissions::requested(name, &dir, &report)?;
            if dir == staging {
                let provided = self.plughub_dependencies(item, &staging).await?;
                let pins = self.pins(&item.name, published_of(&item.source), &staging).await?;
                self.progress
                    .step(name, "installing dependencies (no install scripts)");
                let report = self
                    .deps()
                    .await?
                    .install_without(&staging, &provided, &pins)
                    .await?;
                if !report.removed_config.is_empty() {
                    self.progress.step(
                        name,
                        &format!(
                            "ignored the package's own package manager files (deleted before installing its dependencies): {}",
                            report.removed_config.join(", ")
                        ),
                    );
                }
                self.refuse_plughub_packages_in_tree(name, &staging).await?;
                self.packages.commit(&staging, &folder)?;
            }
            // What the package alone did not show: compiled addons its dependencies brought.
            let mut requested = requested;
            if !declared_permissions
                && plughub_analyzer::holds_native_addon(&self.packages.path(&folder))
            {
                requested.add(plughub_domain::permissions::Permission::NativeAddons);
            }
            let installed = InstalledVersion {
                version: version.into(),
                package: Some(folder.clone()),
                integrity,
                risk_score: Some(report.score),
                risk_accepted_by: (report.score >= self.risk_threshold)
                    .then(|| options.accept_risk_by.clone())
                    .flatten(),
                provides: None,
                requested,
                declared_permissions,
                permissions_recorded: true,
            };
            Ok((installed, report))
        }
        .await;
        remove(&staging)?;
        result
    }

    /// A name published to plughub comes from plughub only, and pnpm fetches from npm: a dependency
    /// with a plughub name is refused before pnpm runs, unless it is one of the plugins this plugin
    /// requires (installed by plughub as plugins of their own, from plughub): those are left out of what
    /// pnpm installs, and returned.
    async fn plughub_dependencies(
        &self,
        item: &Located,
        dir: &Path,
    ) -> Result<Vec<String>, LifecycleError> {
        let mut provided = Vec::new();
        for (field, dep) in plughub_install::declared_dependencies(dir)? {
            if !self.sources.is_plughub(&dep).await? {
                continue;
            }
            let required =
                field != "optionalDependencies" && item.requires.iter().any(|r| r.name == dep);
            if required {
                if !provided.contains(&dep) {
                    provided.push(dep);
                }
                continue;
            }
            return Err(plughub_dependency(
                &item.name,
                &dep,
                &format!("its {field}"),
            ));
        }
        Ok(provided)
    }

    /// The dependency ranges of the package in `dir` replaced before pnpm runs (`workspace:` references,
    /// a core range that says nothing), each shown as a step.
    pub(crate) async fn pins(
        &self,
        name: &str,
        published: Option<&str>,
        dir: &Path,
    ) -> Result<Vec<plughub_install::Pin>, LifecycleError> {
        let manifest = crate::plan::read_manifest(&dir.join("package.json"));
        let pins = plughub_install::pins(&self.sources, name, &manifest, published).await?;
        for pin in &pins {
            self.progress.step(
                name,
                &format!(
                    "{} {} → {} in {}: {}",
                    pin.name,
                    pin.from.as_deref().unwrap_or("(none)"),
                    pin.to,
                    pin.field,
                    pin.why
                ),
            );
        }
        Ok(pins)
    }

    /// After pnpm ran: no package of the installed tree, however deep, may have a plughub name (pnpm
    /// took it from npm, where a same-named package is not plughub's).
    async fn refuse_plughub_packages_in_tree(
        &self,
        name: &str,
        dir: &Path,
    ) -> Result<(), LifecycleError> {
        for dep in plughub_install::installed_packages(dir) {
            if dep != name && self.sources.is_plughub(&dep).await? {
                return Err(plughub_dependency(
                    name,
                    &dep,
                    "the dependency tree pnpm installed",
                ));
            }
        }
        Ok(())
    }

    async fn fetch(
        &self,
        item: &Located,
        staging: &Path,
    ) -> Result<FetchedPackage, LifecycleError> {
        match &item.source {
            Source::Npm(resolved) => {
                self.progress.step(
                    &item.name,
                    &format!(
                        "downloading {}, verifying its integrity, extracting",
                        item.version
                    ),
                );
                Ok(
                    fetch_resolved(&self.sources, (**resolved).clone(), staging, &self.limits)
                        .await?,
                )
            }
            Source::Local(path) => {
                self.progress
                    .step(&item.name, &format!("reading {}", path.display()));
                let local = open_local(path, staging, &self.limits)?;
                if local.dir != staging {
                    copy_dir(&local.dir, staging)?;
                }
                Ok(FetchedPackage {
                    dir: staging.to_path_buf(),
                    ..local
                })
            }
        }
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
            let current = record_of(thing)
                .map(|r| r.current.version)
                .unwrap_or_default();
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
        let record = InstanceRecord {
            worker: Some(this_host()),
            ..InstanceRecord::new(name, version, start.next(Step::Install)?)
        };
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

    /// Refuses when `count` more installs would pass the group's hourly limit.
    async fn check_rate(&self, group: &Group, count: i64) -> Result<(), LifecycleError> {
        let since =
            plughub_store::format_time(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
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
        if started + count > self.installs_per_hour {
            return Err(LifecycleError::RateLimited {
                org: group.name.clone(),
                count: started,
                limit: self.installs_per_hour,
            });
        }
        Ok(())
    }
}

/// Copies a local package folder (an author's working copy) into staging, leaving out its node_modules:
/// dependencies are installed fresh, without scripts.
fn copy_dir(from: &Path, to: &Path) -> Result<(), LifecycleError> {
    std::fs::create_dir_all(to).map_err(|e| io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| io(from, e))? {
        let entry = entry.map_err(|e| io(from, e))?;
        let kind = entry.file_type().map_err(|e| io(&entry.path(), e))?;
        let target: PathBuf = to.join(entry.file_name());
        if kind.is_dir() {
            if entry.file_name() != "node_modules" && entry.file_name() != ".git" {
                copy_dir(&entry.path(), &target)?;
            }
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).map_err(|e| io(&target, e))?;
        }
    }
    Ok(())
}

/// When an npm version was published (none for a local folder or tarball).
fn published_of(source: &Source) -> Option<&str> {
    match source {
        Source::Npm(resolved) => resolved.published.as_deref(),
        Source::Local(_) => None,
    }
}

fn plughub_dependency(plugin: &str, dep: &str, place: &str) -> LifecycleError {
    LifecycleError::Install(plughub_install::InstallError::Dependencies(format!(
        "{plugin}: {dep} (in {place}) is a package published to plughub, and packages published to \
         plughub cannot yet be dependencies fetched by pnpm (pnpm takes them from npm, where the same name \
         is someone else's); nothing was installed. Require it as a plugin (a dependency that is an \
         elizaOS plugin), or depend on a package that is not published to plughub"
    )))
}
