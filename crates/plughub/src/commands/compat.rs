//! `plughub compat run|report|show`: the compatibility run of `plughub-trials` over the catalogue of
//! this store, its report (`--markdown` is what COMPATIBILITY.md holds), and one plugin's trials.

use crate::cli::{CompatReportArgs, CompatRunArgs, CompatShowArgs, StoreArgs};
use crate::context;
use crate::output::{self, out};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use plughub_catalog::Catalog;
use plughub_domain::trial::{Cause, Trial};
use plughub_trials::{RunOptions, RunProgress, Setup, report};
use std::time::Duration;

/// The command a report says made it.
const RUN_COMMAND: &str = "plughub compat run --all";

pub async fn run(store_args: &StoreArgs, args: CompatRunArgs) -> Result<()> {
    if args.names.is_empty() && !args.all {
        bail!("name the plugins to try, or --all for every plugin of the catalogue");
    }
    let catalog = context::open_catalog(store_args).await?;
    let names = (!args.all)
        .then(|| resolve(&catalog, &args.names))
        .transpose()?;
    let store = catalog.store().clone();
    let targets = plughub_trials::targets(&store, names.as_deref()).await?;
    if targets.is_empty() {
        bail!("no plugin to try: none of these has an npm package in the catalogue");
    }
    let registry = registry(args.npm_registry.as_deref())?;
    let node = context::node();
    let sandbox = match std::env::var("PLUGHUB_SANDBOX").as_deref() {
        Ok("off") => {
            eprintln!(
                "PLUGHUB_SANDBOX=off: the catalogue's plugins run without the OS sandbox, as you: only their http, https and fetch requests go through the egress proxy (which resolves no name); other sockets and child processes are not held"
            );
            None
        }
        _ => {
            let probe = node.clone();
            let possible = tokio::task::spawn_blocking(move || {
                plughub_sandbox::probe(&probe).sandbox_possible()
            })
            .await
            .unwrap_or(false);
            if possible {
                Some(plughub_engine::SandboxPolicy::default())
            } else {
                bail!(
                    "a compatibility run starts the code of every plugin it tries, and this machine cannot give them the OS sandbox (it needs root and namespaces; `plughub doctor` shows what is missing); run it where the sandbox works, or set PLUGHUB_SANDBOX=off to run them unsandboxed, as you, knowing that only their http, https and fetch requests are held"
                );
            }
        }
    };
    if !args.no_npm_baseline && !plughub_trials::baseline::offline_namespace() {
        eprintln!(
            "note: plain npm's packages are installed but not imported: `unshare --net` is not possible here (it needs root), and an import could reach the network"
        );
    }
    let setup = Setup {
        store,
        packages_dir: context::packages_dir(store_args),
        run_dir: context::run_dir(store_args),
        node,
        keys: context::key_ring(store_args)?,
        registry: registry.clone(),
        sandbox,
    };
    let options = RunOptions {
        jobs: args.jobs.max(1),
        npm_baseline: !args.no_npm_baseline,
        retry: args.retry,
        init_timeout: Duration::from_secs(args.timeout.max(1)),
    };
    if !args.json {
        eprintln!("trying on the npm registry {registry}");
    }
    let progress = Bar::new(!args.json);
    let outcome = tokio::select! {
        outcome = plughub_trials::run(setup, targets, &options, &progress) => outcome?,
        _ = tokio::signal::ctrl_c() => {
            progress.bar.finish_and_clear();
            eprintln!("interrupted: every trial that ended is stored; `plughub compat run` again goes on from there");
            std::process::exit(130);
        }
    };
    progress.bar.finish_and_clear();
    if args.json {
        return output::print_json(&outcome.trials);
    }
    let inited = outcome.trials.iter().filter(|t| t.runs()).count();
    out!(
        "tried {} versions on {} ({} inited under plughub{}); {} skipped, tried before under these rules (--retry tries them again)",
        outcome.trials.len(),
        outcome.registry,
        inited,
        if outcome.sandboxed {
            ", in the OS sandbox"
        } else {
            ", without the OS sandbox"
        },
        outcome.skipped.len()
    );
    out!("`plughub compat report` adds them up");
    Ok(())
}

pub async fn report(store_args: &StoreArgs, args: CompatReportArgs) -> Result<()> {
    let catalog = context::open_catalog(store_args).await?;
    let registry = registry(args.npm_registry.as_deref())?;
    let mut report = catalog.compatibility(Some(&registry)).await?;
    if report.trials.is_empty() {
        report = catalog.compatibility(None).await?;
        if !report.trials.is_empty() {
            eprintln!(
                "note: no trial on {registry}, the registry of your npm configuration: the report is over every registry's"
            );
        }
    }
    if report.trials.is_empty() && !args.json {
        bail!(
            "no plugin has been tried yet: `plughub compat run --all` tries every plugin of the catalogue"
        );
    }
    if args.json {
        output::print_json(&report)
    } else if args.markdown {
        out!("{}", report::markdown(&report, RUN_COMMAND).trim_end());
        Ok(())
    } else {
        for line in report::lines(&report) {
            out!("{line}");
        }
        Ok(())
    }
}

