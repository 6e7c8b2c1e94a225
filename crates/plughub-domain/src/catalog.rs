//! The catalogue's data as each source reported it. An entry keeps one record per source, so a sync of one
//! source replaces only that source's record: importing the `next` registry over `main` merges the two instead
//! of overwriting, and a second import of the same data leaves the entry byte-for-byte equal. The merged view
//! that users see is derived from these records by the catalogue crate and never stored.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A major line of `@elizaos/core`. The registry calls v2 `alpha` on its `main` branch and `v2` on `next`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum CoreMajor {
    V0,
    V1,
    V2,
}

impl CoreMajor {
    pub const ALL: [CoreMajor; 3] = [CoreMajor::V0, CoreMajor::V1, CoreMajor::V2];

    pub fn number(self) -> u64 {
        match self {
            CoreMajor::V0 => 0,
            CoreMajor::V1 => 1,
            CoreMajor::V2 => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CoreMajor::V0 => "v0",
            CoreMajor::V1 => "v1",
            CoreMajor::V2 => "v2",
        }
    }

    pub fn parse(s: &str) -> Option<CoreMajor> {
        match s.trim().to_ascii_lowercase().as_str() {
            "v0" | "0" => Some(CoreMajor::V0),
            "v1" | "1" => Some(CoreMajor::V1),
            "v2" | "2" | "alpha" => Some(CoreMajor::V2),
            _ => None,
        }
    }
}

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SourceKind {
    /// The official registry's `main` branch shape (`alpha` for core v2).
    #[serde(rename = "registry:main")]
    RegistryMain,
    /// The official registry's `next` branch shape (`v2`).
    #[serde(rename = "registry:next")]
    RegistryNext,
    /// The package document on the npm registry of the user's configuration.
    #[serde(rename = "npm")]
    Npm,
    /// The starter catalogue carried by the binary, until the first live sync replaces it.
    #[serde(rename = "starter")]
    Starter,
    /// Published to plughub itself (`plughub-registry`): the npm view of its published versions. A
    /// catalogue sync never reads, changes or removes it.
    #[serde(rename = "plughub")]
    Plughub,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::RegistryMain => "registry:main",
            SourceKind::RegistryNext => "registry:next",
            SourceKind::Npm => "npm",
            SourceKind::Starter => "starter",
            SourceKind::Plughub => "plughub",
        }
    }

    /// Live sources are the ones a sync reads from the network or a file; the starter is not one.
    pub fn is_live(self) -> bool {
        !matches!(self, SourceKind::Starter)
    }
}

/// One catalogue entry: an npm package name and what each source said of it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub name: String,
    pub sources: BTreeMap<SourceKind, SourceRecord>,
}

/// What one source said of a plugin. `withdrawn` is set when the source used to list the plugin and no
/// longer does: the record is kept (nothing is deleted), and the entry is deprecated once every live source
/// has withdrawn it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SourceRecord {
    Registry(RegistryRecord),
    Npm(NpmRecord),
}

impl SourceRecord {
    pub fn withdrawn(&self) -> bool {
        match self {
            SourceRecord::Registry(r) => r.withdrawn,
            SourceRecord::Npm(r) => r.withdrawn,
        }
    }

    pub fn set_withdrawn(&mut self, withdrawn: bool) {
        match self {
            SourceRecord::Registry(r) => r.withdrawn = withdrawn,
            SourceRecord::Npm(r) => r.withdrawn = withdrawn,
        }
    }
}

/// One registry entry, as published (field names normalised: `alpha` is stored as v2).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RegistryRecord {
    /// `owner/name` on GitHub.
    pub git_repo: Option<String>,
    pub description: Option<String>,
    pub homepage: Option<String>,
    pub topics: Vec<String>,
    pub stars: u64,
    pub language: Option<String>,
    /// Per core major: the newest npm version and its `@elizaos/core` range, and the git branch/version.
    pub majors: BTreeMap<CoreMajor, RegistryMajor>,
    /// The registry's own `supports` flags; kept to show where they disagree with the packages.
    pub supports: BTreeMap<CoreMajor, bool>,
    /// `kind` from the registry-v2 format, when present.
    pub kind: Option<String>,
    /// The `lastUpdatedAt` of the registry file that said this: the date of the snapshot the data is as
    /// of. A later file that says the same leaves the record, and this date, as they were (no update
    /// without a change). `None` for the index, which has no date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_at: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
}

impl RegistryRecord {
    /// The same data, whatever snapshot it was read from.
    pub fn same_data(&self, other: &RegistryRecord) -> bool {
        RegistryRecord {
            snapshot_at: None,
            ..self.clone()
        } == RegistryRecord {
            snapshot_at: None,
            ..other.clone()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RegistryMajor {
    pub npm_version: Option<String>,
    pub core_range: Option<String>,
    pub git_version: Option<String>,
    pub git_branch: Option<String>,
}

/// A package document from npm, reduced to what the catalogue uses.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NpmRecord {
    /// The registry answered 404 for this name: listed somewhere, but not published (or not mirrored).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
    pub description: Option<String>,
    pub dist_tags: BTreeMap<String, String>,
    pub versions: Vec<NpmVersion>,
    pub license: Option<String>,
    pub maintainers: Vec<String>,
    /// Repository URL as published.
    pub repository: Option<String>,
    pub homepage: Option<String>,
    pub keywords: Vec<String>,
    /// `agentConfig` of the newest version, as published.
    pub agent_config: Option<serde_json::Value>,
    /// When the document was last modified upstream.
    pub modified: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
}

/// One published version and the `@elizaos/core` range it depends on (dependency or peer).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NpmVersion {
    pub version: String,
    pub core_range: Option<String>,
    pub published: Option<String>,
    pub deprecated: Option<String>,
    /// The unpacked size of its tarball in bytes (`dist.unpackedSize`), where npm gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpacked_size: Option<u64>,
    /// Its runtime dependencies (`dependencies`): package name → range.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: BTreeMap<String, String>,
    /// The provenance attestation npm lists for it (`dist.attestations`), where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// What npm says of a version's provenance (`dist.attestations`): where its attestations are and the
/// kind of statement. Kept as npm gives it: its signatures are not checked here (that needs the
/// transparency log, which is not reachable offline), so it is information, not proof.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Provenance {
    /// Where npm serves the attestations.
    pub url: Option<String>,
    /// The statement's predicate type, e.g. `https://slsa.dev/provenance/v1`.
    pub predicate_type: Option<String>,
}
