//! `plughub install | uninstall | installed`.

use crate::cli::{
    ConfigShowArgs, ConfigureArgs, InstallArgs, InstalledArgs, StoreArgs, UninstallArgs,
};
use crate::output::out;
use crate::{context, output};
use anyhow::{Result, anyhow};
use plughub_domain::CoreMajor;
use plughub_lifecycle::{InstallOptions, Installer};

async fn installer(store_args: &StoreArgs, npm_registry: Option<&str>) -> Result<Installer> {
    let store = context::open_store(store_args).await?;
    let registry = match npm_registry {
        Some(url) => url.to_string(),
        None => plughub_npm::npm_registry_url()?,
    };
    Ok(Installer::open(store, &context::packages_dir(store_args), &registry).await?)
}

pub async fn install(store_args: &StoreArgs, args: InstallArgs) -> Result<()> {
    let core = match &args.core {
        Some(c) => {
            Some(CoreMajor::parse(c).ok_or_else(|| anyhow!("--core {c}: expected v0, v1 or v2"))?)
        }
        None => None,
    };
    let installer = installer(store_args, args.npm_registry.as_deref()).await?;
    if !args.json {
        eprintln!(
            "installing {} for {}: resolve, verify, analyse, dependencies (no install scripts)…",
            args.plugin, args.org
        );
    }
    let options = InstallOptions {
        core,
        accept_risk_by: args.accept_risk.clone(),
        actor: "cli".into(),
    };
    let record = installer.install(&args.org, &args.plugin, &options).await?;
    if args.json {
        return output::print_json(&record);
    }
    out!(
        "installed {}@{} for {} (risk {}/100{})",
        record.plugin,
        record.version,
        args.org,
        record.risk_score.unwrap_or(0),
        record
            .risk_accepted_by
            .as_deref()
            .map(|o| format!(", accepted by {o}"))
            .unwrap_or_default()
    );
    Ok(())
}

pub async fn uninstall(store_args: &StoreArgs, args: UninstallArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let removed = installer.uninstall(&args.org, &args.plugin, "cli").await?;
    if args.json {
        return output::print_json(
            &serde_json::json!({ "uninstalled": args.plugin, "collected": removed }),
        );
    }
    out!("uninstalled {} from {}", args.plugin, args.org);
    for folder in removed {
        out!("  removed package {folder} (no instance uses it)");
    }
    Ok(())
}

/// An installer for commands that need no registry (collection only prunes what is on disk).
async fn local_installer(store_args: &StoreArgs) -> Result<Installer> {
    let store = context::open_store(store_args).await?;
    let registry = plughub_npm::npm_registry_url().unwrap_or_default();
    Ok(Installer::open(store, &context::packages_dir(store_args), &registry).await?)
}

pub async fn configure(store_args: &StoreArgs, args: ConfigureArgs) -> Result<()> {
    let mut given = match &args.env_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
            plughub_lifecycle::parse_env_file(&text)?
        }
        None => Default::default(),
    };
    for pair in &args.settings {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("'{pair}': write settings as KEY=VALUE"))?;
        given.insert(k.trim().to_string(), v.to_string());
    }
    if given.is_empty() {
        return Err(anyhow!(
            "nothing to set: give KEY=VALUE pairs or --env-file FILE (see `plughub config {} --org {}`)",
            args.plugin,
            args.org
        ));
    }
    let installer = local_installer(store_args).await?;
    let keys = context::key_ring(store_args)?;
    let view = installer
        .configure(&args.org, &args.plugin, &given, &keys, "cli")
        .await?;
    if args.json {
        return output::print_json(&view);
    }
    out!(
        "configured {} for {}: {} setting(s) set",
        args.plugin,
        args.org,
        given.len()
    );
    Ok(())
}

pub async fn show_config(store_args: &StoreArgs, args: ConfigShowArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let view = installer.config_view(&args.org, &args.plugin).await?;
    if args.json {
        return output::print_json(&view);
    }
    for p in &view.schema.params {
        let value = if p.sensitive {
            if view.secrets_set.contains(&p.name) {
                "*** (set)".to_string()
            } else {
                String::new()
            }
        } else {
            view.values
                .get(&p.name)
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        let default = p
            .default
            .as_ref()
            .map(|d| format!(" (default {d})"))
            .unwrap_or_default();
        out!(
            "{}{} = {value}{default}",
            p.name,
            if view.missing.contains(&p.name) {
                " [required, missing]"
            } else {
                ""
            }
        );
    }
    Ok(())
}

pub async fn installed(store_args: &StoreArgs, args: InstalledArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let records = installer.list(&args.org).await?;
    if args.json {
        return output::print_json(&records);
    }
    if records.is_empty() {
        out!(
            "{} has no plugin installed: `plughub install <plugin> --org {}`",
            args.org,
            args.org
        );
    }
    for r in records {
        out!(
            "{}@{}  {:?}  risk {}{}",
            r.plugin,
            r.version,
            r.state,
            r.risk_score.unwrap_or(0),
            r.error.map(|e| format!("  ({e})")).unwrap_or_default()
        );
    }
    Ok(())
}