pub async fn show(store_args: &StoreArgs, args: CompatShowArgs) -> Result<()> {
    let catalog = context::open_catalog(store_args).await?;
    let name = resolve(&catalog, std::slice::from_ref(&args.name))?.remove(0);
    let trials = catalog.store().trials_of(&name).await?;
    if args.json {
        return output::print_json(&trials);
    }
    if trials.is_empty() {
        out!("{name} has not been tried: `plughub compat run {name}` tries it");
    }
    for t in &trials {
        out!("{}", headline(t));
        if let Some(message) = &t.message {
            for line in message.lines().take(6) {
                out!("    {line}");
            }
        }
        if let Some(m) = &t.manifest {
            let count = |k: &str| m[k].as_array().map_or(0, Vec::len);
            out!(
                "  manifest: {} actions, {} providers, {} evaluators, {} services, models: {}",
                count("actions"),
                count("providers"),
                count("evaluators"),
                count("services"),
                m["models"]
                    .as_array()
                    .map(|a| a
                        .iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            );
        }
        if !t.needs.is_empty() {
            out!("  needs a grant: {}", t.needs.join(", "));
        }
        if let Some(b) = &t.npm {
            out!(
                "  plain npm: {} in {:.1} s{}",
                b.reached.as_str(),
                b.duration_ms as f64 / 1e3,
                b.message
                    .as_deref()
                    .and_then(|m| m.lines().next())
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            );
        }
        out!(
            "  on {} at {} under rules {}; {:.1} MB, {} packages",
            t.registry,
            t.tried_at,
            t.rules,
            t.disk_bytes as f64 / 1e6,
            t.packages
        );
    }
    Ok(())
}

fn headline(t: &Trial) -> String {
    format!(
        "{}@{}{}: {}{} in {:.1} s",
        t.plugin,
        t.version,
        t.core_major
            .map(|m| format!(" (core v{m})"))
            .unwrap_or_default(),
        t.reached.as_str(),
        t.cause
            .map(|c| format!(
                ", stopped: {} — {} ({:?})",
                c.as_str(),
                c.label(),
                c.fault()
            ))
            .unwrap_or_default(),
        t.duration_ms as f64 / 1e3
    )
}

/// The catalogue names of `names` (`openai`, `plugin-openai`, `@elizaos/plugin-openai`).
fn resolve(catalog: &Catalog, names: &[String]) -> Result<Vec<String>> {
    names
        .iter()
        .map(|name| {
            catalog.resolve_name(name).with_context(|| {
                let suggestions = catalog.index().suggest(name, 5);
                if suggestions.is_empty() {
                    format!("{name} is not in the catalogue: `plughub search {name}` finds plugins")
                } else {
                    format!(
                        "{name} is not in the catalogue; did you mean {}?",
                        suggestions.join(", ")
                    )
                }
            })
        })
        .collect()
}

fn registry(given: Option<&str>) -> Result<String> {
    Ok(match given {
        Some(url) => plughub_npm::with_trailing_slash(url),
        None => plughub_npm::npm_registry_url()?,
    })
}

/// One line per version finished above a bar of the run; hidden for scripts.
struct Bar {
    bar: ProgressBar,
    /// Lines for people: on a terminal above the bar, elsewhere (logs, CI) plainly on stderr.
    visible: bool,
}

impl Bar {
    fn new(visible: bool) -> Bar {
        let bar = if visible {
            ProgressBar::new(0)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} versions tried, {elapsed} {msg}")
                .expect("fixed template"),
        );
        Bar { bar, visible }
    }

    fn say(&self, line: String) {
        if !self.visible {
        } else if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }
}

impl RunProgress for Bar {
    fn started(&self, total: usize, skipped: usize) {
        self.bar.set_length(total as u64);
        if skipped > 0 {
            self.say(format!(
                "{skipped} versions tried before under these rules are skipped (--retry tries them again)"
            ));
        }
    }

    fn finished(&self, trial: &Trial) {
        let npm = trial
            .npm
            .as_ref()
            .map(|b| format!(", plain npm {}", b.reached.as_str()))
            .unwrap_or_default();
        self.say(format!(
            "{}{}{} ({:.1} s)",
            headline_short(trial),
            trial
                .cause
                .map(|c| format!(": {}", Cause::as_str(c)))
                .unwrap_or_default(),
            npm,
            trial.duration_ms as f64 / 1e3
        ));
        self.bar.inc(1);
    }
}

fn headline_short(t: &Trial) -> String {
    format!("{}@{} {}", t.plugin, t.version, t.reached.as_str())
}
