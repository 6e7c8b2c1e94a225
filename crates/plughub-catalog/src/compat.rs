//! Compatibility with the `@elizaos/core` majors, recomputed from core ranges with npm's semver semantics
//! (npm ranges are not Cargo ranges: `^0.25.6-alpha.1`, `1.x`, `>=1 <2 || ^2.0.0-alpha`). Ranges that cannot
//! be checked (`latest`, `workspace:*`, a dist-tag, `*`) are kept and flagged, never trusted: a release
//! that depends on core by such a range has an unknown core major, said with the reason, until a
//! compatibility run settles it.

use plughub_domain::core_range::{CoreRange, classify, compare_versions, version_major};
use plughub_domain::{CatalogEntry, CoreMajor, SourceKind, SourceRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How far a plugin is known to work with one core major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CompatStatus {
    /// A published version depends on a core range that admits this major.
    Compatible,
    /// Something claims this major, but its range cannot be checked (or there is no published version).
    Unverified,
    /// A release whose `@elizaos/core` range names no version (`latest`, `*`, a dist-tag,
    /// `workspace:*`): which major it works with is unknown. Only in [`CompatReport::unknown`], never
    /// under a major.
    Unknown,
}

/// The evidence for one major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Compat {
    pub status: CompatStatus,
    /// The newest plugin version for this major.
    pub version: Option<String>,
    pub core_range: Option<String>,
    /// Which source gave the evidence.
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What the sources tell of an entry's compatibility.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompatReport {
    /// The evidence per core major.
    pub majors: BTreeMap<CoreMajor, Compat>,
    /// Releases whose core major is unknown (status [`CompatStatus::Unknown`]): the newest release of a
    /// release line (the plugin's own major), where it depends on core by a range that names no version.
    /// Newest first.
    pub unknown: Vec<Compat>,
    /// Where the data is dirty, in words for users.
    pub flags: Vec<String>,
}

/// Compatibility per major, the releases whose major is unknown, and the flags that tell users where the
/// data is dirty.
pub fn compute(entry: &CatalogEntry) -> CompatReport {
    let mut result: BTreeMap<CoreMajor, Compat> = BTreeMap::new();
    let mut flags = Vec::new();

    // 1. Published versions and their own core ranges: the strongest evidence.
    for (kind, record) in live_npm_records(entry) {
        for v in &record.versions {
            let Some(range) = &v.core_range else { continue };
            let CoreRange::Clean(majors) = classify(range) else {
                continue;
            };
            for major in majors {
                let newer = result.get(&major).is_none_or(|c| {
                    c.version
                        .as_deref()
                        .is_none_or(|old| compare_versions(&v.version, old).is_gt())
                });
                if newer {
                    let compat = Compat {
                        status: CompatStatus::Compatible,
                        version: Some(v.version.clone()),
                        core_range: Some(range.clone()),
                        source: kind.as_str().to_string(),
                        note: None,
                    };
                    result.insert(major, compat);
                }
            }
        }
    }

    // 2. The registry's per-major versions, where npm gave nothing.
    for (kind, record) in entry.sources.iter().filter(|(_, r)| !r.withdrawn()) {
        let SourceRecord::Registry(reg) = record else {
            continue;
        };
        for (major, m) in &reg.majors {
            if result
                .get(major)
                .is_some_and(|c| c.status == CompatStatus::Compatible)
            {
                continue;
            }
            let claimed = reg.supports.get(major).copied().unwrap_or(false);
            let evidence = match (&m.npm_version, &m.core_range) {
                (Some(version), Some(range)) => match classify(range) {
                    CoreRange::Clean(majors) if majors.contains(major) => Some((
                        CompatStatus::Compatible,
                        Some(version.clone()),
                        Some(range.clone()),
                        None,
                    )),
                    CoreRange::Clean(_) => {
                        flags.push(format!(
                            "{}: {} {version} is listed for core {} but its core range '{range}' does not admit it",
                            kind.as_str(),
                            entry.name,
                            major.as_str()
                        ));
                        None
                    }
                    CoreRange::Dirty(why) => Some((
                        CompatStatus::Unverified,
                        Some(version.clone()),
                        Some(range.clone()),
                        Some(why),
                    )),
                },
                (Some(version), None) => Some((
                    CompatStatus::Unverified,
                    Some(version.clone()),
                    None,
                    Some("no core range is known for this version".to_string()),
                )),
                (None, _) if claimed => Some((
                    CompatStatus::Unverified,
                    None,
                    None,
                    Some(match (&m.git_branch, &m.git_version) {
                        (Some(branch), _) => format!("no npm release; git branch '{branch}' only"),
                        (None, Some(version)) => {
                            format!("no npm release; git version {version} only")
                        }
                        (None, None) => {
                            "the registry claims support but names no release".to_string()
                        }
                    }),
                )),
                (None, _) => None,
            };
            if let Some((status, version, core_range, note)) = evidence
                && !result.contains_key(major)
            {
                result.insert(
                    *major,
                    Compat {
                        status,
                        version,
                        core_range,
                        source: kind.as_str().to_string(),
                        note,
                    },
                );
            }
        }
    }

    // 3. Where the registry's `supports` flags disagree with what the packages say.
    for (kind, record) in &entry.sources {
        let SourceRecord::Registry(reg) = record else {
            continue;
        };
        for (major, claimed) in &reg.supports {
            let found = result.contains_key(major);
            if *claimed && !found {
                flags.push(format!(
                    "{}: claims core {} support that no release shows",
                    kind.as_str(),
                    major.as_str()
                ));
            }
        }
    }
    let unknown = unknown_majors(entry);
    for c in result.values().chain(&unknown) {
        if let Some(note) = &c.note {
            flags.push(note.clone());
        }
    }
    flags.sort();
    flags.dedup();
    CompatReport {
        majors: result,
        unknown,
        flags,
    }
}

