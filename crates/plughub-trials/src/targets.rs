//! What a run tries: each catalogue plugin with an npm package, its newest version per core major as
//! the catalogue knows them (`plughub_catalog::compat`), else its latest version, else the registry's
//! `latest` (the install then says whether the registry has it).

use plughub_catalog::compat;
use plughub_catalog::view::PluginView;
use plughub_domain::{CatalogEntry, SourceRecord};
use plughub_store::{Store, StoreError};
use std::collections::BTreeSet;

/// One version of one catalogue plugin to try.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The catalogue entry's id: the trial's event names it.
    pub entry_id: String,
    pub plugin: String,
    pub package: String,
    pub version: String,
    pub core_major: Option<u32>,
}

/// The targets of `names` (catalogue names, exactly), or of every plugin when `None`.
pub async fn targets(store: &Store, names: Option<&[String]>) -> Result<Vec<Target>, StoreError> {
    let wanted: Option<BTreeSet<&str>> = names.map(|n| n.iter().map(String::as_str).collect());
    let mut out = Vec::new();
    for row in store.catalog_rows().await? {
        if wanted
            .as_ref()
            .is_some_and(|w| !w.contains(row.name.as_str()))
        {
            continue;
        }
        let entry: CatalogEntry =
            serde_json::from_str(&row.properties).map_err(|e| StoreError::Corrupt {
                what: format!("catalogue entry {}", row.name),
                reason: e.to_string(),
            })?;
        out.extend(of_entry(&row.id, &entry));
    }
    Ok(out)
}

/// The versions of one entry to try; none when no source says it is on npm.
pub fn of_entry(entry_id: &str, entry: &CatalogEntry) -> Vec<Target> {
    let on_npm = entry.sources.values().any(|r| match r {
        SourceRecord::Npm(_) => true,
        SourceRecord::Registry(reg) => reg.majors.values().any(|m| m.npm_version.is_some()),
    });
    if !on_npm {
        return Vec::new();
    }
    let target = |version: String, core_major: Option<u32>| Target {
        entry_id: entry_id.to_string(),
        plugin: entry.name.clone(),
        package: entry.name.clone(),
        version,
        core_major,
    };
    let report = compat::compute(entry);
    let mut out: Vec<Target> = Vec::new();
    for (major, c) in &report.majors {
        if let Some(version) = &c.version
            && !out.iter().any(|t| &t.version == version)
        {
            out.push(target(version.clone(), Some(major.number() as u32)));
        }
    }
    // Release lines whose core range names no version: tried too, their core major unknown.
    for c in &report.unknown {
        if let Some(version) = &c.version
            && !out.iter().any(|t| &t.version == version)
        {
            out.push(target(version.clone(), None));
        }
    }
    if out.is_empty() {
        let latest = PluginView::from_entry(entry)
            .latest_version
            .unwrap_or_else(|| "latest".to_string());
        out.push(target(latest, None));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use plughub_domain::{NpmRecord, NpmVersion, SourceKind};

    fn entry(versions: &[(&str, &str)]) -> CatalogEntry {
        CatalogEntry {
            name: "@elizaos/plugin-x".into(),
            sources: [(
                SourceKind::Npm,
                SourceRecord::Npm(NpmRecord {
                    versions: versions
                        .iter()
                        .map(|(v, core)| NpmVersion {
                            version: v.to_string(),
                            core_range: Some(core.to_string()),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }),
            )]
            .into(),
        }
    }

    #[test]
    fn the_newest_version_per_core_major_and_lines_of_unknown_major() {
        let e = entry(&[
            ("0.25.1", "^0.25.0"),
            ("0.25.9", "^0.25.0"),
            ("1.0.0", "^1.0.0"),
            ("1.2.0", "^1.2.0"),
            ("2.0.0-alpha.1", "latest"),
        ]);
        let found: Vec<(String, Option<u32>)> = of_entry("id", &e)
            .into_iter()
            .map(|t| (t.version, t.core_major))
            .collect();
        assert_eq!(
            found,
            vec![
                ("0.25.9".to_string(), Some(0)),
                ("1.2.0".to_string(), Some(1)),
                ("2.0.0-alpha.1".to_string(), None)
            ]
        );
    }

    #[test]
    fn an_entry_without_npm_has_nothing_to_try() {
        let e = CatalogEntry {
            name: "@x/plugin-git-only".into(),
            sources: Default::default(),
        };
        assert!(of_entry("id", &e).is_empty());
    }
}
