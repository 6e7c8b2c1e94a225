//! The facts of catalogue plugins' packages: for a plugin's latest npm version, its tarball is fetched
//! through plughub-install (the integrity checked, the same client and extraction limits as installs),
//! extracted to a temporary folder, analysed, and kept as the plugin's `package` knowledge (JSON of
//! `PackageFacts`). A version already analysed by this revision of the analysis is not fetched again.
//!
//! Catalogue-level only: it reads the catalogue's public entries and writes their knowledge, never an
//! organisation's records. Search is public, and nothing an organisation did may show in it.

use crate::sources::npm::NpmClient;
use crate::view::PluginView;
use crate::{Catalog, CatalogError, Result};
use futures::StreamExt;
use plughub_domain::{CatalogEntry, EventType, NewEvent, PackageFacts};
use plughub_install::ExtractLimits;
use plughub_npm::DocumentOutcome;
use plughub_store::{Store, StoreError, now_rfc3339};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

/// The kind of knowledge the facts are kept as.
pub const KNOWLEDGE_KIND: &str = "package";

/// What to analyse, and how.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Catalogue names to analyse; `None`: every plugin of the catalogue.
    pub names: Option<Vec<String>>,
    /// The npm registry; `None`: the one of the npm configuration.
    pub npm_registry: Option<String>,
    /// Packages fetched and analysed at once.
    pub concurrency: usize,
    /// Analyse again even versions already analysed.
    pub force: bool,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            names: None,
            npm_registry: None,
            concurrency: 4,
            force: false,
        }
    }
}

/// What became of one plugin.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Fetched and analysed now.
    Analysed(Box<PackageFacts>),
    /// The latest version is the one already analysed.
    Unchanged(Box<PackageFacts>),
    /// The registry has no such package (404), or refuses the name for good (403).
    NotOnNpm,
    Failed {
        reason: String,
        connect: bool,
    },
}

/// Told as the analysis goes, for a progress bar.
pub trait AnalyzeProgress: Sync {
    /// How many plugins will be looked at.
    fn started(&self, _total: u64) {}
    fn done(&self, _name: &str, _outcome: &Outcome) {}
}

pub struct NoAnalyzeProgress;
impl AnalyzeProgress for NoAnalyzeProgress {}

