//! `plughub dev`: the plugin built, installed in the development store's organisation `dev` through the
//! ordinary install path, configured from plughub.dev.json, granted and activated for the agent `dev`,
//! served by a local plughub with its playground; then rebuilt and reloaded on every change of src/.
//!
//! Each load installs the packed package (what `npm pack` would publish, so node_modules and sources
//! stay out) under a development version, `VERSION-dev.MILLIS`: the lifecycle's update then really
//! replaces the plugin (an update to the same version changes nothing), keeping its settings and grants.

use crate::cli::{DevWatchArgs, StoreArgs};
use crate::context;
use crate::output::{self, out};
use anyhow::{Context, Result, anyhow, bail};
use plughub_domain::Role;
use plughub_lifecycle::{ActivateOptions, InstallOptions, Installer};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const DEV_ORG: &str = "dev";
pub const DEV_AGENT: &str = "dev";
const DEV_EMAIL: &str = "dev@plughub.localhost";
/// How long src/ must be quiet after a change before the rebuild starts (editors save in bursts).
const DEBOUNCE: Duration = Duration::from_millis(300);

/// The dev person's sign-in, made once and kept (owner-only) in the development store.
#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct Login {
    email: String,
    password: String,
    token: String,
}

pub async fn run(store: &StoreArgs, args: DevWatchArgs) -> Result<()> {
    let dir = std::path::absolute(&args.dir.dir)?;
    let name = super::package_name(&dir)?;
    let store_args = super::dev_store(store);
    let data_dir = store_args
        .data_dir
        .clone()
        .expect("the dev store is a folder");
    std::fs::create_dir_all(&data_dir)?;
    let work = tempfile::tempdir()?;
    let say = |event: Value, text: String| {
        if args.json {
            let _ = output::print_json_line(&event);
        } else {
            out!("{text}");
        }
    };

    build(&dir)?;
    let catalog = Arc::new(context::open_catalog(&store_args).await?);
    let login = ensure_org_and_login(&catalog, &store_args).await?;
    let state = dev_state(&store_args, catalog).await?;
    let runner = state
        .lifecycle
        .as_ref()
        .map(|l| l.runner.clone())
        .expect("the dev server runs plugins");
    let installer = runner.installer();
    if !installer
        .agents(DEV_ORG)
        .await?
        .iter()
        .any(|a| a.name == DEV_AGENT)
    {
        installer.create_agent(DEV_ORG, DEV_AGENT, "dev").await?;
    }
    let keys = context::key_ring(&store_args)?;
    let version = load(installer, &keys, &dir, &name, work.path(), 0).await?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{} (another `plughub dev`? give --port 0 for any free port)",
                args.port
            )
        })?;
    let address = listener.local_addr()?;
    let base = format!("http://{address}");
    let playground = format!(
        "{base}/plugins/playground?org={DEV_ORG}&plugin={}",
        percent(&name)
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(plughub_server::serve(
        listener,
        state,
        async move {
            let _ = stopped.await;
        },
        std::time::Duration::from_secs(5),
    ));
    say(
        json!({ "event": "ready", "plugin": name, "version": version, "url": base,
                "playground": playground, "org": DEV_ORG, "agent": DEV_AGENT,
                "email": login.email, "password": login.password, "token": login.token,
                "data_dir": data_dir }),
        format!(
            "plughub dev: {name}@{version} ready at {base}\n  playground: {playground}\n  sign in as {} with the password {}\n  API token: {}\n  (org {DEV_ORG}, agent {DEV_AGENT}; the store is {})\nwatching src/ for changes; Ctrl-C stops",
            login.email,
            login.password,
            login.token,
            data_dir.display()
        ),
    );

    let (tx, mut changes) = tokio::sync::mpsc::unbounded_channel::<()>();
    let root = dir.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // What the build and npm write (dist/, node_modules/, packed tarballs) is not a change of the
        // sources: reacting to it would reload forever when the whole folder is watched.
        let generated = |p: &std::path::PathBuf| {
            let p = p.strip_prefix(&root).unwrap_or(p);
            p.components().any(|c| {
                matches!(
                    c.as_os_str().to_str(),
                    Some("dist" | "node_modules" | ".git")
                )
            }) || p.extension().is_some_and(|e| e == "tgz")
        };
        if let Ok(event) = event
            && !matches!(event.kind, notify::EventKind::Access(_))
            && !event.paths.iter().all(generated)
        {
            let _ = tx.send(());
        }
    })?;
    let watched = if dir.join("src").is_dir() {
        dir.join("src")
    } else {
        dir.clone()
    };
    use notify::Watcher;
    watcher.watch(&watched, notify::RecursiveMode::Recursive)?;
    let mut round = 0u64;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            got = changes.recv() => {
                if got.is_none() { break; }
                // Quiet for DEBOUNCE first: one rebuild for a burst of saves.
                while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, changes.recv()).await {}
                round += 1;
                let started = Instant::now();
                let result = match build(&dir) {
                    Ok(()) => load(installer, &keys, &dir, &name, work.path(), round).await,
                    Err(e) => Err(e),
                };
                // What the build and the update themselves touched is not a new change.
                while changes.try_recv().is_ok() {}
                let ms = started.elapsed().as_millis();
                match result {
                    Ok(version) => say(
                        json!({ "event": "reloaded", "plugin": name, "version": version, "ms": ms }),
                        format!("reloaded {name}@{version} in {ms} ms"),
                    ),
                    Err(e) => say(
                        json!({ "event": "reload_failed", "plugin": name, "error": format!("{e:#}") }),
                        format!("reload failed (the previous build keeps running): {e:#}"),
                    ),
                }
            }
        }
    }
    drop(watcher);
    let _ = stop.send(());
    let _ = server.await;
    runner.shut_down().await;
    say(json!({ "event": "stopped" }), "stopped".into());
    Ok(())
}

