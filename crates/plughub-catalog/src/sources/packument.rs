//! Reducing an npm package document (packument) to the catalogue's record. Real documents are untidy
//! (a license as a string or an object, a repository likewise, a readme placeholder), so every field is
//! read leniently and the odd ones are dropped rather than failing the package.

pub use plughub_domain::core_range::compare_versions;
use plughub_domain::{NpmRecord, NpmVersion};
use serde_json::Value;
use std::collections::BTreeMap;

/// Readmes are indexed for search; past this size the rest adds little and costs memory.
pub const MAX_README_BYTES: usize = 64 * 1024;

/// The record and the readme (kept apart: the readme is knowledge, not entry data).
pub fn reduce(doc: &Value) -> (NpmRecord, Option<String>) {
    let dist_tags: BTreeMap<String, String> = doc
        .get("dist-tags")
        .and_then(Value::as_object)
        .map(|tags| {
            tags.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let times = doc.get("time").and_then(Value::as_object);
    let empty = serde_json::Map::new();
    let version_docs = doc
        .get("versions")
        .and_then(Value::as_object)
        .unwrap_or(&empty);

    let mut versions: Vec<NpmVersion> = version_docs
        .iter()
        .map(|(version, vdoc)| NpmVersion {
            version: version.clone(),
            core_range: core_range(vdoc),
            published: times
                .and_then(|t| t.get(version))
                .and_then(Value::as_str)
                .map(str::to_string),
            deprecated: vdoc
                .get("deprecated")
                .and_then(Value::as_str)
                .map(str::to_string),
            unpacked_size: vdoc.pointer("/dist/unpackedSize").and_then(Value::as_u64),
            dependencies: vdoc
                .get("dependencies")
                .and_then(Value::as_object)
                .map(|deps| {
                    deps.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            provenance: vdoc
                .pointer("/dist/attestations")
                .filter(|a| a.is_object())
                .map(|a| plughub_domain::catalog::Provenance {
                    url: a.get("url").and_then(Value::as_str).map(str::to_string),
                    predicate_type: a
                        .pointer("/provenance/predicateType")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                }),
        })
        .collect();
    versions.sort_by(|a, b| compare_versions(&a.version, &b.version));

    let newest = dist_tags
        .get("latest")
        .and_then(|v| version_docs.get(v))
        .or_else(|| versions.last().and_then(|v| version_docs.get(&v.version)));
    let field = |name: &str| newest.and_then(|v| v.get(name)).or_else(|| doc.get(name));

    let record = NpmRecord {
        missing: false,
        description: field("description")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Into::into),
        dist_tags,
        versions,
        license: field("license").and_then(license_text),
        maintainers: doc
            .get("maintainers")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(person_name).collect())
            .unwrap_or_default(),
        repository: field("repository").and_then(url_text),
        homepage: field("homepage")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(Into::into),
        keywords: field("keywords")
            .and_then(Value::as_array)
            .map(|k| {
                k.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        agent_config: newest
            .and_then(|v| v.get("agentConfig"))
            .filter(|v| v.is_object())
            .cloned(),
        modified: times
            .and_then(|t| t.get("modified"))
            .and_then(Value::as_str)
            .map(str::to_string),
        withdrawn: false,
    };
    let readme = doc
        .get("readme")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|r| !r.is_empty() && !r.starts_with("ERROR: No README data found"))
        .map(|r| truncate_utf8(r, MAX_README_BYTES).to_string());
    (record, readme)
}

/// The `@elizaos/core` range a version was built against: a dependency, else a peer dependency.
fn core_range(vdoc: &Value) -> Option<String> {
    ["dependencies", "peerDependencies"]
        .iter()
        .find_map(|deps| {
            vdoc.get(deps)?
                .get("@elizaos/core")?
                .as_str()
                .map(str::to_string)
        })
}

fn license_text(v: &Value) -> Option<String> {
    v.as_str()
        .or_else(|| v.get("type")?.as_str())
        .map(str::to_string)
}

fn url_text(v: &Value) -> Option<String> {
    v.as_str()
        .or_else(|| v.get("url")?.as_str())
        .map(str::to_string)
}

fn person_name(v: &Value) -> Option<String> {
    v.as_str()
        .or_else(|| v.get("name")?.as_str())
        .map(str::to_string)
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_real_shaped_document_reduces_to_its_record() {
        let doc = json!({
            "name": "@elizaos/plugin-x",
            "dist-tags": { "latest": "1.10.0", "alpha": "2.0.0-alpha.2" },
            "maintainers": [{ "name": "shaw", "email": "x@y" }, "odi"],
            "time": { "modified": "2026-01-02T00:00:00.000Z", "1.10.0": "2026-01-01T00:00:00.000Z" },
            "readme": "# X\nDoes x.",
            "versions": {
                "1.9.0": { "dependencies": { "@elizaos/core": "^1.0.0" } },
                "1.10.0": {
                    "description": " X things ", "license": { "type": "MIT" },
                    "repository": { "type": "git", "url": "git+https://github.com/elizaos-plugins/plugin-x.git" },
                    "peerDependencies": { "@elizaos/core": "^1.7.0" }, "keywords": ["elizaos", 3],
                    "agentConfig": { "pluginType": "elizaos:plugin:1.0.0" }
                },
                "2.0.0-alpha.2": { "dependencies": { "@elizaos/core": "workspace:*" }, "deprecated": "use 1.x" }
            }
        });
        let (rec, readme) = reduce(&doc);
        assert_eq!(
            rec.versions
                .iter()
                .map(|v| v.version.as_str())
                .collect::<Vec<_>>(),
            ["1.9.0", "1.10.0", "2.0.0-alpha.2"]
        );
        assert_eq!(rec.description.as_deref(), Some("X things"));
        assert_eq!(rec.license.as_deref(), Some("MIT"));
        assert_eq!(rec.maintainers, ["shaw", "odi"]);
        assert_eq!(rec.keywords, ["elizaos"]);
        assert_eq!(
            rec.versions[1].core_range.as_deref(),
            Some("^1.7.0"),
            "peer dependency"
        );
        assert_eq!(
            rec.versions[1].published.as_deref(),
            Some("2026-01-01T00:00:00.000Z")
        );
        assert_eq!(rec.versions[2].deprecated.as_deref(), Some("use 1.x"));
        assert!(rec.agent_config.is_some());
        assert_eq!(readme.as_deref(), Some("# X\nDoes x."));
    }

    #[test]
    fn readme_placeholders_and_oversized_readmes() {
        let (_, readme) = reduce(&json!({ "readme": "ERROR: No README data found!" }));
        assert_eq!(readme, None);
        let big = "é".repeat(MAX_README_BYTES);
        let (_, readme) = reduce(&json!({ "readme": big }));
        assert!(readme.unwrap().len() <= MAX_README_BYTES);
    }
}
