//! The catalogue as the CLI and the server use it: the store, and a search index kept in step with it.

use crate::search::{Knowledge, SearchIndex, SearchRequest, SearchResults};
use crate::sync::{self, SyncOptions, SyncProgress, SyncReport};
use crate::trials::{CompatibilityReport, Runs, TrialMark, TrialView};
use crate::view::PluginView;
use crate::{CatalogError, Result, starter};
use plughub_domain::config_schema::ConfigSchema;
use plughub_domain::core_range::compare_versions;
use plughub_domain::{CatalogEntry, PackageFacts, SourceRecord};
use plughub_store::{CatalogFingerprint, Store, StoreError, SyncRun};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

pub struct Catalog {
    store: Store,
    built: RwLock<Built>,
    /// One rebuild at a time, so an index built from an older read never replaces a newer one.
    rebuilding: tokio::sync::Mutex<()>,
    /// The refresh asked for in the background (`refresh.rs`).
    pending: crate::refresh::Pending,
}

/// The index and the fingerprint of the catalogue it was built from, swapped together.
struct Built {
    index: Arc<SearchIndex>,
    fingerprint: CatalogFingerprint,
}

/// One plugin with everything known of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PluginDetail {
    pub id: String,
    #[serde(flatten)]
    pub view: PluginView,
    /// The settings it declares, normalised (types, defaults, required, secrets).
    pub settings: ConfigSchema,
    pub readme: Option<String>,
    /// What its latest analysed package declares and asks for (`plughub catalog analyze`), read from the
    /// package as published.
    pub package: Option<PackageFacts>,
    /// Its published versions, newest first, as npm lists them (none where npm does not have it).
    pub releases: Vec<Release>,
    /// Whether it runs on plughub: by the first of `trials`, its newest tried version's.
    pub runs: Runs,
    /// What compatibility runs found when they tried its versions, newest version first (the
    /// catalogue's own records, shown to anyone).
    pub trials: Vec<TrialView>,
}

/// One published version: when, for which core range, and whether it was deprecated.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Release {
    pub version: String,
    /// RFC 3339, as the registry gives it.
    pub published: Option<String>,
    /// The `@elizaos/core` range it depends on.
    pub core_range: Option<String>,
    pub deprecated: Option<String>,
    /// The unpacked size of its tarball in bytes, where npm gives it.
    pub unpacked_size: Option<u64>,
    /// Its runtime dependencies: package name → range.
    pub dependencies: BTreeMap<String, String>,
    /// npm's provenance attestation of it, shown as information: its signatures are not checked
    /// (offline, the transparency log they are checked against cannot be reached).
    pub provenance: Option<plughub_domain::catalog::Provenance>,
}

/// The versions of `entry`'s npm record, newest first in npm's order.
fn releases(entry: &CatalogEntry) -> Vec<Release> {
    // A package published to plughub has its versions in plughub's record; any other, in npm's.
    let Some(SourceRecord::Npm(npm)) = [
        plughub_domain::SourceKind::Plughub,
        plughub_domain::SourceKind::Npm,
    ]
    .iter()
    .find_map(|k| entry.sources.get(k)) else {
        return vec![];
    };
    let mut releases: Vec<Release> = npm
        .versions
        .iter()
        .map(|v| Release {
            version: v.version.clone(),
            published: v.published.clone(),
            core_range: v.core_range.clone(),
            deprecated: v.deprecated.clone(),
            unpacked_size: v.unpacked_size,
            dependencies: v.dependencies.clone(),
            provenance: v.provenance.clone(),
        })
        .collect();
    releases.sort_by(|a, b| compare_versions(&b.version, &a.version));
    releases
}

/// What the catalogue holds and where it came from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CatalogStatus {
    pub store: String,
    pub plugins: usize,
    pub deprecated: usize,
    /// True while the entries come from the starter carried by the binary and no live sync has run.
    pub starter_only: bool,
    pub starter_generated_at: Option<String>,
    /// The registry snapshots the starter carried, by source (`registry:main`), with their dates
    /// (`lastUpdatedAt`).
    pub starter_registry_snapshots: BTreeMap<String, String>,
    /// Newest first.
    pub recent_syncs: Vec<SyncRun>,
}

impl Catalog {
    /// Opens the catalogue; an empty one is seeded with the starter catalogue at once.
    pub async fn open(store: Store) -> Result<Catalog> {
        match starter::seed_if_empty(&store).await {
            // Another node seeded the same store at the same moment: its starter is as good as ours.
            Ok(_) | Err(CatalogError::Store(StoreError::Conflict(_))) => {}
            Err(e) => return Err(e),
        }
        let built = build(&store).await?;
        Ok(Catalog {
            store,
            built: RwLock::new(built),
            rebuilding: tokio::sync::Mutex::new(()),
            pending: Default::default(),
        })
    }