/// The server's state as `plughub serve` makes it, with the plugin's workers in the OS sandbox where
/// this machine can make one (as root), else plain processes, said once: an author's laptop without root
/// still gets a working `plughub dev`.
async fn dev_state(
    store_args: &StoreArgs,
    catalog: Arc<plughub_catalog::Catalog>,
) -> Result<plughub_server::AppState> {
    let sandbox = super::sandbox_here(true).await?;
    let mut installer = super::super::install::local_installer(store_args).await?;
    super::for_development(&mut installer);
    installer.set_catalogue(catalog.clone());
    let config = plughub_runner::RunnerConfig {
        node: context::node(),
        run_dir: context::run_dir(store_args),
        policy: Default::default(),
        sandbox,
        egress: plughub_engine::EgressPolicy::default(),
    };
    let runner = plughub_runner::Runner::new(installer, context::key_ring(store_args)?, config);
    let accounts = plughub_accounts::Accounts::new(catalog.store().clone());
    Ok(plughub_server::AppState::new(
        catalog,
        accounts,
        Some(plughub_server::Lifecycle { runner }),
    ))
}

/// `npm run build` when the package has a build script.
fn build(dir: &Path) -> Result<()> {
    let manifest = read_manifest(dir)?;
    if manifest["scripts"]["build"].is_null() {
        return Ok(());
    }
    let output = std::process::Command::new(plughub_sdk::pack::npm())
        .args(["run", "build"])
        .current_dir(dir)
        .output()
        .context("cannot run npm (install Node.js and npm)")?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stdout).to_string();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!("`npm run build` failed:\n{}", tail.join("\n"));
    }
    Ok(())
}

