//! The merged view of a catalogue entry that users see, derived from the per-source records: npm's data
//! for what a package says of itself, the registry's for GitHub data (topics, stars), the newest wins.

use crate::compat::{self, Compat};
use plughub_domain::names::short_name;
use plughub_domain::{
    CatalogEntry, CoreMajor, NpmRecord, RegistryRecord, SourceKind, SourceRecord,
};
use plughub_store::DeprecationRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PluginView {
    pub name: String,
    pub short_name: String,
    pub description: Option<String>,
    pub latest_version: Option<String>,
    pub compat: BTreeMap<CoreMajor, Compat>,
    /// Releases whose core major is unknown (status `unknown`): the newest of a release line, where it
    /// depends on `@elizaos/core` by a range that names no version (`latest`, `*`, a dist-tag,
    /// `workspace:*`); the note says why. Newest first.
    pub compat_unknown: Vec<Compat>,
    pub topics: Vec<String>,
    pub keywords: Vec<String>,
    pub kind: Option<String>,
    pub license: Option<String>,
    pub stars: u64,
    /// Downloads are not part of package documents; `None` until a source provides them.
    pub downloads: Option<u64>,
    /// Published under the `@elizaos` npm scope, which only the elizaOS organisation can publish to.
    pub verified: bool,
    pub deprecated: Option<String>,
    /// The plugin to use instead, where a platform owner deprecated this one and named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    pub updated_at: Option<String>,
    pub repository: Option<String>,
    pub homepage: Option<String>,
    pub maintainers: Vec<String>,
    pub language: Option<String>,
    pub versions: usize,
    pub dist_tags: BTreeMap<String, String>,
    /// The package's `agentConfig`, as it declares it.
    #[schema(value_type = Option<Object>)]
    pub agent_config: Option<serde_json::Value>,
    /// Which sources list it; a withdrawn one is marked `(withdrawn)`.
    pub sources: Vec<String>,
    /// The date of the newest registry snapshot the registry data comes from (its `lastUpdatedAt`): the
    /// registry is retired, so this date no longer moves.
    pub registry_snapshot: Option<String>,
    /// Dirty data users should know of (unverifiable core ranges, claims no release shows, 404s).
    pub flags: Vec<String>,
}

impl PluginView {
    pub fn from_entry(entry: &CatalogEntry) -> PluginView {
        let compat::CompatReport {
            majors: compat,
            unknown: compat_unknown,
            mut flags,
        } = compat::compute(entry);
        let npm = best_npm(entry);
        let registries: Vec<&RegistryRecord> = entry
            .sources
            .values()
            .filter_map(|r| match r {
                SourceRecord::Registry(reg) if !reg.withdrawn => Some(reg),
                _ => None,
            })
            .collect();
        let any_registry = || registries.iter();

        if entry
            .sources
            .values()
            .any(|r| matches!(r, SourceRecord::Npm(n) if n.missing))
            && npm.is_none()
        {
            flags.insert(0, "not published on the npm registry (404)".to_string());
        }

        let mut topics: Vec<String> = any_registry()
            .flat_map(|r| r.topics.iter().cloned())
            .collect();
        topics.sort();
        topics.dedup();

        let latest_version = npm
            .and_then(|n| {
                n.dist_tags
                    .get("latest")
                    .cloned()
                    .or_else(|| n.versions.last().map(|v| v.version.clone()))
            })
            .or_else(|| {
                let mut versions: Vec<&String> = any_registry()
                    .flat_map(|r| r.majors.values().filter_map(|m| m.npm_version.as_ref()))
                    .collect();
                versions.sort_by(|a, b| crate::sources::packument::compare_versions(a, b));
                versions.last().map(|v| v.to_string())
            });

        let deprecated = deprecation(entry, npm, latest_version.as_deref());
        let sources = entry
            .sources
            .iter()
            .map(|(k, r)| {
                if r.withdrawn() {
                    format!("{} (withdrawn)", k.as_str())
                } else {
                    k.as_str().to_string()
                }
            })
            .collect();

        PluginView {
            name: entry.name.clone(),
            short_name: short_name(&entry.name).to_string(),
            description: npm
                .and_then(|n| n.description.clone())
                .or_else(|| any_registry().find_map(|r| r.description.clone())),
            latest_version,
            compat,
            compat_unknown,
            topics,
            keywords: npm.map(|n| n.keywords.clone()).unwrap_or_default(),
            kind: any_registry().find_map(|r| r.kind.clone()),
            license: npm.and_then(|n| n.license.clone()),
            stars: any_registry().map(|r| r.stars).max().unwrap_or(0),
            downloads: None,
            verified: entry.name.starts_with("@elizaos/"),
            deprecated,
            replacement: None,
            updated_at: npm.and_then(|n| {
                n.modified
                    .clone()
                    .or_else(|| n.versions.iter().filter_map(|v| v.published.clone()).max())
            }),
            repository: any_registry()
                .find_map(|r| {
                    r.git_repo
                        .as_ref()
                        .map(|g| format!("https://github.com/{g}"))
                })
                .or_else(|| npm.and_then(|n| n.repository.clone())),
            homepage: any_registry()
                .find_map(|r| r.homepage.clone())
                .or_else(|| npm.and_then(|n| n.homepage.clone())),
            maintainers: npm.map(|n| n.maintainers.clone()).unwrap_or_default(),
            language: any_registry().find_map(|r| r.language.clone()),
            versions: npm.map_or(0, |n| n.versions.len()),
            dist_tags: npm.map(|n| n.dist_tags.clone()).unwrap_or_default(),
            agent_config: npm.and_then(|n| n.agent_config.clone()),
            sources,
            registry_snapshot: any_registry().filter_map(|r| r.snapshot_at.clone()).max(),
            flags,
        }
    }
}

impl PluginView {
    /// The view with a platform owner's deprecation: it says so (before npm's own reason, which it
    /// outweighs: plughub's owners decided), and names the replacement.
    pub fn with_platform_deprecation(
        mut self,
        deprecation: Option<&DeprecationRecord>,
    ) -> PluginView {
        if let Some(d) = deprecation {
            let mut message = format!("deprecated by plughub: {}", d.reason);
            if let Some(r) = &d.replacement {
                message.push_str(&format!(" (use {r} instead)"));
            }
            self.deprecated = Some(message);
            self.replacement = d.replacement.clone();
        }
        self
    }
}

/// The npm record to show: plughub's own (a package published to plughub), else the live one, else the
/// starter's.
pub fn best_npm(entry: &CatalogEntry) -> Option<&NpmRecord> {
    [SourceKind::Plughub, SourceKind::Npm, SourceKind::Starter]
        .iter()
        .find_map(|k| match entry.sources.get(k) {
            Some(SourceRecord::Npm(n)) if !n.missing && !n.withdrawn => Some(n),
            _ => None,
        })
}

fn deprecation(
    entry: &CatalogEntry,
    npm: Option<&NpmRecord>,
    latest: Option<&str>,
) -> Option<String> {
    if let Some(message) = npm.and_then(|n| {
        n.versions
            .iter()
            .find(|v| Some(v.version.as_str()) == latest)?
            .deprecated
            .clone()
    }) {
        return Some(format!("deprecated on npm: {message}"));
    }
    let listed = entry
        .sources
        .values()
        .any(|r| !r.withdrawn() && !matches!(r, SourceRecord::Npm(n) if n.missing));
    let only_missing = entry
        .sources
        .values()
        .all(|r| matches!(r, SourceRecord::Npm(n) if n.missing));
    (!listed && !only_missing).then(|| "no longer listed by any source".to_string())
}
