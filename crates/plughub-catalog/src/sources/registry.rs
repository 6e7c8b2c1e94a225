//! Parsing the official registry: `generated-registry.json` in both branch shapes (`main` names core v2
//! `alpha`, `next` names it `v2`), and the hand-edited `index.json` (`{ name: "github:owner/repo" }`) that
//! serves as a fallback when the generated file cannot be had.

use crate::{CatalogError, Result};
use plughub_domain::catalog::RegistryMajor;
use plughub_domain::{CoreMajor, RegistryRecord, SourceKind};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A registry file, parsed.
#[derive(Debug, Clone)]
pub struct RegistrySnapshot {
    pub kind: SourceKind,
    pub last_updated_at: Option<String>,
    pub entries: BTreeMap<String, RegistryRecord>,
    /// False for `index.json`, which names plugins and their repositories only.
    pub detailed: bool,
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(rename = "lastUpdatedAt")]
    last_updated_at: Option<String>,
    registry: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct RawEntry {
    git: Option<RawGit>,
    npm: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    supports: BTreeMap<String, bool>,
    description: Option<String>,
    homepage: Option<String>,
    #[serde(default)]
    topics: Option<Vec<String>>,
    stargazers_count: Option<u64>,
    language: Option<String>,
    kind: Option<String>,
}

#[derive(Deserialize)]
struct RawGit {
    repo: Option<String>,
    #[serde(flatten)]
    majors: BTreeMap<String, RawGitMajor>,
}

#[derive(Deserialize)]
struct RawGitMajor {
    version: Option<String>,
    branch: Option<String>,
}

/// The most bad entries listed in one error; the rest are counted.
const MAX_LISTED: usize = 10;

/// Parses `generated-registry.json` of either shape. Any entry with wrong types fails the whole file: a
/// registry import is all or nothing.
pub fn parse_generated(bytes: &[u8], location: &str) -> Result<RegistrySnapshot> {
    let raw: RawFile = serde_json::from_slice(bytes).map_err(|e| CatalogError::Malformed {
        source_name: "registry".into(),
        location: location.into(),
        reason: if e.is_eof() {
            format!("the file ends early ({e}); was the download truncated?")
        } else {
            format!("{e} (expected {{\"lastUpdatedAt\": ..., \"registry\": {{\"<npm name>\": {{...}}}}}})")
        },
    })?;
    let kind = detect_shape(&raw.registry);
    let mut entries = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, value) in raw.registry {
        match serde_json::from_value::<RawEntry>(value) {
            Ok(entry) => {
                let mut record = record_from_raw(entry);
                record.snapshot_at = raw.last_updated_at.clone();
                entries.insert(name, record);
            }
            Err(e) => problems.push(format!("  entry \"{name}\": {e}")),
        }
    }
    check_problems(location, problems)?;
    Ok(RegistrySnapshot {
        kind,
        last_updated_at: raw.last_updated_at,
        entries,
        detailed: true,
    })
}

/// Parses `index.json`: `{ "<npm name>": "github:owner/repo" }`.
pub fn parse_index(bytes: &[u8], location: &str) -> Result<RegistrySnapshot> {
    let raw: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|e| CatalogError::Malformed {
            source_name: "registry index".into(),
            location: location.into(),
            reason: format!("{e} (expected {{\"<npm name>\": \"github:owner/repo\"}})"),
        })?;
    let mut entries = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, value) in raw {
        match value.as_str() {
            Some(repo) => {
                let git_repo = repo.strip_prefix("github:").unwrap_or(repo).to_string();
                entries.insert(
                    name,
                    RegistryRecord {
                        git_repo: Some(git_repo),
                        ..Default::default()
                    },
                );
            }
            None => problems.push(format!(
                "  entry \"{name}\": expected a string like \"github:owner/repo\", found {value}"
            )),
        }
    }
    check_problems(location, problems)?;
    Ok(RegistrySnapshot {
        kind: SourceKind::RegistryMain,
        last_updated_at: None,
        entries,
        detailed: false,
    })
}

fn check_problems(location: &str, problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    let count = problems.len();
    let mut details = problems
        .into_iter()
        .take(MAX_LISTED)
        .collect::<Vec<_>>()
        .join("\n");
    if count > MAX_LISTED {
        details.push_str(&format!("\n  … and {} more", count - MAX_LISTED));
    }
    Err(CatalogError::BadEntries {
        location: location.into(),
        count,
        details,
    })
}

/// `next` names core v2 `v2`; `main` names it `alpha`. Decided by the keys the entries use.
fn detect_shape(registry: &serde_json::Map<String, serde_json::Value>) -> SourceKind {
    let uses_v2 = registry
        .values()
        .any(|e| e.pointer("/npm/v2").is_some() || e.pointer("/supports/v2").is_some());
    if uses_v2 {
        SourceKind::RegistryNext
    } else {
        SourceKind::RegistryMain
    }
}

