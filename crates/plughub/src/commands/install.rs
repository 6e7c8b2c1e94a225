//! `plughub install | uninstall | installed`, and the installer the lifecycle commands share.

use crate::cli::{ChangeArgs, InstallArgs, InstalledArgs, InstanceArgs, StoreArgs};
use crate::output::out;
use crate::{context, output};
use anyhow::{Context, Result, anyhow};
use indicatif::ProgressBar;
use plughub_domain::CoreMajor;
use plughub_lifecycle::{InstallOptions, Installer, Progress};
use std::io::IsTerminal;
use std::sync::Arc;

/// An installer that reaches npm (the given registry, else the user's npm configuration) and reports
/// its steps on stderr unless the output is for a script.
pub(crate) async fn installer(
    store_args: &StoreArgs,
    npm_registry: Option<&str>,
    json: bool,
) -> Result<Installer> {
    let store = context::open_store(store_args).await?;
    let registry = match npm_registry {
        Some(url) => url.to_string(),
        None => plughub_npm::npm_registry_url()?,
    };
    let mut installer =
        Installer::open(store, &context::packages_dir(store_args), &registry).await?;
    if !json {
        installer.set_progress(Arc::new(StepPrinter::new()));
    }
    Ok(installer)
}

/// An installer for commands that need no registry (collection only prunes what is on disk).
pub(crate) async fn local_installer(store_args: &StoreArgs) -> Result<Installer> {
    let store = context::open_store(store_args).await?;
    let registry = plughub_npm::npm_registry_url().unwrap_or_default();
    Ok(Installer::open(store, &context::packages_dir(store_args), &registry).await?)
}

pub(crate) fn parse_core(core: Option<&str>) -> Result<Option<CoreMajor>> {
    core.map(|c| CoreMajor::parse(c).ok_or_else(|| anyhow!("--core {c}: expected v0, v1 or v2")))
        .transpose()
}

/// Steps on stderr: a spinner on a terminal, one line a step otherwise (logs, CI).
struct StepPrinter {
    bar: Option<ProgressBar>,
}

impl StepPrinter {
    fn new() -> StepPrinter {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        StepPrinter { bar }
    }
}

impl Progress for StepPrinter {
    fn step(&self, plugin: &str, step: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(format!("{plugin}: {step}")),
            None => eprintln!("  {plugin}: {step}"),
        }
    }
}

impl Drop for StepPrinter {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The installer and options an install or update runs with: names resolved through the catalogue of
/// the same store, as `info` resolves them.
pub(crate) async fn for_change(
    store_args: &StoreArgs,
    change: &ChangeArgs,
) -> Result<(Installer, InstallOptions)> {
    let options = InstallOptions {
        core: parse_core(change.core.as_deref())?,
        accept_risk_by: change.accept_risk.clone(),
        actor: "cli".into(),
        grant: change.grant,
        not_in_catalogue: false,
    };
    let mut installer = installer(store_args, change.npm_registry.as_deref(), change.json).await?;
    let catalog = plughub_catalog::Catalog::open(installer.store().clone())
        .await
        .context("cannot load the catalogue")?;
    installer.set_catalogue(Arc::new(catalog));
    Ok((installer, options))
}

pub async fn install(store_args: &StoreArgs, args: InstallArgs) -> Result<()> {
    let (installer, mut options) = for_change(store_args, &args.change).await?;
    options.not_in_catalogue = args.not_in_catalogue;
    let source = crate::bundled::source(&args.plugin, &context::bundled_dir(store_args))?
        .map(|folder| folder.display().to_string())
        .unwrap_or_else(|| args.plugin.clone());
    let record = installer.install(&args.change.org, &source, &options).await;
    drop(installer);
    let record = record?;
    if args.change.json {
        return output::print_json(&record);
    }
    out!(
        "installed {}@{} for {} (risk {}/100{})",
        record.plugin,
        record.version(),
        args.change.org,
        record.current.risk_score.unwrap_or(0),
        record
            .current
            .risk_accepted_by
            .as_deref()
            .map(|o| format!(", accepted by {o}"))
            .unwrap_or_default()
    );
    let asked = &record.current.requested;
    if !asked.is_empty() {
        let how = if record.current.declared_permissions {
            "declared"
        } else {
            "inferred from its code"
        };
        out!("  asks for ({how}):");
        for line in asked.lines() {
            out!("    {line}");
        }
        let missing = record.ungranted();
        if missing.is_empty() {
            out!(
                "  granted by {}",
                record.granted_by.as_deref().unwrap_or("cli")
            );
        } else {
            out!(
                "  not granted: it runs once an org_owner grants it with `plughub grant {} --org {}`",
                record.plugin,
                args.change.org
            );
        }
    }
    Ok(())
}

pub async fn uninstall(store_args: &StoreArgs, args: InstanceArgs) -> Result<()> {
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

/// An installed plugin with the analysis of the version it runs.
#[derive(serde::Serialize)]
struct InstalledView {
    #[serde(flatten)]
    record: plughub_lifecycle::InstanceRecord,
    analysis: Option<plughub_analyzer::Report>,
}

pub async fn installed(store_args: &StoreArgs, args: InstalledArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let mut views = Vec::new();
    for record in installer.list(&args.org).await? {
        let analysis = installer.analysis(&args.org, &record.plugin).await?;
        views.push(InstalledView { record, analysis });
    }
    if args.json {
        return output::print_json(&views);
    }
    if views.is_empty() {
        out!(
            "{} has no plugin installed: `plughub install <plugin> --org {}`",
            args.org,
            args.org
        );
    }
    for InstalledView {
        record: r,
        analysis,
    } in views
    {
        out!(
            "{}@{}  {:?}  risk {}{}{}",
            r.plugin,
            r.version(),
            r.state,
            r.current.risk_score.unwrap_or(0),
            r.previous
                .as_ref()
                .map(|p| format!("  (rollback to {})", p.version))
                .unwrap_or_default(),
            r.error
                .as_ref()
                .map(|e| format!("  ({e})"))
                .unwrap_or_default()
        );
        let findings = analysis.map(|a| a.findings).unwrap_or_default();
        for f in findings.iter().take(3) {
            out!(
                "    {} {} {}:{}:{}  {}",
                f.severity.as_str(),
                f.rule.id(),
                f.file,
                f.line,
                f.column,
                f.message
            );
        }
        if findings.len() > 3 {
            out!(
                "    … {} more: `plughub audit {}@{}`",
                findings.len() - 3,
                r.plugin,
                r.version()
            );
        }
    }
    Ok(())
}
