//! A catalogue sync: read every source first, merge into one entry per npm name, then write every change
//! and its event in one transaction. A sync that fails half-way (a source that cannot be read, a crash)
//! leaves the previous catalogue as it was; a sync that finds nothing new writes nothing but its own run.

mod npm_stage;

use crate::sources::fetch;
use crate::sources::registry::{self, RegistrySnapshot};
use crate::view::PluginView;
use crate::{CatalogError, Result};
use plughub_domain::{CatalogEntry, EventType, NewEvent, SourceKind, SourceRecord, ThingKind};
use plughub_store::{NewThing, Store, SyncRun, now_rfc3339};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// What to read. The default reads the official registry from GitHub and npm from the user's npm
/// configuration, with discovery through npm search.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Registry files or URLs (`generated-registry.json` of either branch), applied in order.
    pub registries: Vec<String>,
    /// Read `index.json` beside a `generated-registry.json` that cannot be had.
    pub registry_fallback: bool,
    /// The npm registry base URL; `None` skips npm.
    pub npm_registry: Option<String>,
    /// Ask npm's search endpoint for more plugins (keyword and scope queries).
    pub npm_discover: bool,
    /// Names to look up on npm whatever the other sources say (the known plugins list).
    pub npm_seeds: Vec<String>,
    pub npm_concurrency: usize,
    /// Refuse to sync again sooner than this after the last sync started.
    pub min_interval: Option<Duration>,
    /// Who is syncing, for events.
    pub actor: String,
}

impl SyncOptions {
    /// Nothing but what the caller adds: for imports of a file.
    pub fn offline(registries: Vec<String>) -> SyncOptions {
        SyncOptions {
            registries,
            registry_fallback: false,
            npm_registry: None,
            npm_discover: false,
            npm_seeds: Vec::new(),
            npm_concurrency: 8,
            min_interval: None,
            actor: "catalog-sync".to_string(),
        }
    }
}

/// Progress of a long sync, for a progress bar.
pub trait SyncProgress: Send + Sync {
    fn stage(&self, _message: &str) {}
    fn packages_started(&self, _total: u64) {}
    fn package_done(&self, _name: &str) {}
    fn packages_finished(&self) {}
}

pub struct NoProgress;
impl SyncProgress for NoProgress {}

#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    pub name: String,
    pub location: String,
    pub ok: bool,
    pub entries: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub run_id: String,
    /// `ok`, `partial` (a source failed; the others were applied) or `failed` (nothing changed).
    pub status: String,
    pub started_at: String,
    pub finished_at: String,
    pub sources: Vec<SourceReport>,
    pub discovered: usize,
    pub updated: usize,
    pub newly_deprecated: usize,
    pub unchanged: usize,
    pub total: usize,
}

struct Stored {
    id: String,
    properties: String,
    entry: CatalogEntry,
}

