//! `plughub catalog sync|status|build-starter`.

use crate::cli::{BuildStarterArgs, StoreArgs, SyncArgs};
use crate::{context, output};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use plughub_catalog::SyncProgress;
use plughub_catalog::sources::npm::NpmClient;
use plughub_catalog::starter;

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

pub async fn build_starter(args: BuildStarterArgs) -> Result<()> {
    let names = std::fs::read_to_string(&args.names)
        .with_context(|| format!("cannot read {}", args.names.display()))?;
    let names = starter::parse_names(&names);
    let registry = match args.npm_registry {
        Some(url) => url,
        None => plughub_catalog::sources::npm_config::npm_registry_url()?,
    };
    let client = NpmClient::new(&registry);
    let (catalog, skipped) = starter::build(&client, names).await?;
    let text = serde_json::to_string_pretty(&catalog)? + "\n";
    // Write beside and rename, so an interrupted build never leaves a half-written starter.
    let tmp = args.out.with_extension("json.tmp");
    std::fs::write(&tmp, &text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.out)?;
    crate::output::out!(
        "starter catalogue: {} plugins, {} bytes, written to {}",
        catalog.entries.len(),
        text.len(),
        args.out.display()
    );
    for s in skipped {
        crate::output::out!("  skipped {s}");
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
