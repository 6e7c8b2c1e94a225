//! Choosing the version to install from a package document: a dist-tag, an exact version or an npm range,
//! and, when a core major is asked for, only versions whose `@elizaos/core` range admits it.

use crate::InstallError;
use crate::integrity::Expected;
use nodejs_semver::{Range, Version};
use plughub_domain::CoreMajor;
use plughub_domain::core_range::{CoreRange, plugin_core_range, runtime_core_range};
use serde_json::Value;

/// The version chosen, and where to get it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub name: String,
    pub version: String,
    pub tarball: String,
    pub expected: Expected,
    pub core_range: Option<String>,
    /// When the version was published (the document's `time`), if the registry says.
    pub published: Option<String>,
    /// The version's own document (its package.json as published).
    pub manifest: Value,
}

/// How a version stands with a core major: by the core range it runs against, or, when that says nothing,
/// the one it was built against (plughub then installs that core for it: see `pins`).
fn works_with(manifest: &Value, core: CoreMajor) -> Result<bool, String> {
    match plugin_core_range(manifest) {
        // No dependency on the core: nothing ties it to one major.
        None => Ok(true),
        Some(CoreRange::Clean(majors)) => Ok(majors.contains(&core)),
        Some(CoreRange::Dirty(why)) => Err(why),
    }
}

pub fn resolve(
    doc: &Value,
    name: &str,
    wanted: Option<&str>,
    core: Option<CoreMajor>,
) -> Result<Resolved, InstallError> {
    let empty = serde_json::Map::new();
    let versions = doc
        .get("versions")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let tags = doc
        .get("dist-tags")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut parsed: Vec<(Version, &String)> = versions
        .keys()
        .filter_map(|v| Version::parse(v).ok().map(|p| (p, v)))
        .collect();
    parsed.sort_by(|a, b| b.0.cmp(&a.0));
    let available = describe_available(&parsed, tags);

    let tagged = wanted.and_then(|w| tags.get(w)).and_then(Value::as_str);
    let candidates: Vec<&String> = match (wanted, tagged) {
        (None, _) => {
            // The `latest` tag first, as npm does; then the newest stable, then the newest of all.
            let latest = tags
                .get("latest")
                .and_then(Value::as_str)
                .and_then(|l| versions.get_key_value(l))
                .map(|(k, _)| k);
            let stable = parsed
                .iter()
                .filter(|(v, _)| !v.is_prerelease())
                .map(|(_, s)| *s);
            let pre = parsed
                .iter()
                .filter(|(v, _)| v.is_prerelease())
                .map(|(_, s)| *s);
            latest.into_iter().chain(stable).chain(pre).collect()
        }
        (Some(_), Some(version)) => versions
            .get_key_value(version)
            .map(|(k, _)| k)
            .into_iter()
            .collect(),
        (Some(w), None) => {
            let range = Range::parse(w).map_err(|_| InstallError::NoTarget {
                name: name.into(),
                wanted: w.into(),
                available: available.clone(),
            })?;
            parsed
                .iter()
                .filter(|(v, _)| v.satisfies(&range))
                .map(|(_, s)| *s)
                .collect()
        }
    };
    if candidates.is_empty() {
        return Err(InstallError::NoTarget {
            name: name.into(),
            wanted: wanted.unwrap_or("latest").into(),
            available,
        });
    }

    let mut unverifiable = Vec::new();
    let chosen = match core {
        None => candidates[0],
        Some(core) => {
            let fit = candidates
                .iter()
                .find(|v| match works_with(&versions[v.as_str()], core) {
                    Ok(ok) => ok,
                    Err(why) => {
                        unverifiable.push(format!("{v} ({why})"));
                        false
                    }
                });
            match fit {
                Some(v) => v,
                None => {
                    let mut available = available;
                    if !unverifiable.is_empty() {
                        unverifiable.truncate(3);
                        available.push_str(&format!("; not trusted: {}", unverifiable.join(", ")));
                    }
                    return Err(InstallError::NoCompatible {
                        name: name.into(),
                        core: core.as_str().into(),
                        available,
                    });
                }
            }
        }
    };
    let manifest = versions[chosen.as_str()].clone();
    let dist = manifest.get("dist");
    let tarball = dist
        .and_then(|d| d.get("tarball"))
        .and_then(Value::as_str)
        .ok_or_else(|| InstallError::NoTarball {
            name: name.into(),
            version: chosen.clone(),
        })?
        .to_string();
    let expected = match (
        dist.and_then(|d| d.get("integrity"))
            .and_then(Value::as_str),
        dist.and_then(|d| d.get("shasum")).and_then(Value::as_str),
    ) {
        (Some(sri), _) => Expected::Sri(sri.to_string()),
        (None, Some(sha1)) => Expected::Sha1Hex(sha1.to_string()),
        (None, None) => {
            return Err(InstallError::BadIntegrity {
                name: name.into(),
                version: chosen.clone(),
                value: String::new(),
                reason: "the document gives no integrity and no shasum; plughub installs nothing it cannot verify".into(),
            });
        }
    };
    let core_range = runtime_core_range(&manifest).map(str::to_string);
    // When the registry says (npm's `time`): the versions of the packages a plugin names by a range that
    // says nothing are chosen as they were at this moment.
    let published = doc
        .get("time")
        .and_then(|t| t.get(chosen.as_str()))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Resolved {
        name: name.into(),
        version: chosen.clone(),
        tarball,
        expected,
        core_range,
        published,
        manifest,
    })
}