#[tracing::instrument(name = "catalog_sync", skip_all, fields(by = %options.actor))]
pub async fn sync(
    store: &Store,
    options: &SyncOptions,
    progress: &dyn SyncProgress,
) -> Result<SyncReport> {
    // One server at a time syncs a shared store; the others follow what it writes.
    let Some(_lock) = store.try_lock_catalog_sync().await? else {
        return Err(CatalogError::SyncElsewhere);
    };
    let started_at = now_rfc3339();
    check_interval(store, options.min_interval).await?;

    let existing = load_existing(store).await?;
    let mut entries: BTreeMap<String, CatalogEntry> = existing
        .iter()
        .map(|(name, s)| (name.clone(), s.entry.clone()))
        .collect();
    let mut reports = Vec::new();
    let http = fetch::http_client();

    for location in &options.registries {
        progress.stage(&format!("reading the registry from {location}"));
        match read_registry(&http, location, options.registry_fallback).await {
            Ok((snapshot, mut notes)) => {
                if let Some(date) = &snapshot.last_updated_at {
                    notes.insert(0, format!("snapshot of {date}"));
                }
                reports.push(SourceReport {
                    name: snapshot.kind.as_str().to_string(),
                    location: location.clone(),
                    ok: true,
                    entries: snapshot.entries.len(),
                    error: None,
                    notes,
                });
                apply_registry(&mut entries, snapshot);
            }
            Err(e) => reports.push(failed_source("registry", location, e.to_string())),
        }
    }

    let mut readmes: HashMap<String, String> = HashMap::new();
    if let Some(base) = &options.npm_registry {
        let report = npm_stage::sync_npm(&mut entries, &mut readmes, base, options, progress).await;
        reports.push(report);
    }

    // A package published to plughub is plughub's alone: whatever the registry or npm said of its name,
    // its entry stays as the registry (`plughub-registry`) wrote it, never changed or withdrawn by a sync.
    for (name, stored) in &existing {
        if stored.entry.sources.contains_key(&SourceKind::Plughub) {
            entries.insert(name.clone(), stored.entry.clone());
            readmes.remove(name);
        }
    }

    let any_ok = reports.iter().any(|r| r.ok);
    let all_ok = reports.iter().all(|r| r.ok);
    let status = if all_ok && any_ok {
        "ok"
    } else if any_ok {
        "partial"
    } else {
        "failed"
    };
    progress.stage("writing the catalogue");

    let run_id = uuid::Uuid::now_v7().to_string();
    let mut tx = store.begin().await?;
    let mut counts = (0, 0, 0, 0);
    if any_ok {
        let known_readmes = store.catalog_knowledge("readme").await?;
        for (name, entry) in &entries {
            let properties = serde_json::to_string(entry).expect("catalogue entries serialise");
            let view = PluginView::from_entry(entry);
            let status = if view.deprecated.is_some() {
                "deprecated"
            } else {
                "listed"
            };
            let readme = readmes.get(name);
            match existing.get(name) {
                None => {
                    let event = catalog_event(
                        EventType::PluginDiscovered,
                        options,
                        &run_id,
                        entry,
                        None,
                        &view,
                    );
                    let thing = NewThing {
                        kind: ThingKind::ElizaosPlugin,
                        name,
                        group_id: None,
                        status,
                        properties: &properties,
                    };
                    let id = tx.insert_thing(&thing, event).await?;
                    if let Some(readme) = readme {
                        tx.put_knowledge(&id, "readme", readme).await?;
                    }
                    counts.0 += 1;
                }
                Some(old) => {
                    let readme_changed =
                        readme.is_some_and(|r| known_readmes.get(&old.id) != Some(r));
                    if old.properties == properties && !readme_changed {
                        counts.3 += 1;
                        continue;
                    }
                    let old_view = PluginView::from_entry(&old.entry);
                    let event = catalog_event(
                        EventType::PluginUpdated,
                        options,
                        &run_id,
                        entry,
                        Some(&old.entry),
                        &view,
                    );
                    tx.update_thing(&old.id, status, &properties, event).await?;
                    if let Some(readme) = readme.filter(|_| readme_changed) {
                        tx.put_knowledge(&old.id, "readme", readme).await?;
                    }
                    counts.1 += 1;
                    if old_view.deprecated.is_none() && view.deprecated.is_some() {
                        counts.2 += 1;
                    }
                }
            }
        }
    }
    let report = SyncReport {
        run_id: run_id.clone(),
        status: status.to_string(),
        started_at: started_at.clone(),
        finished_at: now_rfc3339(),
        sources: reports,
        discovered: counts.0,
        updated: counts.1,
        newly_deprecated: counts.2,
        unchanged: counts.3,
        total: if any_ok {
            entries.len()
        } else {
            existing.len()
        },
    };
    let run = SyncRun {
        id: run_id,
        started_at,
        finished_at: report.finished_at.clone(),
        status: report.status.clone(),
        report: serde_json::to_value(&report).expect("reports serialise"),
    };
    tx.record_sync(&run).await?;
    tx.commit().await?;
    Ok(report)
}

/// Refuses (`TooSoon`) a sync sooner than `min_interval` after the last one that wrote the catalogue
/// started: what `sync` checks first, public for callers that start a sync in the background. The rate
/// limit counts syncs that read something; a failed one (offline, say) may be retried at once.
pub async fn check_interval(store: &Store, min_interval: Option<Duration>) -> Result<()> {
    let Some(interval) = min_interval else {
        return Ok(());
    };
    let runs = store.sync_runs(20).await?;
    let Some(last) = runs
        .iter()
        .find(|r| r.status == "ok" || r.status == "partial")
    else {
        return Ok(());
    };
    let Ok(started) = time::OffsetDateTime::parse(
        &last.started_at,
        &time::format_description::well_known::Rfc3339,
    ) else {
        return Ok(());
    };
    let ago = (time::OffsetDateTime::now_utc() - started)
        .whole_seconds()
        .max(0) as u64;
    if ago < interval.as_secs() {
        return Err(CatalogError::TooSoon {
            ago_secs: ago,
            interval_secs: interval.as_secs(),
        });
    }
    Ok(())
}