/// What one `analyze` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AnalyzeReport {
    pub registry: String,
    pub analysed: Vec<Analysed>,
    /// Their latest version was analysed before.
    pub unchanged: Vec<String>,
    pub not_on_npm: Vec<String>,
    pub failed: Vec<Failed>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Analysed {
    pub name: String,
    pub version: String,
    pub components: usize,
    pub kinds: Vec<plughub_domain::PluginKind>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failed {
    pub name: String,
    pub reason: String,
}

/// The facts of `name`'s latest version on npm (its `latest` tag, as an install without a version takes
/// it). `known`: facts kept before, returned as `Unchanged` when they are of that version and revision.
pub async fn facts_for_latest(
    client: &NpmClient,
    name: &str,
    known: Option<&PackageFacts>,
    force: bool,
    limits: &ExtractLimits,
) -> Outcome {
    let doc = match client.document(name).await {
        DocumentOutcome::Found(doc) => doc,
        DocumentOutcome::Missing => return Outcome::NotOnNpm,
        // A refusal for good (a 403 for a name npm does not allow, with capitals): not there either.
        DocumentOutcome::Failed { refused: true, .. } => return Outcome::NotOnNpm,
        DocumentOutcome::Failed {
            reason, connect, ..
        } => return Outcome::Failed { reason, connect },
    };
    let resolved = match plughub_install::resolve(&doc, name, None, None) {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    if let Some(known) = known.filter(|k| !force && k.current_for(&resolved.version)) {
        return Outcome::Unchanged(Box::new(known.clone()));
    }
    let work = match tempfile::Builder::new()
        .prefix("plughub-analyze-")
        .tempdir()
    {
        Ok(w) => w,
        Err(e) => return failed(e),
    };
    let dest = work.path().join("package");
    let fetched = match plughub_install::fetch_resolved(client, resolved, &dest, limits).await {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    let dir = fetched.dir.clone();
    // Parsing is CPU work; keep it off the async workers. The folder goes when `work` does.
    let analysed = tokio::task::spawn_blocking(move || {
        let report = plughub_analyzer::analyze_package(&dir)?;
        Ok::<_, plughub_analyzer::AnalyzeError>(plughub_analyzer::package_facts(
            &dir,
            &report,
            now_rfc3339(),
        ))
    })
    .await;
    match analysed {
        Ok(Ok(mut facts)) => {
            facts.version = fetched.version;
            facts.integrity = fetched.integrity;
            Outcome::Analysed(Box::new(facts))
        }
        Ok(Err(e)) => failed(e),
        Err(e) => failed(format!("the analysis stopped: {e}")),
    }
}

fn failed(e: impl std::fmt::Display) -> Outcome {
    Outcome::Failed {
        reason: e.to_string(),
        connect: false,
    }
}

/// Every stored `PackageFacts` of the catalogue, by plugin name: what search indexes beside the README.
/// Facts that do not read (written by a plughub whose format was different) are left out.
pub async fn package_facts_by_name(store: &Store) -> Result<HashMap<String, PackageFacts>> {
    let rows = store.catalog_rows().await?;
    let mut by_id = store.catalog_knowledge(KNOWLEDGE_KIND).await?;
    let mut out = HashMap::new();
    for row in rows {
        if let Some(facts) = by_id
            .remove(&row.id)
            .and_then(|text| read_facts(&row.name, &text))
        {
            out.insert(row.name, facts);
        }
    }
    Ok(out)
}

pub(crate) fn read_facts(name: &str, text: &str) -> Option<PackageFacts> {
    match serde_json::from_str(text) {
        Ok(facts) => Some(facts),
        Err(e) => {
            tracing::warn!(plugin = name, error = %e, "stored package facts do not read; left out");
            None
        }
    }
}

/// Keeps `facts` as the plugin's `package` knowledge, with its event, in one transaction.
pub(crate) async fn store_facts(
    store: &Store,
    thing_id: &str,
    name: &str,
    facts: &PackageFacts,
) -> Result<()> {
    let body = serde_json::to_string(facts).expect("facts serialise");
    let mut tx = store.begin().await?;
    tx.put_knowledge(thing_id, KNOWLEDGE_KIND, &body).await?;
    tx.append_event(&NewEvent {
        event_type: EventType::PluginAnalysed,
        actor: "catalog:analyze".into(),
        target: Some(thing_id.to_string()),
        group_id: None,
        metadata: serde_json::json!({
            "plugin": name, "version": facts.version, "kinds": facts.kinds,
            "components": facts.components.len(), "risk_score": facts.risk_score,
        }),
    })
    .await?;
    tx.commit().await?;
    Ok(())
}

impl Catalog {
    /// Analyses the packages of catalogue plugins (`options.names`, or all) and keeps their facts.
    pub async fn analyze(
        &self,
        options: &AnalyzeOptions,
        progress: &dyn AnalyzeProgress,
    ) -> Result<AnalyzeReport> {
        let started = Instant::now();
        let registry = match &options.npm_registry {
            Some(url) => url.clone(),
            None => crate::sources::npm_config::npm_registry_url()?,
        };
        let store = self.store();
        let mut wanted: Option<BTreeSet<String>> = None;
        if let Some(names) = &options.names {
            let mut set = BTreeSet::new();
            for name in names {
                let found = self
                    .resolve_name(name)
                    .ok_or_else(|| CatalogError::UnknownPlugin {
                        name: name.clone(),
                        suggestions: self.index().suggest(name, 5),
                    })?;
                set.insert(found);
            }
            wanted = Some(set);
        }
        let known = store.catalog_knowledge(KNOWLEDGE_KIND).await?;
        let mut report = AnalyzeReport {
            registry: registry.clone(),
            ..AnalyzeReport::default()
        };
        // (thing id, name, facts kept before) of each plugin to look at.
        let mut todo: Vec<(String, String, Option<PackageFacts>)> = Vec::new();
        let rows = store.catalog_rows().await?;
        let selected: Vec<_> = rows
            .into_iter()
            .filter(|r| wanted.as_ref().is_none_or(|w| w.contains(&r.name)))
            .collect();
        progress.started(selected.len() as u64);
        for row in selected {
            let facts = known.get(&row.id).and_then(|t| read_facts(&row.name, t));
            let entry: CatalogEntry =
                serde_json::from_str(&row.properties).map_err(|e| StoreError::Corrupt {
                    what: format!("catalogue entry {}", row.name),
                    reason: e.to_string(),
                })?;
            // The catalogue's own latest version settles it without asking npm.
            let latest = PluginView::from_entry(&entry).latest_version;
            match (&facts, latest) {
                (Some(f), Some(latest)) if !options.force && f.current_for(&latest) => {
                    let outcome = Outcome::Unchanged(Box::new(f.clone()));
                    progress.done(&row.name, &outcome);
                    report.unchanged.push(row.name);
                }
                _ => todo.push((row.id, row.name, facts)),
            }
        }

        let mut client = NpmClient::new(&registry);
        client.concurrency = options.concurrency.max(1);
        let limits = ExtractLimits::default();
        // One first, alone: a registry that cannot be reached fails once, not once per plugin.
        let mut rest = todo.into_iter();
        if let Some((id, name, known)) = rest.next() {
            let outcome =
                facts_for_latest(&client, &name, known.as_ref(), options.force, &limits).await;
            if let Outcome::Failed {
                reason,
                connect: true,
            } = &outcome
            {
                return Err(CatalogError::NpmUnreachable {
                    registry,
                    reason: reason.clone(),
                });
            }
            self.settle(&id, name, outcome, &mut report, progress)
                .await?;
        }
        let mut outcomes = futures::stream::iter(rest)
            .map(|(id, name, known)| {
                let client = &client;
                let limits = &limits;
                async move {
                    let outcome =
                        facts_for_latest(client, &name, known.as_ref(), options.force, limits)
                            .await;
                    (id, name, outcome)
                }
            })
            .buffer_unordered(options.concurrency.max(1));
        while let Some((id, name, outcome)) = outcomes.next().await {
            self.settle(&id, name, outcome, &mut report, progress)
                .await?;
        }
        drop(outcomes);
        if !report.analysed.is_empty() {
            self.refresh().await?;
        }
        report.analysed.sort_by(|a, b| a.name.cmp(&b.name));
        report.unchanged.sort();
        report.not_on_npm.sort();
        report.failed.sort_by(|a, b| a.name.cmp(&b.name));
        report.duration_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// Records one plugin's outcome: facts analysed now are kept at once, so an interrupted run keeps
    /// what it did.
    async fn settle(
        &self,
        id: &str,
        name: String,
        outcome: Outcome,
        report: &mut AnalyzeReport,
        progress: &dyn AnalyzeProgress,
    ) -> Result<()> {
        match &outcome {
            Outcome::Analysed(facts) => {
                store_facts(self.store(), id, &name, facts).await?;
                report.analysed.push(Analysed {
                    name: name.clone(),
                    version: facts.version.clone(),
                    components: facts.components.len(),
                    kinds: facts.kinds.clone(),
                });
            }
            Outcome::Unchanged(_) => report.unchanged.push(name.clone()),
            Outcome::NotOnNpm => report.not_on_npm.push(name.clone()),
            Outcome::Failed { reason, .. } => report.failed.push(Failed {
                name: name.clone(),
                reason: reason.clone(),
            }),
        }
        progress.done(&name, &outcome);
        Ok(())
    }
}
