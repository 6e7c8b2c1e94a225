//! The starter catalogue carried by the binary, so that a fresh install serves the real catalogue at once,
//! offline too. plughub generates it itself (`plughub catalog build-starter`): every name of the official
//! registry's snapshots (read with the registry source's own parser, each record dated by its snapshot)
//! and of the known plugins list, with what npm's package document says of each, through the same npm
//! client a sync uses. Seeding writes what a sync of those sources would have written (the registry's
//! records under their own source kinds, npm's under `starter`), so a later live sync merges with it:
//! npm's records replace the starter's, and the registry's stay, as of their snapshot, until a registry is
//! read again (the registry itself is retired).
//!
//! The binary carries it gzip-compressed (`starter/catalog.json.gz`); it is read once, when an empty
//! catalogue is seeded.

use crate::sources::npm::{NpmClient, PackumentOutcome};
use crate::sources::registry::RegistrySnapshot;
use crate::view::PluginView;
use crate::{CatalogError, Result};
use plughub_domain::{
    CatalogEntry, EventType, NewEvent, NpmRecord, PackageFacts, RegistryRecord, SourceKind,
    SourceRecord, ThingKind,
};
use plughub_store::{NewThing, Store, SyncRun, now_rfc3339};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;

const KNOWN_PLUGINS: &str = include_str!("../starter/known-plugins.txt");
const STARTER_GZ: &[u8] = include_bytes!("../starter/catalog.json.gz");

/// The starter: when it was built, the registry snapshots it carries, and one entry per npm name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StarterCatalog {
    /// When plughub built it (and read npm).
    pub generated_at: String,
    /// The registry snapshots it was built from, one per source kind.
    #[serde(default)]
    pub registries: Vec<StarterRegistry>,
    pub entries: Vec<StarterEntry>,
}

/// One registry snapshot the starter carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StarterRegistry {
    pub source: SourceKind,
    /// The snapshot's `lastUpdatedAt`.
    pub last_updated_at: Option<String>,
    pub entries: usize,
}

/// Everything the starter knows of one npm name; each field is optional, so that a later kind of data is
/// one more field.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StarterEntry {
    pub name: String,
    /// The registry's records, by source kind (`registry:main`, `registry:next`), each with its
    /// snapshot's date.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub registry: BTreeMap<SourceKind, RegistryRecord>,
    /// npm's package document, reduced as a sync reduces it; absent where npm did not have the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub npm: Option<NpmRecord>,
    /// The README of npm's package document, capped as a sync caps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readme: Option<String>,
    /// What npm's latest version of the package declares and asks for, as `plughub catalog analyze`
    /// reads it; seeded as the plugin's `package` knowledge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageFacts>,
}

impl StarterEntry {
    /// The catalogue entry a sync of the same sources would have stored, npm's record standing under
    /// `starter` until a live npm sync replaces it.
    pub fn catalog_entry(&self) -> CatalogEntry {
        let mut sources: BTreeMap<SourceKind, SourceRecord> = self
            .registry
            .iter()
            .map(|(kind, record)| (*kind, SourceRecord::Registry(record.clone())))
            .collect();
        if let Some(npm) = &self.npm {
            sources.insert(SourceKind::Starter, SourceRecord::Npm(npm.clone()));
        }
        CatalogEntry {
            name: self.name.clone(),
            sources,
        }
    }
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
    from_gzip(STARTER_GZ)
}

