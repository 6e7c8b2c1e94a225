//! The starter catalogue carried by the binary, so that a fresh install serves a usable catalogue at once,
//! offline too. plughub generates it itself (`plughub catalog build-starter`) from npm package documents of
//! the known plugins list, through the same npm client a sync uses; the first successful npm sync replaces it.

use crate::sources::npm::{NpmClient, PackumentOutcome};
use crate::view::PluginView;
use crate::{CatalogError, Result};
use plughub_domain::{
    CatalogEntry, EventType, NewEvent, NpmRecord, SourceKind, SourceRecord, ThingKind,
};
use plughub_store::{NewThing, Store, SyncRun, now_rfc3339};
use serde::{Deserialize, Serialize};

const KNOWN_PLUGINS: &str = include_str!("../starter/known-plugins.txt");
const STARTER_JSON: &str = include_str!("../starter/catalog.json");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StarterCatalog {
    /// When plughub built it.
    pub generated_at: String,
    pub entries: Vec<StarterEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StarterEntry {
    pub name: String,
    pub npm: NpmRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readme: Option<String>,
}

/// The names of the known plugins list (comments and blank lines skipped).
pub fn known_plugin_names() -> Vec<String> {
    parse_names(KNOWN_PLUGINS)
}

pub fn parse_names(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// The starter carried by this binary.
pub fn embedded() -> Result<StarterCatalog> {
    serde_json::from_str(STARTER_JSON).map_err(|e| CatalogError::Starter(e.to_string()))
}

/// Builds a starter from npm; names npm does not have are left out and returned.
pub async fn build(
    client: &NpmClient,
    names: Vec<String>,
) -> Result<(StarterCatalog, Vec<String>)> {
    let outcomes = crate::sources::npm::packuments(client, names, &|_| {}).await;
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    let mut reachable = false;
    for (name, outcome) in outcomes {
        match outcome {
            PackumentOutcome::Found { record, readme } => {
                reachable = true;
                entries.push(StarterEntry {
                    name,
                    npm: *record,
                    readme,
                });
            }
            PackumentOutcome::Missing => {
                reachable = true;
                skipped.push(format!("{name}: not on the registry (404)"));
            }
            PackumentOutcome::Failed { reason, .. } => skipped.push(format!("{name}: {reason}")),
        }
    }
    if !reachable {
        return Err(CatalogError::NpmUnreachable {
            registry: client.base().to_string(),
            reason: skipped.first().cloned().unwrap_or_default(),
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    skipped.sort();
    Ok((
        StarterCatalog {
            generated_at: now_rfc3339(),
            entries,
        },
        skipped,
    ))
}

/// Seeds an empty catalogue with the starter, in one transaction with its events. Does nothing when the
/// catalogue has entries or has ever been synced. Returns how many entries it added.
pub async fn seed_if_empty(store: &Store) -> Result<usize> {
    if store.count_things(ThingKind::ElizaosPlugin).await? > 0
        || !store.sync_runs(1).await?.is_empty()
    {
        return Ok(0);
    }
    let starter = embedded()?;
    let started_at = now_rfc3339();
    let run_id = uuid::Uuid::now_v7().to_string();
    let mut tx = store.begin().await?;
    for item in &starter.entries {
        let entry = CatalogEntry {
            name: item.name.clone(),
            sources: [(SourceKind::Starter, SourceRecord::Npm(item.npm.clone()))]
                .into_iter()
                .collect(),
        };
        let properties = serde_json::to_string(&entry).expect("entries serialise");
        let view = PluginView::from_entry(&entry);
        let status = if view.deprecated.is_some() {
            "deprecated"
        } else {
            "listed"
        };
        let event = NewEvent {
            event_type: EventType::PluginDiscovered,
            actor: "starter".into(),
            target: None,
            group_id: None,
            metadata: serde_json::json!({ "run": run_id, "sources": ["starter"], "latest_version": view.latest_version }),
        };
        let thing = NewThing {
            kind: ThingKind::ElizaosPlugin,
            name: &item.name,
            group_id: None,
            status,
            properties: &properties,
        };
        let id = tx.insert_thing(&thing, event).await?;
        if let Some(readme) = &item.readme {
            tx.put_knowledge(&id, "readme", readme).await?;
        }
    }
    let report = serde_json::json!({
        "sources": [{ "name": "starter", "location": "carried by the binary", "ok": true,
                      "entries": starter.entries.len(), "generated_at": starter.generated_at }],
        "total": starter.entries.len(),
    });
    let run = SyncRun {
        id: run_id,
        started_at,
        finished_at: now_rfc3339(),
        status: "starter".into(),
        report,
    };
    tx.record_sync(&run).await?;
    tx.commit().await?;
    Ok(starter.entries.len())
}