fn record_from_raw(raw: RawEntry) -> RegistryRecord {
    let mut majors: BTreeMap<CoreMajor, RegistryMajor> = BTreeMap::new();
    if let Some(npm) = &raw.npm {
        for (key, value) in npm {
            let Some(value) = value.clone() else { continue };
            if let Some(major) = CoreMajor::parse(key) {
                majors.entry(major).or_default().npm_version = Some(value);
            } else if let Some(major) = key.strip_suffix("CoreRange").and_then(CoreMajor::parse) {
                majors.entry(major).or_default().core_range = Some(value);
            }
        }
    }
    if let Some(git) = &raw.git {
        for (key, m) in &git.majors {
            let Some(major) = CoreMajor::parse(key) else {
                continue;
            };
            if m.version.is_some() || m.branch.is_some() {
                let slot = majors.entry(major).or_default();
                slot.git_version = m.version.clone();
                slot.git_branch = m.branch.clone();
            }
        }
    }
    let supports = raw
        .supports
        .iter()
        .filter_map(|(k, v)| CoreMajor::parse(k).map(|m| (m, *v)))
        .collect();
    RegistryRecord {
        git_repo: raw.git.and_then(|g| g.repo),
        description: raw.description.filter(|d| !d.trim().is_empty()),
        homepage: raw.homepage.filter(|h| !h.trim().is_empty()),
        topics: raw.topics.unwrap_or_default(),
        stars: raw.stargazers_count.unwrap_or(0),
        language: raw.language,
        majors,
        supports,
        kind: raw.kind,
        snapshot_at: None,
        withdrawn: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: &str = r#"{"lastUpdatedAt":"2026-04-22T00:49:19.407Z","registry":{
      "@elizaos/plugin-x":{"git":{"repo":"elizaos-plugins/plugin-x","v0":{"version":null,"branch":null},
        "v1":{"version":"1.2.0","branch":"1.x"},"alpha":{"version":null,"branch":null}},
        "npm":{"repo":"@elizaos/plugin-x","v0":null,"v1":"1.2.0","alpha":"2.0.0-alpha.3","v0CoreRange":null,
          "v1CoreRange":"^1.0.0","alphaCoreRange":"2.0.0-alpha.3"},
        "supports":{"v0":false,"v1":true,"alpha":true},"description":null,"homepage":"","topics":["defi"],
        "stargazers_count":7,"language":"TypeScript"}}}"#;

    #[test]
    fn the_main_shape_maps_alpha_to_v2() {
        let snap = parse_generated(MAIN.as_bytes(), "main.json").unwrap();
        assert_eq!(snap.kind, SourceKind::RegistryMain);
        let rec = &snap.entries["@elizaos/plugin-x"];
        assert_eq!(
            rec.majors[&CoreMajor::V2].npm_version.as_deref(),
            Some("2.0.0-alpha.3")
        );
        assert_eq!(
            rec.majors[&CoreMajor::V1].core_range.as_deref(),
            Some("^1.0.0")
        );
        assert_eq!(
            rec.majors[&CoreMajor::V1].git_branch.as_deref(),
            Some("1.x")
        );
        assert!(!rec.majors.contains_key(&CoreMajor::V0));
        assert!(rec.supports[&CoreMajor::V2]);
        assert_eq!(rec.homepage, None, "an empty homepage is no homepage");
        assert_eq!(rec.stars, 7);
        assert_eq!(
            rec.snapshot_at.as_deref(),
            Some("2026-04-22T00:49:19.407Z"),
            "each record carries the date of its snapshot"
        );
    }

    #[test]
    fn the_next_shape_is_recognised() {
        let next = MAIN.replace("alpha", "v2");
        let snap = parse_generated(next.as_bytes(), "next.json").unwrap();
        assert_eq!(snap.kind, SourceKind::RegistryNext);
        assert!(
            snap.entries["@elizaos/plugin-x"]
                .majors
                .contains_key(&CoreMajor::V2)
        );
    }

    #[test]
    fn wrong_types_name_the_entry_and_field_and_import_nothing() {
        let bad = MAIN.replace("\"stargazers_count\":7", "\"stargazers_count\":\"many\"");
        let err = parse_generated(bad.as_bytes(), "bad.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.json"), "{err}");
        assert!(err.contains("@elizaos/plugin-x"), "{err}");
        assert!(err.contains("invalid type"), "{err}");
    }

    #[test]
    fn truncation_and_wrong_shapes_are_told_apart() {
        let err = parse_generated(&MAIN.as_bytes()[..200], "cut.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated"), "{err}");
        let err = parse_generated(b"[1,2]", "list.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected {\"lastUpdatedAt\""), "{err}");
    }

    #[test]
    fn index_entries_carry_their_repository() {
        let snap = parse_index(br#"{"@a/plugin-b":"github:a/b"}"#, "index.json").unwrap();
        assert_eq!(snap.entries["@a/plugin-b"].git_repo.as_deref(), Some("a/b"));
        assert!(!snap.detailed);
        let err = parse_index(br#"{"@a/plugin-b":3}"#, "index.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("@a/plugin-b"), "{err}");
    }
}