fn describe_available(
    parsed: &[(Version, &String)],
    tags: &serde_json::Map<String, Value>,
) -> String {
    if parsed.is_empty() {
        return "the package has no published version".into();
    }
    let newest: Vec<&str> = parsed.iter().take(8).map(|(_, s)| s.as_str()).collect();
    let mut text = format!("newest versions: {}", newest.join(", "));
    if parsed.len() > 8 {
        text.push_str(&format!(" (of {})", parsed.len()));
    }
    let tags: Vec<String> = tags
        .iter()
        .filter_map(|(k, v)| Some(format!("{k}={}", v.as_str()?)))
        .collect();
    if !tags.is_empty() {
        text.push_str(&format!("; tags: {}", tags.join(", ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        let v = |core: &str| json!({ "dependencies": { "@elizaos/core": core }, "dist": { "tarball": "http://127.0.0.1:1/x.tgz", "integrity": "sha512-AAAA" } });
        json!({
            "dist-tags": { "latest": "1.2.0", "next": "2.0.0-alpha.3" },
            "versions": {
                "0.9.0": v("^0.25.6-alpha.1"), "1.0.0": v("^1.0.0"), "1.2.0": v("^1.7.0"),
                "1.3.0-beta.1": v("^1.7.0"), "2.0.0-alpha.3": v("2.0.0-alpha.3"), "2.0.0-alpha.4": v("workspace:*")
            }
        })
    }

    #[test]
    fn latest_tags_ranges_and_exact_versions() {
        let r = |w: Option<&str>, core| resolve(&doc(), "p", w, core).map(|r| r.version);
        assert_eq!(r(None, None).unwrap(), "1.2.0");
        assert_eq!(r(Some("next"), None).unwrap(), "2.0.0-alpha.3");
        assert_eq!(
            r(Some("^1.0.0"), None).unwrap(),
            "1.2.0",
            "a range skips prereleases, as npm does"
        );
        assert_eq!(r(Some("1.0.0"), None).unwrap(), "1.0.0");
        assert_eq!(r(None, Some(CoreMajor::V0)).unwrap(), "0.9.0");
        assert_eq!(r(None, Some(CoreMajor::V2)).unwrap(), "2.0.0-alpha.3");
    }

    /// `@elizaos/plugin-mcp` 1.8.2 peers on core `*` and builds against `^1.7.0`: `--core v1` takes it.
    #[test]
    fn a_range_that_says_nothing_is_read_from_the_core_built_against() {
        let dist = json!({ "tarball": "http://127.0.0.1:1/x.tgz", "integrity": "sha512-AAAA" });
        let doc = json!({
            "dist-tags": { "latest": "1.8.2" },
            "time": { "1.8.2": "2026-03-23T12:07:18.304000+00:00" },
            "versions": {
                "1.3.5": { "dependencies": { "@elizaos/core": "^1.0.0" }, "dist": dist },
                "1.8.2": { "peerDependencies": { "@elizaos/core": "*" },
                           "devDependencies": { "@elizaos/core": "^1.7.0" }, "dist": dist }
            }
        });
        let r = resolve(&doc, "p", None, Some(CoreMajor::V1)).unwrap();
        assert_eq!(r.version, "1.8.2");
        assert_eq!(r.core_range.as_deref(), Some("*"), "the published range");
        assert_eq!(
            r.published.as_deref(),
            Some("2026-03-23T12:07:18.304000+00:00")
        );
        let err = resolve(&doc, "p", Some("1.8.2"), Some(CoreMajor::V2))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no version works with core v2"), "{err}");
    }

    #[test]
    fn notarget_and_no_compatible_version_say_what_there_is() {
        let err = resolve(&doc(), "p", Some("9.9.9"), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("notarget")
                && err.contains("newest versions: 2.0.0-alpha.4")
                && err.contains("latest=1.2.0"),
            "{err}"
        );
        let err = resolve(&doc(), "p", Some("^1.0.0"), Some(CoreMajor::V2))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no version works with core v2"), "{err}");
        let err = resolve(&doc(), "p", Some("2.0.0-alpha.4"), Some(CoreMajor::V2))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not trusted: 2.0.0-alpha.4 (core range 'workspace:*'"),
            "{err}"
        );
    }
}
