//! What is published to plughub, in npm's shape: a package document (packument) with the published
//! versions only, their `dist` (tarball address, integrity, shasum), the dist-tags and the times. The
//! install path, the `/npm/` endpoints and the catalogue all read a published package through this one
//! view, so they agree on what is installable.

use plughub_store::{RegistryVersionRecord, Store, VERSION_PUBLISHED};
use serde_json::{Map, Value, json};

/// The file name npm gives a version's tarball: `@acme/plugin-x` 1.2.0 → `plugin-x-1.2.0.tgz`.
pub fn tarball_file(package: &str, version: &str) -> String {
    let bare = package.rsplit('/').next().unwrap_or(package);
    format!("{bare}-{version}.tgz")
}

/// The version a tarball file name names, for `package`; `None` when the name is not one of its files.
pub fn version_of_file<'a>(package: &str, file: &'a str) -> Option<&'a str> {
    let bare = package.rsplit('/').next().unwrap_or(package);
    file.strip_prefix(bare)?
        .strip_prefix('-')?
        .strip_suffix(".tgz")
        .filter(|v| !v.is_empty())
}

/// The package document of `package` with tarball addresses under `tarball_base` (which ends with `/`:
/// `http://host/npm/` gives `http://host/npm/@acme/plugin-x/-/plugin-x-1.2.0.tgz`). `None` when
/// nothing of it is published (never uploaded, or every version quarantined, rejected or unpublished).
pub async fn document(
    store: &Store,
    package: &str,
    tarball_base: &str,
) -> plughub_store::Result<Option<Value>> {
    let records = store.registry_versions(package).await?;
    let tags = store.dist_tags(package).await?;
    Ok(document_of(package, &records, &tags, tarball_base))
}

/// The document built from what the store holds (see `document`).
pub fn document_of(
    package: &str,
    records: &[RegistryVersionRecord],
    tags: &[(String, String)],
    tarball_base: &str,
) -> Option<Value> {
    let published: Vec<&RegistryVersionRecord> = records
        .iter()
        .filter(|r| r.status == VERSION_PUBLISHED)
        .collect();
    if published.is_empty() {
        return None;
    }
    let mut versions = Map::new();
    let mut time = Map::new();
    for record in &published {
        let mut manifest = match &record.manifest {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        manifest.insert("name".into(), json!(package));
        manifest.insert("version".into(), json!(record.version));
        manifest.insert(
            "dist".into(),
            json!({
                "tarball": format!(
                    "{tarball_base}{package}/-/{}",
                    tarball_file(package, &record.version)
                ),
                "integrity": record.integrity,
                "shasum": record.shasum,
            }),
        );
        manifest.insert("_id".into(), json!(format!("{package}@{}", record.version)));
        versions.insert(record.version.clone(), Value::Object(manifest));
        time.insert(record.version.clone(), json!(record.created_at));
    }
    // Tags only ever name published versions here: one pointing at a version taken back is left out.
    let dist_tags: Map<String, Value> = tags
        .iter()
        .filter(|(_, v)| versions.contains_key(v))
        .map(|(t, v)| (t.clone(), json!(v)))
        .collect();
    if let (Some(first), Some(last)) = (published.first(), published.last()) {
        time.insert("created".into(), json!(first.created_at));
        time.insert("modified".into(), json!(last.created_at));
    }
    let latest = dist_tags
        .get("latest")
        .and_then(Value::as_str)
        .and_then(|v| versions.get(v));
    let description = latest
        .and_then(|m| m.get("description"))
        .cloned()
        .unwrap_or(Value::Null);
    let readme = latest
        .and_then(|m| m.get("readme"))
        .cloned()
        .unwrap_or(Value::Null);
    Some(json!({
        "_id": package,
        "name": package,
        "description": description,
        "readme": readme,
        "dist-tags": dist_tags,
        "versions": versions,
        "time": time,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(version: &str, status: &str) -> RegistryVersionRecord {
        RegistryVersionRecord {
            package: "@acme/plugin-x".into(),
            version: version.into(),
            namespace: "@acme".into(),
            status: status.into(),
            integrity: format!("sha512-{version}"),
            shasum: "00".into(),
            size: 10,
            manifest: json!({ "name": "@acme/plugin-x", "version": version, "description": version }),
            checks: json!({}),
            published_by: "p".into(),
            created_at: format!("2026-12-0{}T00:00:00Z", &version[..1]),
            decided_at: None,
            decided_by: None,
            decision_note: None,
            unpublished_at: None,
        }
    }

    #[test]
    fn only_published_versions_and_tags_naming_them_are_shown() {
        let records = [
            record("1.0.0", VERSION_PUBLISHED),
            record("2.0.0", "quarantined"),
        ];
        let tags = [
            ("latest".to_string(), "1.0.0".to_string()),
            ("next".to_string(), "2.0.0".to_string()),
        ];
        let doc = document_of("@acme/plugin-x", &records, &tags, "http://h/npm/").unwrap();
        assert_eq!(
            doc["versions"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["1.0.0"]
        );
        assert_eq!(doc["dist-tags"], json!({ "latest": "1.0.0" }));
        assert_eq!(
            doc["versions"]["1.0.0"]["dist"]["tarball"],
            "http://h/npm/@acme/plugin-x/-/plugin-x-1.0.0.tgz"
        );
        assert_eq!(doc["description"], "1.0.0");
        assert!(document_of("@acme/plugin-x", &records[1..], &tags, "http://h/npm/").is_none());
    }

    #[test]
    fn tarball_files_name_their_version() {
        assert_eq!(
            tarball_file("@acme/plugin-x", "1.2.0"),
            "plugin-x-1.2.0.tgz"
        );
        assert_eq!(
            version_of_file("@acme/plugin-x", "plugin-x-1.2.0-beta.1.tgz"),
            Some("1.2.0-beta.1")
        );
        assert_eq!(
            version_of_file("@acme/plugin-x", "plugin-y-1.2.0.tgz"),
            None
        );
        assert_eq!(version_of_file("plugin-x", "plugin-x-.tgz"), None);
    }
}