    pub(crate) fn pending(&self) -> &crate::refresh::Pending {
        &self.pending
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The current index; a search holds its own handle, so a refresh never blocks one.
    pub fn index(&self) -> Arc<SearchIndex> {
        self.built
            .read()
            .expect("index lock is never poisoned: no panic while held")
            .index
            .clone()
    }

    /// Rebuilds the index from the store.
    pub async fn refresh(&self) -> Result<()> {
        let _one_at_a_time = self.rebuilding.lock().await;
        self.install(build(&self.store).await?);
        Ok(())
    }

    /// Rebuilds the index when the catalogue in the store is no longer the one it was built from (another
    /// node or process changed it); true when it did. Cheap when nothing changed: one small query.
    pub async fn refresh_if_changed(&self) -> Result<bool> {
        let _one_at_a_time = self.rebuilding.lock().await;
        let now = self.store.catalog_fingerprint().await?;
        let current = self
            .built
            .read()
            .expect("index lock is never poisoned")
            .fingerprint
            .clone();
        if now == current {
            return Ok(false);
        }
        self.install(build_from(&self.store, now).await?);
        Ok(true)
    }

    fn install(&self, built: Built) {
        *self.built.write().expect("index lock is never poisoned") = built;
    }

    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults> {
        self.index().search(request)
    }

    /// The catalogue's name of the plugin `name` means, by any usual spelling (`openai`, `plugin-openai`,
    /// `@elizaos/plugin-openai`): the one resolution `info`, installs, updates and audits go by.
    pub fn resolve_name(&self, name: &str) -> Option<String> {
        self.index().resolve(name).map(|view| view.name.clone())
    }

    /// A plugin by any usual spelling of its name; an unknown name is answered with the closest names.
    pub async fn info(&self, name: &str) -> Result<PluginDetail> {
        let Some(found) = self.resolve_name(name) else {
            return Err(CatalogError::UnknownPlugin {
                name: name.to_string(),
                suggestions: self.index().suggest(name, 5),
            });
        };
        let thing = self
            .store
            .thing_by_name(plughub_domain::ThingKind::ElizaosPlugin, None, &found)
            .await?
            .ok_or_else(|| CatalogError::UnknownPlugin {
                name: name.to_string(),
                suggestions: vec![],
            })?;
        let entry: CatalogEntry =
            serde_json::from_value(thing.properties).map_err(|e| StoreError::Corrupt {
                what: format!("catalogue entry {}", thing.name),
                reason: e.to_string(),
            })?;
        let readme = self.store.knowledge(&thing.id, "readme").await?;
        let package = self
            .store
            .knowledge(&thing.id, crate::package::KNOWLEDGE_KIND)
            .await?
            .and_then(|text| crate::package::read_facts(&thing.name, &text));
        let view = PluginView::from_entry(&entry)
            .with_platform_deprecation(self.store.plugin_deprecation(&thing.name).await?.as_ref());
        let mut trials = self.store.trials_of(&thing.name).await?;
        crate::trials::newest_first(&mut trials);
        let settings = ConfigSchema::from_declarations(view.agent_config.as_ref(), None);
        Ok(PluginDetail {
            id: thing.id,
            view,
            settings,
            readme,
            package,
            releases: releases(&entry),
            runs: Runs::of(trials.first().map(TrialMark::of).as_ref()),
            trials: trials.into_iter().map(TrialView::from).collect(),
        })
    }

    /// Every trial (on `registry` only, when given), summed up for the compatibility page and export.
    pub async fn compatibility(&self, registry: Option<&str>) -> Result<CompatibilityReport> {
        let trials = self.store.trials(registry).await?;
        Ok(CompatibilityReport::of(
            trials,
            plughub_store::now_rfc3339(),
        ))
    }

    pub async fn status(&self) -> Result<CatalogStatus> {
        let index = self.index();
        let recent_syncs = self.store.sync_runs(10).await?;
        let starter_only = !recent_syncs.is_empty()
            && recent_syncs
                .iter()
                .all(|r| r.status == "starter" || r.status == "failed");
        let starter_sources: Vec<&serde_json::Value> = recent_syncs
            .iter()
            .find(|r| r.status == "starter")
            .and_then(|r| r.report.get("sources")?.as_array())
            .map(|sources| sources.iter().collect())
            .unwrap_or_default();
        let text =
            |source: &serde_json::Value, key: &str| source.get(key)?.as_str().map(String::from);
        let starter_generated_at = starter_sources.iter().find_map(|s| text(s, "generated_at"));
        let starter_registry_snapshots = starter_sources
            .iter()
            .filter_map(|s| Some((text(s, "name")?, text(s, "snapshot_at")?)))
            .collect();
        Ok(CatalogStatus {
            store: self.store.describe().to_string(),
            plugins: index.len(),
            deprecated: index
                .views()
                .iter()
                .filter(|v| v.deprecated.is_some())
                .count(),
            starter_only,
            starter_generated_at,
            starter_registry_snapshots,
            recent_syncs,
        })
    }

    /// Syncs and then refreshes the index.
    pub async fn sync(
        &self,
        options: &SyncOptions,
        progress: &dyn SyncProgress,
    ) -> Result<SyncReport> {
        let report = sync::sync(&self.store, options, progress).await?;
        self.refresh().await?;
        Ok(report)
    }
}

/// What installs ask the catalogue: the same resolution as `info`.
impl plughub_domain::names::Catalogue for Catalog {
    fn resolve(&self, name: &str) -> Option<String> {
        self.resolve_name(name)
    }