/// The newest release of each release line (the plugin's own major) of each npm record, where its core
/// range names no version. An older release with such a range is left out when a newer one of its line
/// depends on a real range: the line's present is known.
fn unknown_majors(entry: &CatalogEntry) -> Vec<Compat> {
    let mut found = Vec::new();
    for (kind, record) in live_npm_records(entry) {
        let mut newest_by_line: BTreeMap<u64, &plughub_domain::NpmVersion> = BTreeMap::new();
        for v in &record.versions {
            let Some(line) = version_major(&v.version) else {
                continue;
            };
            let slot = newest_by_line.entry(line).or_insert(v);
            if compare_versions(&v.version, &slot.version).is_gt() {
                *slot = v;
            }
        }
        for v in newest_by_line.values() {
            let Some(range) = &v.core_range else { continue };
            if let CoreRange::Dirty(why) = classify(range) {
                found.push(Compat {
                    status: CompatStatus::Unknown,
                    version: Some(v.version.clone()),
                    core_range: Some(range.clone()),
                    source: kind.as_str().to_string(),
                    note: Some(format!(
                        "{} ({}): {why}, so the core major it works with is unknown until a compatibility run settles it",
                        v.version,
                        kind.as_str()
                    )),
                });
            }
        }
    }
    found.sort_by(|a, b| {
        compare_versions(
            b.version.as_deref().unwrap_or(""),
            a.version.as_deref().unwrap_or(""),
        )
    });
    found
}