async fn load_existing(store: &Store) -> Result<BTreeMap<String, Stored>> {
    let mut out = BTreeMap::new();
    for row in store.catalog_rows().await? {
        let entry: CatalogEntry = serde_json::from_str(&row.properties).map_err(|e| {
            plughub_store::StoreError::Corrupt {
                what: format!("catalogue entry {}", row.name),
                reason: e.to_string(),
            }
        })?;
        out.insert(
            row.name.clone(),
            Stored {
                id: row.id,
                properties: row.properties,
                entry,
            },
        );
    }
    Ok(out)
}

async fn read_registry(
    http: &reqwest::Client,
    location: &str,
    fallback: bool,
) -> Result<(RegistrySnapshot, Vec<String>)> {
    let primary = async {
        let bytes = fetch::read_location(http, "registry", location).await?;
        registry::parse_generated(&bytes, location)
    }
    .await;
    match primary {
        Ok(snapshot) => Ok((snapshot, Vec::new())),
        Err(err) if fallback && location.ends_with("generated-registry.json") => {
            let index = location.replace("generated-registry.json", "index.json");
            let bytes = fetch::read_location(http, "registry index", &index)
                .await
                .map_err(|_| err)?;
            let snapshot = registry::parse_index(&bytes, &index)?;
            Ok((
                snapshot,
                vec![format!(
                    "generated registry unavailable, used the index at {index} (names only)"
                )],
            ))
        }
        Err(err) => Err(err),
    }
}

/// Puts a registry's records into the entries; entries this source used to list and no longer does are
/// marked withdrawn, never deleted.
fn apply_registry(entries: &mut BTreeMap<String, CatalogEntry>, snapshot: RegistrySnapshot) {
    let kind = snapshot.kind;
    for (name, record) in &snapshot.entries {
        let entry = entries.entry(name.clone()).or_insert_with(|| CatalogEntry {
            name: name.clone(),
            ..Default::default()
        });
        match entry.sources.get_mut(&kind) {
            // The index names plugins only: keep the details an earlier full read gave.
            Some(existing) if !snapshot.detailed => existing.set_withdrawn(false),
            // A later snapshot saying the same: the record stays as it was, with the date of the snapshot
            // that first said it, so that a new date alone is no change (and no event).
            Some(SourceRecord::Registry(existing)) if existing.same_data(record) => {}
            _ => {
                entry
                    .sources
                    .insert(kind, SourceRecord::Registry(record.clone()));
            }
        }
    }
    for (name, entry) in entries.iter_mut() {
        if !snapshot.entries.contains_key(name)
            && let Some(record) = entry.sources.get_mut(&kind)
        {
            record.set_withdrawn(true);
        }
    }
}

pub(super) fn failed_source(name: &str, location: &str, error: String) -> SourceReport {
    SourceReport {
        name: name.into(),
        location: location.into(),
        ok: false,
        entries: 0,
        error: Some(error),
        notes: vec![],
    }
}

fn catalog_event(
    event_type: EventType,
    options: &SyncOptions,
    run_id: &str,
    entry: &CatalogEntry,
    old: Option<&CatalogEntry>,
    view: &PluginView,
) -> NewEvent {
    let mut metadata = serde_json::json!({
        "run": run_id,
        "sources": entry.sources.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        "latest_version": view.latest_version,
    });
    if let Some(old) = old {
        let changed: Vec<&str> = entry
            .sources
            .iter()
            .filter(|(k, r)| old.sources.get(k) != Some(r))
            .map(|(k, _)| k.as_str())
            .chain(
                old.sources
                    .keys()
                    .filter(|k| !entry.sources.contains_key(k))
                    .map(|k| k.as_str()),
            )
            .collect();
        metadata["changed_sources"] = serde_json::json!(changed);
        let old_view = PluginView::from_entry(old);
        if old_view.latest_version != view.latest_version {
            metadata["previous_version"] = serde_json::json!(old_view.latest_version);
        }
        if view.deprecated.is_some() && old_view.deprecated.is_none() {
            metadata["deprecated"] = serde_json::json!(view.deprecated);
        }
    }
    NewEvent {
        event_type,
        actor: options.actor.clone(),
        target: None,
        group_id: None,
        metadata,
    }
}
