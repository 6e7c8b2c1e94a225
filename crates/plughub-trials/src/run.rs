//! A compatibility run: each target installed in a throwaway organisation of the same store (the shared
//! package store), given placeholder settings, granted what it asks for with every name resolving to
//! nothing, activated and started through the runner exactly as an execution starts it (in the OS
//! sandbox when this machine can make one), its true manifest read; then uninstalled, its folder
//! collected. Beside it, the same version under plain npm. Each trial is stored as it ends, so an
//! interrupted run loses at most the trials in flight, and the next run skips what is done.

use crate::baseline::baseline;
use crate::classify::{classify, first_lines, needs};
use crate::placeholders::{UNRESOLVABLE, placeholders};
use crate::targets::Target;
use crate::{RULES, TrialError};
use futures::StreamExt;
use plughub_domain::Plan;
use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_domain::trial::{Reached, Stage, Trial};
use plughub_engine::{EgressPolicy, SandboxPolicy};
use plughub_lifecycle::{ActivateOptions, InstallOptions, Installer};
use plughub_runner::{RunError, Runner, RunnerConfig};
use plughub_secrets::KeyRing;
use plughub_store::Store;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ACTOR: &str = "compat";
const AGENT: &str = "compat";

/// Where and how a run works.
pub struct Setup {
    pub store: Store,
    pub packages_dir: PathBuf,
    pub run_dir: PathBuf,
    pub node: PathBuf,
    pub keys: KeyRing,
    /// The npm registry every install (plughub's and plain npm's) uses: a trial is of this registry.
    pub registry: String,
    /// `None`: workers run as plain processes (this machine cannot sandbox, or the operator said so).
    pub sandbox: Option<SandboxPolicy>,
}

/// What a run tries, and how.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Trials at once.
    pub jobs: usize,
    /// Try plain npm beside plughub.
    pub npm_baseline: bool,
    /// Try again versions tried before under the same rules.
    pub retry: bool,
    /// How long `init` may take.
    pub init_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            jobs: 2,
            npm_baseline: true,
            retry: false,
            init_timeout: Duration::from_secs(60),
        }
    }
}

/// What a run reports as it goes.
pub trait RunProgress: Send + Sync {
    /// `total` versions to try, `skipped` already tried under these rules.
    fn started(&self, total: usize, skipped: usize);
    fn finished(&self, trial: &Trial);
}

/// What a run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunOutcome {
    pub registry: String,
    /// The throwaway organisations' name, before `-1`, `-2`, … (one per job).
    pub org: String,
    pub sandboxed: bool,
    /// The trials of this run, in the order they ended.
    pub trials: Vec<Trial>,
    /// Versions skipped: tried before under the same rules.
    pub skipped: Vec<String>,
}

