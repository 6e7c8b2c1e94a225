//! Opening the store and the catalogue a command works on.

use crate::cli::{EgressMapArgs, SourceArgs, StoreArgs};
use anyhow::{Context, Result};
use plughub_catalog::{Catalog, SyncOptions};
use plughub_store::{Location, Store};
use std::path::PathBuf;

/// The data directory when none is given (see `find_default_data_dir`).
fn default_data_dir() -> PathBuf {
    // Decided once: `plughub serve` started as root gives up root after it has read it.
    static DEFAULT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DEFAULT.get_or_init(find_default_data_dir).clone()
}

/// `/var/lib/plughub` for root (a service's place, which the account `plughub serve` becomes can
/// reach: root's own home is closed to others), else `$XDG_DATA_HOME/plughub` or
/// `~/.local/share/plughub`.
fn find_default_data_dir() -> PathBuf {
    if plughub_sandbox::privileges::is_root() {
        return PathBuf::from("/var/lib/plughub");
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("plughub");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/plughub"),
        None => PathBuf::from("plughub-data"),
    }
}

/// The data directory, absolute: workers and pnpm run in other folders, so a relative `--data-dir` must
/// not be read from theirs.
pub fn data_dir(args: &StoreArgs) -> PathBuf {
    let dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    std::path::absolute(&dir).unwrap_or(dir)
}

/// Where installed packages live: `packages/` in the data directory (also when the store is PostgreSQL:
/// packages are files on each node).
pub fn packages_dir(args: &StoreArgs) -> PathBuf {
    data_dir(args).join("packages")
}

/// Where plugins carried in the binary are written out to be installed: `bundled/` in the data directory.
pub fn bundled_dir(args: &StoreArgs) -> PathBuf {
    data_dir(args).join("bundled")
}

/// Where plugin workers' host script and sockets live: `run/` in the data directory, owner-only.
pub fn run_dir(args: &StoreArgs) -> PathBuf {
    data_dir(args).join("run")
}

/// The Node.js that runs plugin workers: `PLUGHUB_NODE`, else `node` on the PATH.
pub fn node() -> PathBuf {
    std::env::var_os("PLUGHUB_NODE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("node"))
}

/// The sandbox plugin workers start in: on unless `PLUGHUB_SANDBOX=off`, which an operator sets knowingly
/// (plughub then says so on every run).
pub fn sandbox() -> Option<plughub_engine::SandboxPolicy> {
    match std::env::var("PLUGHUB_SANDBOX").as_deref() {
        Ok("off") => {
            eprintln!(
                "warning: PLUGHUB_SANDBOX=off: plugins run as plain processes, with no OS sandbox"
            );
            None
        }
        _ => Some(plughub_engine::SandboxPolicy::default()),
    }
}

/// The egress proxy's figures for the plugins this command runs: the defaults, and the operator's
/// domains mapped to stubs on loopback (`--egress-map`), said on stderr since nothing reaches the real
/// API for them.
pub fn egress(args: &EgressMapArgs) -> Result<plughub_engine::EgressPolicy> {
    let mapped_ca = match &args.egress_map_ca {
        Some(path) => {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("--egress-map-ca {}: cannot read it", path.display()))?;
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                anyhow::bail!(
                    "--egress-map-ca {}: not a PEM certificate (-----BEGIN CERTIFICATE-----); give the certificate authority that signed the stubs' certificates",
                    path.display()
                );
            }
            if args.egress_map.is_empty() {
                anyhow::bail!(
                    "--egress-map-ca is trusted for mapped domains only: give --egress-map DOMAIN=HOST:PORT too"
                );
            }
            Some(pem)
        }
        None => None,
    };
    for mapping in &args.egress_map {
        eprintln!(
            "note: --egress-map: plugins granted {} reach {} on this machine, not the internet",
            mapping.domain, mapping.to
        );
    }
    Ok(plughub_engine::EgressPolicy {
        mapped: args.egress_map.clone(),
        mapped_ca,
        ..plughub_engine::EgressPolicy::default()
    })
}

/// The key ring for secrets at rest: `PLUGHUB_SECRET_KEY`, else `secret-keys.json` in the data directory,
/// created owner-only on first use.
pub fn key_ring(args: &StoreArgs) -> Result<plughub_secrets::KeyRing> {
    let path = data_dir(args).join("secret-keys.json");
    Ok(plughub_secrets::KeyRing::load_or_create(&path)?)
}

pub fn location(args: &StoreArgs) -> Location {
    match &args.database_url {
        Some(url) if !url.trim().is_empty() => Location::Url(url.trim().to_string()),
        _ => Location::DataDir(data_dir(args)),
    }
}

pub async fn open_store(args: &StoreArgs) -> Result<Store> {
    Ok(Store::open(&location(args)).await?)
}

pub async fn open_catalog(args: &StoreArgs) -> Result<Catalog> {
    let store = open_store(args).await?;
    Catalog::open(store)
        .await
        .context("cannot load the catalogue")
}

/// Sync options from the command line over the live defaults.
pub fn sync_options(sources: &SourceArgs) -> Result<SyncOptions> {
    let npm_registry = if sources.no_npm {
        None
    } else {
        Some(match &sources.npm_registry {
            Some(url) => url.clone(),
            None => plughub_catalog::sources::npm_config::npm_registry_url()?,
        })
    };
    let registries = if sources.no_registry {
        Vec::new()
    } else if sources.registries.is_empty() {
        vec![plughub_catalog::sources::DEFAULT_REGISTRY_URL.to_string()]
    } else {
        sources.registries.clone()
    };
    Ok(SyncOptions {
        registries,
        registry_fallback: true,
        npm_discover: npm_registry.is_some(),
        npm_seeds: if npm_registry.is_some() {
            plughub_catalog::starter::known_plugin_names()
        } else {
            Vec::new()
        },
        npm_registry,
        npm_concurrency: sources.concurrency.max(1),
        min_interval: Some(std::time::Duration::from_secs(300)),
        actor: "catalog-sync".into(),
    })
}