fn live_npm_records(
    entry: &CatalogEntry,
) -> impl Iterator<Item = (SourceKind, &plughub_domain::NpmRecord)> {
    entry
        .sources
        .iter()
        .filter_map(|(kind, record)| match record {
            SourceRecord::Npm(npm) if !npm.missing && !npm.withdrawn => Some((*kind, npm)),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use plughub_domain::catalog::RegistryMajor;
    use plughub_domain::{NpmRecord, NpmVersion, RegistryRecord};

    fn npm(versions: &[(&str, &str)]) -> SourceRecord {
        SourceRecord::Npm(NpmRecord {
            versions: versions
                .iter()
                .map(|(v, r)| NpmVersion {
                    version: v.to_string(),
                    core_range: Some(r.to_string()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
    }

    fn entry(sources: Vec<(SourceKind, SourceRecord)>) -> CatalogEntry {
        CatalogEntry {
            name: "@elizaos/plugin-x".into(),
            sources: sources.into_iter().collect(),
        }
    }

    #[test]
    fn npm_semver_ranges_place_versions_on_their_majors() {
        let e = entry(vec![(
            SourceKind::Npm,
            npm(&[
                ("0.1.0", "^0.25.6-alpha.1"),
                ("1.0.0", "^1.0.0"),
                ("1.2.0", "1.x"),
                ("2.0.0-alpha.1", "2.0.0-alpha.3"),
            ]),
        )]);
        let CompatReport {
            majors: compat,
            unknown,
            flags,
        } = compute(&e);
        assert!(unknown.is_empty());
        assert_eq!(compat[&CoreMajor::V0].version.as_deref(), Some("0.1.0"));
        assert_eq!(
            compat[&CoreMajor::V1].version.as_deref(),
            Some("1.2.0"),
            "newest wins"
        );
        assert_eq!(
            compat[&CoreMajor::V2].version.as_deref(),
            Some("2.0.0-alpha.1")
        );
        assert!(
            compat
                .values()
                .all(|c| c.status == CompatStatus::Compatible)
        );
        assert!(flags.is_empty(), "{flags:?}");
    }

    #[test]
    fn open_ended_ranges_count_for_their_lowest_major_only() {
        let compat = compute(&entry(vec![(
            SourceKind::Npm,
            npm(&[("1.0.0", ">=1.0.0")]),
        )]))
        .majors;
        assert!(compat.contains_key(&CoreMajor::V1));
        assert!(!compat.contains_key(&CoreMajor::V2));
        let compat = compute(&entry(vec![(
            SourceKind::Npm,
            npm(&[("1.0.0", "^1.0.0 || ^2.0.0-alpha.1")]),
        )]))
        .majors;
        assert!(compat.contains_key(&CoreMajor::V1) && compat.contains_key(&CoreMajor::V2));
    }

    #[test]
    fn dirty_ranges_are_flagged_and_not_trusted() {
        for dirty in ["latest", "workspace:*", "*", "alpha"] {
            let mut reg = RegistryRecord::default();
            reg.majors.insert(
                CoreMajor::V0,
                RegistryMajor {
                    npm_version: Some("0.5.1".into()),
                    core_range: Some(dirty.into()),
                    ..Default::default()
                },
            );
            reg.supports.insert(CoreMajor::V0, true);
            let CompatReport {
                majors: compat,
                flags,
                ..
            } = compute(&entry(vec![(
                SourceKind::RegistryMain,
                SourceRecord::Registry(reg),
            )]));
            assert_eq!(
                compat[&CoreMajor::V0].status,
                CompatStatus::Unverified,
                "{dirty}"
            );
            assert!(
                flags.iter().any(|f| f.contains(dirty)),
                "{dirty}: {flags:?}"
            );
        }
    }

    #[test]
    fn claims_without_releases_are_flagged() {
        let mut reg = RegistryRecord::default();
        reg.supports.insert(CoreMajor::V1, true);
        let CompatReport {
            majors: compat,
            flags,
            ..
        } = compute(&entry(vec![(
            SourceKind::RegistryMain,
            SourceRecord::Registry(reg),
        )]));
        assert!(compat.is_empty());
        assert!(
            flags.iter().any(|f| f.contains("claims core v1")),
            "{flags:?}"
        );
    }

    /// plugin-solana as npm has it: 0.1.x on a clean range, 1.2.6 (the latest) on `"@elizaos/core":
    /// "latest"`. Its core major is unknown, said with the reason; v0 stays what it is.
    #[test]
    fn a_release_on_a_tag_has_an_unknown_major_with_its_reason() {
        for dirty in ["latest", "*", "next", "workspace:*"] {
            let e = entry(vec![(
                SourceKind::Starter,
                npm(&[("0.1.7", "0.1.7"), ("0.1.9", "0.1.9"), ("1.2.6", dirty)]),
            )]);
            let report = compute(&e);
            assert_eq!(
                report.majors.keys().copied().collect::<Vec<_>>(),
                [CoreMajor::V0],
                "{dirty}"
            );
            let [unknown] = report.unknown.as_slice() else {
                panic!("{dirty}: {:?}", report.unknown);
            };
            assert_eq!(unknown.status, CompatStatus::Unknown);
            assert_eq!(unknown.version.as_deref(), Some("1.2.6"));
            assert_eq!(unknown.core_range.as_deref(), Some(dirty));
            assert_eq!(unknown.source, "starter");
            let note = unknown.note.as_deref().unwrap();
            assert!(
                note.contains(&format!("'{dirty}'"))
                    && note.contains("core major it works with is unknown"),
                "{note}"
            );
            assert!(report.flags.iter().any(|f| f == note), "{:?}", report.flags);
        }
    }

    #[test]
    fn an_old_release_on_a_tag_is_not_unknown_once_its_line_moved_on() {
        let report = compute(&entry(vec![(
            SourceKind::Npm,
            npm(&[
                ("1.0.0", "^1.0.0"),
                ("1.0.1", "workspace:*"),
                ("1.0.2", "^1.0.0"),
                ("2.0.0-alpha.1", "latest"),
            ]),
        )]));
        let versions: Vec<_> = report
            .unknown
            .iter()
            .map(|c| c.version.as_deref().unwrap())
            .collect();
        assert_eq!(versions, ["2.0.0-alpha.1"], "1.0.1 is behind 1.0.2");
        assert_eq!(
            report.majors[&CoreMajor::V1].version.as_deref(),
            Some("1.0.2")
        );
    }
}