fn read_manifest(dir: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(dir.join("package.json"))
        .with_context(|| format!("no package.json in {}", dir.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// Packs the package, gives it a development version, and installs it (or updates the installed one to
/// it), configured from plughub.dev.json, granted and active for the dev agent. Returns the version.
async fn load(
    installer: &Installer,
    keys: &plughub_secrets::KeyRing,
    dir: &Path,
    name: &str,
    work: &Path,
    round: u64,
) -> Result<String> {
    let packs = work.join(format!("pack-{round}"));
    std::fs::create_dir_all(&packs)?;
    let packed = plughub_sdk::pack::pack(dir, &packs)?;
    let folder = work.join(format!("load-{round}"));
    plughub_install::extract_tarball(
        &packed.bytes,
        &folder,
        &plughub_install::ExtractLimits::default(),
    )?;
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let base = packed.version.split(['-', '+']).next().unwrap_or("0.0.0");
    let version = format!("{base}-dev.{millis}");
    let mut manifest = read_manifest(&folder)?;
    manifest["version"] = json!(version);
    std::fs::write(
        folder.join("package.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    let options = InstallOptions {
        core: None,
        // The author's own plugin: whatever its risk score, it loads here (validate shows the findings).
        accept_risk_by: Some("dev".into()),
        actor: "dev".into(),
        grant: true,
        not_in_catalogue: true,
    };
    let source = folder.display().to_string();
    let installed = installer
        .list(DEV_ORG)
        .await?
        .into_iter()
        .any(|r| r.plugin == name);
    if installed {
        installer
            .update(DEV_ORG, name, Some(&source), &options)
            .await?;
    } else {
        installer.install(DEV_ORG, &source, &options).await?;
    }
    let settings = dev_settings(dir)?;
    if !settings.is_empty() {
        installer
            .configure(DEV_ORG, name, &settings, keys, "dev")
            .await?;
    }
    installer
        .grant(DEV_ORG, name, true, &Default::default(), "dev")
        .await?;
    let active = installer
        .agents(DEV_ORG)
        .await?
        .into_iter()
        .any(|a| a.name == DEV_AGENT && a.plugins.iter().any(|p| p.plugin == name));
    if !active {
        let options = ActivateOptions {
            enabled_actions: None,
            priority: 0,
            actor: "dev".into(),
        };
        installer
            .activate(DEV_ORG, name, DEV_AGENT, &options)
            .await?;
    }
    let _ = std::fs::remove_dir_all(&packs);
    Ok(version)
}

/// plughub.dev.json's settings, as the strings `configure` takes.
fn dev_settings(dir: &Path) -> Result<BTreeMap<String, String>> {
    let path = dir.join("plughub.dev.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(BTreeMap::new());
    };
    let harness: Value =
        serde_json::from_str(&text).map_err(|e| anyhow!("{} is not JSON: {e}", path.display()))?;
    Ok(harness["settings"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect())
}

/// The organisation `dev` and its owner, the dev person, with an API token: made on the first start and
/// kept in `dev-login.json` so that later starts show the same sign-in.
async fn ensure_org_and_login(
    catalog: &plughub_catalog::Catalog,
    store_args: &StoreArgs,
) -> Result<Login> {
    let store = catalog.store().clone();
    if store.group_by_name(DEV_ORG).await?.is_none() {
        let mut tx = store.begin().await?;
        tx.create_group(DEV_ORG, super::DEV_PLAN, None, "dev")
            .await?;
        tx.commit().await?;
    }
    let path = store_args
        .data_dir
        .clone()
        .expect("the dev store is a folder")
        .join("dev-login.json");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(login) = serde_json::from_str::<Login>(&text)
    {
        return Ok(login);
    }
    let accounts = plughub_accounts::Accounts::new(store);
    let password = match accounts
        .create_person_with_password(DEV_EMAIL, "Plugin developer", None, "dev")
        .await
    {
        Ok(created) => created.made_password.unwrap_or_default(),
        Err(e) => bail!(
            "cannot make the dev person ({e}); remove {} to start the development store afresh",
            path.parent().unwrap_or(&path).display()
        ),
    };
    accounts
        .set_role(DEV_EMAIL, DEV_ORG, Role::OrgOwner, "dev")
        .await?;
    let (_, token) = accounts
        .create_token(DEV_EMAIL, "plughub dev", 365, "dev")
        .await?;
    let login = Login {
        email: DEV_EMAIL.into(),
        password,
        token,
    };
    write_private(&path, &serde_json::to_vec_pretty(&login)?)?;
    Ok(login)
}

fn write_private(path: &PathBuf, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    Ok(())
}

/// A package name in a query string (`@` and `/` encoded).
fn percent(name: &str) -> String {
    name.replace('@', "%40").replace('/', "%2F")
}
