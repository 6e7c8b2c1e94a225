//! `plughub catalog sync|status|analyze|build-starter`.

use crate::cli::{AnalyzeArgs, BuildStarterArgs, StoreArgs, SyncArgs};
use crate::{context, output};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use plughub_catalog::package::Outcome;
use plughub_catalog::sources::npm::NpmClient;
use plughub_catalog::sources::registry;
use plughub_catalog::starter;
use plughub_catalog::{AnalyzeOptions, AnalyzeProgress, SyncProgress};

pub async fn sync(store_args: &StoreArgs, args: SyncArgs) -> Result<()> {
    let catalog = context::open_catalog(store_args).await?;
    let mut options = context::sync_options(&args.sources)?;
    if args.force {
        options.min_interval = None;
    }
    let progress = BarProgress::new(!args.json);
    let report = catalog.sync(&options, &progress).await?;
    progress.bar.finish_and_clear();
    if args.json {
        output::print_json(&report)?;
    } else {
        output::print_sync_report(&report);
    }
    if report.status == "failed" {
        bail!("no source could be read; the catalogue is unchanged");
    }
    Ok(())
}

pub async fn status(store_args: &StoreArgs, json: bool) -> Result<()> {
    let catalog = context::open_catalog(store_args).await?;
    let status = catalog.status().await?;
    if json {
        output::print_json(&status)
    } else {
        output::print_status(&status);
        Ok(())
    }
}

pub async fn analyze(store_args: &StoreArgs, args: AnalyzeArgs) -> Result<()> {
    if args.names.is_empty() && !args.all {
        bail!("name the plugins to analyse, or --all for every plugin of the catalogue");
    }
    let catalog = context::open_catalog(store_args).await?;
    let options = AnalyzeOptions {
        names: (!args.all).then_some(args.names),
        npm_registry: args.npm_registry,
        concurrency: args.concurrency,
        force: args.force,
    };
    let progress = AnalyzeBar::new(!args.json);
    let report = catalog.analyze(&options, &progress).await?;
    progress.bar.finish_and_clear();
    if args.json {
        output::print_json(&report)
    } else {
        output::print_analyze_report(&report);
        Ok(())
    }
}

pub async fn build_starter(args: BuildStarterArgs) -> Result<()> {
    let names = std::fs::read_to_string(&args.names)
        .with_context(|| format!("cannot read {}", args.names.display()))?;
    let names = starter::parse_names(&names);
    let mut registries = Vec::new();
    for path in &args.registries {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        registries.push(registry::parse_generated(
            &bytes,
            &path.display().to_string(),
        )?);
    }
    let npm_registry = match args.npm_registry {
        Some(url) => url,
        None => plughub_catalog::sources::npm_config::npm_registry_url()?,
    };
    let client = NpmClient::new(&npm_registry);
    let (mut catalog, notes) = starter::build(&client, registries, names).await?;
    // The facts of each package with npm data; the starter being replaced (or the one this binary
    // carries) is the cache, so a rebuild downloads only versions that changed.
    let previous = match std::fs::read(&args.out) {
        Ok(bytes) => starter::from_gzip(&bytes)?,
        Err(_) => starter::embedded()?,
    };
    let bar = ProgressBar::new(catalog.entries.iter().filter(|e| e.npm.is_some()).count() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} packages analysed {msg}")
            .expect("fixed template"),
    );
    let facts = starter::add_package_facts(&client, &mut catalog, &previous, 4, &|name| {
        bar.set_message(name.to_string());
        bar.inc(1);
    })
    .await;
    bar.finish_and_clear();
    let bytes = starter::to_gzip(&catalog);
    // Write beside and rename, so an interrupted build never leaves a half-written starter.
    let tmp = args.out.with_extension("tmp");
    std::fs::write(&tmp, &bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.out)?;
    let with = |f: &dyn Fn(&starter::StarterEntry) -> bool| {
        catalog.entries.iter().filter(|e| f(e)).count()
    };
    output::out!(
        "starter catalogue: {} plugins ({} with npm data, {} with a README, {} with a description), {} bytes compressed, written to {}",
        catalog.entries.len(),
        with(&|e| e.npm.is_some()),
        with(&|e| e.readme.is_some()),
        with(&|e| {
            e.npm.as_ref().is_some_and(|n| n.description.is_some())
                || e.registry.values().any(|r| r.description.is_some())
        }),
        bytes.len(),
        args.out.display()
    );
    output::out!(
        "  package facts: {} plugins ({} analysed now, {} unchanged since the last build)",
        with(&|e| e.package.is_some()),
        facts.analysed,
        facts.reused
    );
    for failure in &facts.failed {
        output::out!("    not analysed: {failure}");
    }
    for r in &catalog.registries {
        output::out!(
            "  {}: {} entries, snapshot of {}",
            r.source.as_str(),
            r.entries,
            r.last_updated_at.as_deref().unwrap_or("an unknown date")
        );
    }
    if !notes.not_on_npm.is_empty() {
        output::out!(
            "  {} names npm does not have (registry data only):",
            notes.not_on_npm.len()
        );
        for name in &notes.not_on_npm {
            output::out!("    {name}");
        }
    }
    Ok(())
}

/// A progress bar on stderr for the npm stage; hidden when output is for scripts or not a terminal.
struct BarProgress {
    bar: ProgressBar,
}

impl BarProgress {
    fn new(visible: bool) -> BarProgress {
        let bar = if visible {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        };
        BarProgress { bar }
    }
}

impl SyncProgress for BarProgress {
    fn stage(&self, message: &str) {
        self.bar.set_message(message.to_string());
        self.bar.tick();
    }
    fn packages_started(&self, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} npm packages {msg}")
                .expect("fixed template"),
        );
        self.bar.set_message("");
    }
    fn package_done(&self, _name: &str) {
        self.bar.inc(1);
    }
    fn packages_finished(&self) {
        self.bar.set_style(ProgressStyle::default_spinner());
    }
}

/// A bar over the plugins analysed, on stderr; hidden for scripts or when stderr is not a terminal.
struct AnalyzeBar {
    bar: ProgressBar,
}

impl AnalyzeBar {
    fn new(visible: bool) -> AnalyzeBar {
        let bar = if visible {
            ProgressBar::new(0)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} packages {msg}")
                .expect("fixed template"),
        );
        AnalyzeBar { bar }
    }
}

impl AnalyzeProgress for AnalyzeBar {
    fn started(&self, total: u64) {
        self.bar.set_length(total);
    }

    fn done(&self, name: &str, outcome: &Outcome) {
        let what = match outcome {
            Outcome::Analysed(f) => format!("{name}@{} analysed", f.version),
            Outcome::Unchanged(f) => format!("{name}@{} unchanged", f.version),
            Outcome::NotOnNpm => format!("{name}: not on npm"),
            Outcome::Failed { .. } => format!("{name}: failed"),
        };
        self.bar.set_message(what);
        self.bar.inc(1);
    }
}