/// Runs `targets` under `options`.
pub async fn run(
    setup: Setup,
    targets: Vec<Target>,
    options: &RunOptions,
    progress: &dyn RunProgress,
) -> Result<RunOutcome, TrialError> {
    let store = setup.store.clone();
    let mut todo = Vec::new();
    let mut skipped = Vec::new();
    for target in targets {
        let done = store
            .trial(&target.plugin, &target.version, &setup.registry)
            .await?;
        if !options.retry && done.is_some_and(|t| t.rules == RULES) {
            skipped.push(format!("{}@{}", target.plugin, target.version));
        } else {
            todo.push(target);
        }
    }
    progress.started(todo.len(), skipped.len());
    let org = format!(
        "compat-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    );
    let sandboxed = setup.sandbox.is_some();
    let registry = setup.registry.clone();
    if todo.is_empty() {
        return Ok(RunOutcome {
            registry,
            org,
            sandboxed,
            trials: Vec::new(),
            skipped,
        });
    }
    let node = setup.node.clone();
    let jobs = options.jobs.max(1);
    // One organisation per job: a trial's plugin and the plugins installed for it are alone in theirs,
    // and all of them go after it.
    let orgs: Vec<String> = (1..=jobs).map(|i| format!("{org}-{i}")).collect();
    let runner = runner(setup, &orgs).await?;
    let free = std::sync::Mutex::new(orgs);
    // Installs share the package store's lock and a removal's collection takes it alone; an install
    // waits for its share without yielding, so the trials in flight of this one task take turns here
    // instead: installs together, a removal alone.
    let gate = tokio::sync::RwLock::new(());
    // One plugin's versions one after another: an organisation holds one version of a plugin.
    let mut by_plugin: Vec<Vec<Target>> = Vec::new();
    for target in todo {
        match by_plugin.iter_mut().find(|g| g[0].plugin == target.plugin) {
            Some(group) => group.push(target),
            None => by_plugin.push(vec![target]),
        }
    }
    let trials = futures::stream::iter(by_plugin)
        .map(|versions| {
            let (runner, registry, node, gate, free) = (&runner, &registry, &node, &gate, &free);
            async move {
                // At most `jobs` of these run at once: one organisation is always free.
                let org = free
                    .lock()
                    .expect("not poisoned")
                    .pop()
                    .expect("one per job");
                let tried = async {
                    let mut tried = Vec::new();
                    for target in versions {
                        let mut trial =
                            try_one(runner, gate, &org, registry, &target, options).await;
                        if options.npm_baseline {
                            trial.npm = Some(
                                baseline(node, registry, &target.package, &target.version).await,
                            );
                        }
                        let mut tx = runner.installer().store().begin().await?;
                        tx.put_trial(&trial, Some(&target.entry_id), ACTOR).await?;
                        tx.commit().await?;
                        progress.finished(&trial);
                        tried.push(trial);
                    }
                    Ok::<Vec<Trial>, TrialError>(tried)
                }
                .await;
                free.lock().expect("not poisoned").push(org);
                tried
            }
        })
        .buffer_unordered(jobs)
        .collect::<Vec<_>>()
        .await;
    runner.shut_down().await;
    Ok(RunOutcome {
        registry,
        org,
        sandboxed,
        trials: trials
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect(),
        skipped,
    })
}

/// The throwaway organisations with their agent, and a runner over them.
async fn runner(setup: Setup, orgs: &[String]) -> Result<Runner, TrialError> {
    let mut tx = setup.store.begin().await?;
    for org in orgs {
        tx.create_group(org, Plan::Enterprise, None, ACTOR).await?;
    }
    tx.commit().await?;
    let mut installer = Installer::open(setup.store, &setup.packages_dir, &setup.registry).await?;
    // A run installs every plugin of the catalogue in a few organisations: the hourly cap is for people.
    installer.installs_per_hour = i64::MAX;
    for org in orgs {
        installer.create_agent(org, AGENT, ACTOR).await?;
    }
    let config = RunnerConfig {
        node: setup.node,
        run_dir: setup.run_dir,
        policy: ExecutionPolicy::default(),
        sandbox: setup.sandbox,
        // What plugins ask for is granted (a plugin starts only with its grants), and no name is
        // resolved: a run reaches nothing but the npm registry, which only the installer asks.
        egress: EgressPolicy {
            resolve_names: false,
            ..EgressPolicy::default()
        },
    };
    Ok(Runner::new(installer, setup.keys, config))
}

/// One version under plughub: install, settings, grants, activation, start; then everything removed.
async fn try_one(
    runner: &Runner,
    gate: &tokio::sync::RwLock<()>,
    org: &str,
    registry: &str,
    target: &Target,
    options: &RunOptions,
) -> Trial {
    let started = Instant::now();
    let mut trial = Trial {
        plugin: target.plugin.clone(),
        package: target.package.clone(),
        version: target.version.clone(),
        core_major: target.core_major,
        registry: registry.to_string(),
        reached: Reached::Nothing,
        cause: None,
        message: None,
        duration_ms: 0,
        disk_bytes: 0,
        packages: 0,
        manifest: None,
        needs: Vec::new(),
        npm: None,
        rules: RULES.to_string(),
        tried_at: now(),
    };
    let installer = runner.installer();
    let install = InstallOptions {
        // The exact version is named: the core major it was chosen for is not checked again here.
        core: None,
        accept_risk_by: Some(ACTOR.into()),
        actor: ACTOR.into(),
        grant: false,
        // The catalogue's own name, as published: no resolution of short names.
        not_in_catalogue: true,
    };
    let spec = format!("{}@{}", target.package, target.version);
    let installed = {
        let _installing = gate.read().await;
        installer.install(org, &spec, &install).await
    };
    let stopped = match installed {
        Err(e) => Some((Stage::Install, e.to_string())),
        Ok(record) => {
            trial.reached = Reached::Installed;
            if let Some(folder) = &record.current.package {
                let dir = installer.packages().path(folder);
                (trial.disk_bytes, trial.packages) = measure(&dir);
            }
            let stopped = start(runner, org, &target.package, options, &mut trial).await;
            let _removing = gate.write().await;
            remove(installer, org).await;
            stopped
        }
    };
    if let Some((stage, message)) = stopped {
        let cause = classify(stage, &message);
        trial.needs = needs(cause, &message);
        trial.cause = Some(cause);
        trial.message = Some(first_lines(&message));
    }
    trial.duration_ms = started.elapsed().as_millis() as i64;
    trial
}

/// Settings, grants, activation and the start in a worker; where it stopped, if it did.
async fn start(
    runner: &Runner,
    org: &str,
    plugin: &str,
    options: &RunOptions,
    trial: &mut Trial,
) -> Option<(Stage, String)> {
    let installer = runner.installer();
    let prepared = async {
        // The plugin and the plugins installed for it (its organisation holds nothing else), each with
        // placeholders for what it requires and its grants.
        for record in installer.list(org).await? {
            if !record.is_present() {
                continue;
            }
            let name = &record.plugin;
            let view = installer.config_view(org, name).await?;
            let values = placeholders(&view.schema, &view.missing);
            if !values.is_empty() {
                installer
                    .configure(org, name, &values, runner.keys(), ACTOR)
                    .await?;
            }
            let mut grant = installer.permissions(org, name).await?.requested;
            // No program to execute: a catalogue package does not choose what runs on this machine.
            // One that needs a program stops at its launch with `process.spawn` named, and the report
            // lists it among the plugins that need a grant.
            grant.programs = None;
            // Asked for the network without saying where: a name that never resolves.
            if grant.network.as_ref().is_some_and(|d| d.is_empty()) {
                grant.network = Some([UNRESOLVABLE.to_string()].into());
            }
            installer.grant(org, name, false, &grant, ACTOR).await?;
        }
        installer
            .activate(
                org,
                plugin,
                AGENT,
                &ActivateOptions {
                    enabled_actions: None,
                    priority: 0,
                    actor: ACTOR.into(),
                },
            )
            .await?;
        Ok::<(), plughub_lifecycle::LifecycleError>(())
    };
    if let Err(e) = prepared.await {
        // Placeholders the plugin's own schema refuses, or a step of plughub's before the start.
        return Some((Stage::Init, e.to_string()));
    }
    match runner
        .launch(org, plugin, AGENT, Some(options.init_timeout))
        .await
    {
        Ok(launched) => {
            trial.reached = Reached::Inited;
            trial.manifest = serde_json::to_value(launched.plugin.manifest()).ok();
            launched.plugin.worker().kill();
            None
        }
        Err(e) => {
            let message = e.to_string();
            let stage = match &e {
                RunError::DidNotStart { message, .. } if loading(message) => Stage::Load,
                _ => Stage::Init,
            };
            if stage == Stage::Init {
                trial.reached = Reached::Loaded;
            }
            Some((stage, message))
        }
    }
}

/// Whether an engine's message is of the load (the worker ended or timed out before the plugin's
/// module was imported and its plugin object found), not of `init`.
fn loading(message: &str) -> bool {
    message.starts_with("the plugin worker ended")
        || message.starts_with("the plugin worker did not start")
        || message.starts_with("loading the plugin")
        || message.starts_with("the worker broke the protocol: expected ready")
}

/// Takes every instance of the trial's organisation away again (the plugin, then the plugins installed
/// for it once nothing depends on them), so their package folders are collected and the disk stays
/// bounded over a whole catalogue.
async fn remove(installer: &Installer, org: &str) {
    loop {
        let present: Vec<String> = match installer.list(org).await {
            Ok(list) => list
                .into_iter()
                .filter(|r| r.is_present())
                .map(|r| r.plugin)
                .collect(),
            Err(e) => {
                eprintln!("warning: cannot list what {org} holds: {e}");
                return;
            }
        };
        let mut removed = false;
        for plugin in &present {
            let _ = installer.deactivate(org, plugin, None, ACTOR).await;
            removed |= installer.uninstall(org, plugin, ACTOR).await.is_ok();
        }
        if !removed {
            if !present.is_empty() {
                eprintln!("warning: {} stay installed in {org}", present.join(", "));
            }
            return;
        }
    }
}

/// Bytes of the files under `dir` (each hard-linked file of the package store counted where it is
/// linked: what the folder would take alone) and the packages in its tree (`package.json` files under a
/// `node_modules`).
fn measure(dir: &Path) -> (i64, i64) {
    let mut bytes = 0i64;
    let mut packages = 0i64;
    let mut stack = vec![(dir.to_path_buf(), false)];
    while let Some((path, in_modules)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            if kind.is_dir() {
                stack.push((entry.path(), in_modules || name == "node_modules"));
            } else if kind.is_file() {
                bytes += entry.metadata().map(|m| m.len() as i64).unwrap_or(0);
                if in_modules && name == "package.json" && is_package_root(&path) {
                    packages += 1;
                }
            }
        }
    }
    (bytes, packages)
}

