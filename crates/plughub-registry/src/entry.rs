//! The catalogue entry of a package published to plughub, and the events on it.

use crate::Result;
use crate::npm_view;
use plughub_domain::{CatalogEntry, EventType, NewEvent, SourceKind, SourceRecord, ThingKind};
use plughub_store::{NewThing, RegistryVersionRecord, Store, StoreTx, VERSION_PUBLISHED};
use serde_json::{Value, json};

/// The catalogue entry of a plughub package: its published versions in npm's shape, reduced as npm's
/// documents are (so it reads like any npm entry), under the `plughub` source. Written (made or
/// changed) in `tx`; returns the entry's thing id, the target of version events. A package with no
/// published version left keeps its entry, withdrawn.
pub(crate) async fn write_entry(
    tx: &mut StoreTx<'_>,
    store: &Store,
    name: &str,
    records: &[RegistryVersionRecord],
    tags: &[(String, String)],
    actor: &str,
) -> Result<Option<String>> {
    let existing = store
        .thing_by_name(ThingKind::ElizaosPlugin, None, name)
        .await?;
    let doc = npm_view::document_of(name, records, tags, "");
    let (record, readme) = match &doc {
        Some(doc) => {
            let (mut record, readme) = plughub_catalog::sources::packument::reduce(doc);
            // npm's document carries the readme at its top; plughub's has it in the manifests only.
            let readme = readme.or_else(|| newest_readme(records));
            record.missing = false;
            (record, readme)
        }
        None if existing.is_none() => return Ok(None),
        None => (
            plughub_domain::NpmRecord {
                withdrawn: true,
                ..Default::default()
            },
            None,
        ),
    };
    let mut entry: CatalogEntry = existing
        .as_ref()
        .and_then(|t| serde_json::from_value(t.properties.clone()).ok())
        .unwrap_or_else(|| CatalogEntry {
            name: name.to_string(),
            ..Default::default()
        });
    entry
        .sources
        .insert(SourceKind::Plughub, SourceRecord::Npm(record));
    let view = plughub_catalog::PluginView::from_entry(&entry);
    let status = if view.deprecated.is_some() {
        "deprecated"
    } else {
        "listed"
    };
    let properties = serde_json::to_string(&entry).expect("catalogue entries serialise");
    let metadata = json!({
        "sources": entry.sources.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        "latest_version": view.latest_version,
    });
    let id = match existing {
        Some(thing) => {
            let event = NewEvent {
                event_type: EventType::PluginUpdated,
                actor: actor.to_string(),
                target: None,
                group_id: None,
                metadata,
            };
            tx.update_thing(&thing.id, status, &properties, event)
                .await?;
            thing.id
        }
        None => {
            let event = NewEvent {
                event_type: EventType::PluginDiscovered,
                actor: actor.to_string(),
                target: None,
                group_id: None,
                metadata,
            };
            tx.insert_thing(
                &NewThing {
                    kind: ThingKind::ElizaosPlugin,
                    name,
                    group_id: None,
                    status,
                    properties: &properties,
                },
                event,
            )
            .await?
        }
    };
    if let Some(readme) = readme {
        tx.put_knowledge(&id, "readme", &readme).await?;
    }
    Ok(Some(id))
}

/// The readme of the newest published version's package.json (`readme`), if it has one.
pub(crate) fn newest_readme(records: &[RegistryVersionRecord]) -> Option<String> {
    let newest = newest_published(records)?;
    records
        .iter()
        .find(|r| r.version == newest)?
        .manifest
        .get("readme")
        .and_then(Value::as_str)
        .map(|s| s.chars().take(64 * 1024).collect())
}

/// The newest published version by semver, releases before prereleases.
pub(crate) fn newest_published(records: &[RegistryVersionRecord]) -> Option<String> {
    let mut published: Vec<(nodejs_semver::Version, &str)> = records
        .iter()
        .filter(|r| r.status == VERSION_PUBLISHED)
        .filter_map(|r| {
            Some((
                nodejs_semver::Version::parse(&r.version).ok()?,
                r.version.as_str(),
            ))
        })
        .collect();
    published.sort_by(|a, b| {
        (!a.0.is_prerelease(), &a.0)
            .partial_cmp(&(!b.0.is_prerelease(), &b.0))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    published.last().map(|(_, v)| v.to_string())
}

pub(crate) fn version_event(
    event_type: EventType,
    actor: &str,
    target: Option<String>,
    name: &str,
    version: &str,
    mut metadata: Value,
) -> NewEvent {
    metadata["package"] = json!(name);
    metadata["version"] = json!(version);
    NewEvent {
        event_type,
        actor: actor.to_string(),
        target,
        group_id: None,
        metadata,
    }
}