    fn suggest(&self, name: &str) -> Vec<String> {
        self.index().suggest(name, 5)
    }
}

async fn build(store: &Store) -> Result<Built> {
    let fingerprint = store.catalog_fingerprint().await?;
    build_from(store, fingerprint).await
}

/// `fingerprint` must have been read before the rows are: a change committed while they are read then
/// leaves the index with an older fingerprint than the store's, and the next check rebuilds again instead
/// of missing the change.
async fn build_from(store: &Store, fingerprint: CatalogFingerprint) -> Result<Built> {
    let index = build_index(store).await?;
    Ok(Built {
        index: Arc::new(index),
        fingerprint,
    })
}

/// What the sources say of a plugin besides the description shown: the registry's own words often say
/// what it does ("Load and unload plugins at runtime") where npm's say only what it is.
fn other_descriptions(entry: &CatalogEntry, shown: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for record in entry.sources.values().filter(|r| !r.withdrawn()) {
        let text = match record {
            SourceRecord::Registry(r) => r.description.as_deref(),
            SourceRecord::Npm(n) => n.description.as_deref(),
        };
        if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty())
            && Some(text) != shown.map(str::trim)
            && !out.iter().any(|o| o == text)
        {
            out.push(text.to_string());
        }
    }
    out
}

async fn build_index(store: &Store) -> Result<SearchIndex> {
    let rows = store.catalog_rows().await?;
    let readme_by_id = store.catalog_knowledge("readme").await?;
    let mut facts = crate::package_facts_by_name(store).await?;
    let mut ratings: HashMap<String, plughub_domain::rating::RatingSummary> = HashMap::new();
    for (plugin, _version, stars) in store.published_review_stars().await? {
        ratings.entry(plugin).or_default().add(stars);
    }
    let mut trials: HashMap<String, Vec<plughub_domain::trial::Trial>> = HashMap::new();
    for trial in store.trials(None).await? {
        trials.entry(trial.plugin.clone()).or_default().push(trial);
    }
    let deprecations: HashMap<String, plughub_store::DeprecationRecord> = store
        .plugin_deprecations()
        .await?
        .into_iter()
        .map(|d| (d.plugin.clone(), d))
        .collect();
    let mut knowledge = HashMap::new();
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        let entry: CatalogEntry =
            serde_json::from_str(&row.properties).map_err(|e| StoreError::Corrupt {
                what: format!("catalogue entry {}", row.name),
                reason: e.to_string(),
            })?;
        let view =
            PluginView::from_entry(&entry).with_platform_deprecation(deprecations.get(&row.name));
        let mut known = Knowledge {
            readme: readme_by_id.get(&row.id).cloned(),
            descriptions: other_descriptions(&entry, view.description.as_deref()),
            rating: ratings.remove(&row.name).unwrap_or_default(),
            trial: trials
                .get(&row.name)
                .and_then(|t| crate::trials::deciding(t))
                .map(TrialMark::of),
            ..Knowledge::default()
        };
        if let Some(facts) = facts.remove(&row.name) {
            known.add_package_facts(&facts);
        }
        knowledge.insert(row.name.clone(), known);
        views.push(view);
    }
    // Building the index is CPU work; keep it off the async workers.
    tokio::task::spawn_blocking(move || SearchIndex::build(views, &knowledge))
        .await
        .expect("index building does not panic")
}