/// A folder right under `node_modules` (or `node_modules/@scope`): a package's own folder.
fn is_package_root(dir: &Path) -> bool {
    let parent = dir.parent();
    let parent_name = parent.and_then(|p| p.file_name()).and_then(|n| n.to_str());
    match parent_name {
        Some("node_modules") => true,
        Some(scope) if scope.starts_with('@') => parent
            .and_then(Path::parent)
            .and_then(|p| p.file_name())
            .is_some_and(|n| n == "node_modules"),
        _ => false,
    }
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_engine_says_before_init_is_of_the_load() {
        assert!(loading(
            "the plugin worker ended: exit status 1\n  Error: Cannot find module 'x'"
        ));
        assert!(loading("loading the plugin did not answer within 60 s"));
        assert!(!loading("Invalid plugin configuration"));
    }

    #[test]
    fn a_folder_is_measured_with_its_packages() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("package.json"), "{}").unwrap();
        for pkg in [
            "node_modules/a",
            "node_modules/@s/b",
            "node_modules/a/node_modules/c",
        ] {
            std::fs::create_dir_all(d.join(pkg)).unwrap();
            std::fs::write(d.join(pkg).join("package.json"), "{\"x\":1}").unwrap();
        }
        std::fs::create_dir_all(d.join("node_modules/a/lib")).unwrap();
        std::fs::write(d.join("node_modules/a/lib/package.json"), "{}").unwrap();
        let (bytes, packages) = measure(d);
        assert_eq!(packages, 3);
        assert_eq!(bytes, 2 + 3 * 7 + 2);
    }
}