/// A starter from its gzip-compressed JSON.
pub fn from_gzip(bytes: &[u8]) -> Result<StarterCatalog> {
    let mut json = Vec::with_capacity(bytes.len() * 8);
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut json)
        .map_err(|e| CatalogError::Starter(format!("cannot decompress: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| CatalogError::Starter(e.to_string()))
}

/// The starter as gzip-compressed JSON, as the binary carries it.
pub fn to_gzip(starter: &StarterCatalog) -> Vec<u8> {
    use std::io::Write;
    let json = serde_json::to_vec(starter).expect("starters serialise");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&json).expect("writes to memory");
    encoder.finish().expect("writes to memory")
}

/// What a build left out, for its report.
#[derive(Debug, Clone, Default)]
pub struct BuildNotes {
    /// Names npm does not have (404), or will not serve (a final refusal, such as a 403 for a name with
    /// capitals), with npm's answer: they keep the registry's data only.
    pub not_on_npm: Vec<String>,
}

/// Builds a starter from registry snapshots (at most one per source kind) and npm: the names are the
/// snapshots' and `known`'s together, and every one is asked of npm. A name npm does not have (or
/// refuses for good) keeps the registry's data only; a name npm could not be asked about (a network
/// fault, a 5xx, after the client's retries) fails the build, so that a passing fault never makes a
/// poorer starter.
pub async fn build(
    client: &NpmClient,
    registries: Vec<RegistrySnapshot>,
    known: Vec<String>,
) -> Result<(StarterCatalog, BuildNotes)> {
    let mut carried = Vec::new();
    let mut entries: BTreeMap<String, StarterEntry> = BTreeMap::new();
    for snapshot in registries {
        if !snapshot.detailed {
            return Err(CatalogError::StarterBuild(
                "a registry index names plugins only; give build-starter generated-registry.json files"
                    .into(),
            ));
        }
        if carried
            .iter()
            .any(|r: &StarterRegistry| r.source == snapshot.kind)
        {
            return Err(CatalogError::StarterBuild(format!(
                "two registry snapshots of the {} shape; give one of each",
                snapshot.kind.as_str()
            )));
        }
        carried.push(StarterRegistry {
            source: snapshot.kind,
            last_updated_at: snapshot.last_updated_at.clone(),
            entries: snapshot.entries.len(),
        });
        for (name, record) in snapshot.entries {
            entry_for(&mut entries, &name)
                .registry
                .insert(snapshot.kind, record);
        }
    }
    for name in known {
        entry_for(&mut entries, &name);
    }

    let names: Vec<String> = entries.keys().cloned().collect();
    let outcomes = crate::sources::npm::packuments(client, names, &|_| {}).await;
    let mut notes = BuildNotes::default();
    let mut failed = Vec::new();
    let mut reachable = false;
    for (name, outcome) in outcomes {
        match outcome {
            PackumentOutcome::Found { record, readme } => {
                reachable = true;
                let entry = entry_for(&mut entries, &name);
                entry.npm = Some(*record);
                entry.readme = readme;
            }
            PackumentOutcome::Missing => {
                reachable = true;
                notes.not_on_npm.push(format!("{name} (404)"));
            }
            PackumentOutcome::Failed {
                reason,
                refused: true,
                ..
            } => {
                reachable = true;
                notes.not_on_npm.push(format!("{name} ({reason})"));
            }
            PackumentOutcome::Failed { reason, .. } => failed.push(format!("{name}: {reason}")),
        }
    }
    failed.sort();
    if !reachable {
        return Err(CatalogError::NpmUnreachable {
            registry: client.base().to_string(),
            reason: failed.first().cloned().unwrap_or_default(),
        });
    }
    if !failed.is_empty() {
        return Err(CatalogError::StarterBuild(format!(
            "{} names could not be read from npm, after the client's retries:\n  {}",
            failed.len(),
            failed.join("\n  ")
        )));
    }
    notes.not_on_npm.sort();
    Ok((
        StarterCatalog {
            generated_at: now_rfc3339(),
            registries: carried,
            entries: entries.into_values().collect(),
        },
        notes,
    ))
}

/// What `add_package_facts` did.
#[derive(Debug, Clone, Default)]
pub struct FactsNotes {
    /// Fetched and analysed now.
    pub analysed: usize,
    /// Taken from the previous starter: the same version, analysed by the same revision.
    pub reused: usize,
    /// Names whose package could not be analysed, and why; they keep the previous starter's facts if it
    /// had some.
    pub failed: Vec<String>,
}

/// Adds to each entry with npm data the facts of its latest version (`crate::package`): taken from
/// `previous` (an earlier starter) when that analysed the same version with this revision of the
/// analysis, so a rebuild downloads only what changed; else fetched and analysed, `concurrency` at once.
pub async fn add_package_facts(
    client: &NpmClient,
    starter: &mut StarterCatalog,
    previous: &StarterCatalog,
    concurrency: usize,
    progress: &(dyn Fn(&str) + Sync),
) -> FactsNotes {
    use futures::StreamExt;
    let before: BTreeMap<&str, &PackageFacts> = previous
        .entries
        .iter()
        .filter_map(|e| Some((e.name.as_str(), e.package.as_ref()?)))
        .collect();
    let mut notes = FactsNotes::default();
    let mut todo = Vec::new();
    for (i, entry) in starter.entries.iter_mut().enumerate() {
        if entry.npm.is_none() {
            continue;
        }
        let latest = PluginView::from_entry(&entry.catalog_entry()).latest_version;
        let known = before.get(entry.name.as_str()).copied();
        match (known, latest) {
            (Some(facts), Some(latest)) if facts.current_for(&latest) => {
                entry.package = Some(facts.clone());
                notes.reused += 1;
                progress(&entry.name);
            }
            _ => todo.push((i, entry.name.clone(), known.cloned())),
        }
    }
    let limits = plughub_install::ExtractLimits::default();
    let outcomes: Vec<_> = futures::stream::iter(todo)
        .map(|(i, name, known)| {
            let limits = &limits;
            async move {
                let outcome =
                    crate::package::facts_for_latest(client, &name, None, false, limits).await;
                progress(&name);
                (i, name, known, outcome)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for (i, name, known, outcome) in outcomes {
        let entry = &mut starter.entries[i];
        match outcome {
            crate::package::Outcome::Analysed(facts)
            | crate::package::Outcome::Unchanged(facts) => {
                entry.package = Some(*facts);
                notes.analysed += 1;
            }
            crate::package::Outcome::NotOnNpm => {
                notes.failed.push(format!("{name}: not on npm now"));
                entry.package = known;
            }
            crate::package::Outcome::Failed { reason, .. } => {
                notes.failed.push(format!("{name}: {reason}"));
                entry.package = known;
            }
        }
    }
    notes.failed.sort();
    notes
}

fn entry_for<'a>(
    entries: &'a mut BTreeMap<String, StarterEntry>,
    name: &str,
) -> &'a mut StarterEntry {
    entries
        .entry(name.to_string())
        .or_insert_with(|| StarterEntry {
            name: name.to_string(),
            ..Default::default()
        })
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
        let entry = item.catalog_entry();
        let properties = serde_json::to_string(&entry).expect("entries serialise");
        let view = PluginView::from_entry(&entry);
        let status = if view.deprecated.is_some() {
            "deprecated"
        } else {
            "listed"
        };
        let sources: Vec<&str> = entry.sources.keys().map(|k| k.as_str()).collect();
        let event = NewEvent {
            event_type: EventType::PluginDiscovered,
            actor: "starter".into(),
            target: None,
            group_id: None,
            metadata: serde_json::json!({ "run": run_id, "sources": sources, "latest_version": view.latest_version }),
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
        if let Some(facts) = &item.package {
            let body = serde_json::to_string(facts).expect("facts serialise");
            tx.put_knowledge(&id, crate::package::KNOWLEDGE_KIND, &body)
                .await?;
        }
    }
    let report = seed_report(&starter);
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

/// The seed's run report, shaped as a sync's: the starter first (its npm data and its date), then each
/// registry snapshot it carries, with the snapshot's date.
fn seed_report(starter: &StarterCatalog) -> serde_json::Value {
    let with_npm = starter.entries.iter().filter(|e| e.npm.is_some()).count();
    let mut sources = vec![serde_json::json!({
        "name": "starter",
        "location": "carried by the binary",
        "ok": true,
        "entries": starter.entries.len(),
        "generated_at": starter.generated_at,
        "notes": [format!(
            "npm package documents of {with_npm} names, read {}; {} names npm did not have keep the registry's data only",
            starter.generated_at,
            starter.entries.len() - with_npm
        )],
    })];
    for registry in &starter.registries {
        let date = registry
            .last_updated_at
            .as_deref()
            .unwrap_or("an unknown date");
        sources.push(serde_json::json!({
            "name": registry.source.as_str(),
            "location": "carried by the binary",
            "ok": true,
            "entries": registry.entries,
            "snapshot_at": registry.last_updated_at,
            "notes": [format!("snapshot of {date}, carried by the starter")],
        }));
    }
    serde_json::json!({ "sources": sources, "total": starter.entries.len() })
}
