//! Dependency ranges of a published plugin that cannot be installed as written, replaced with versions
//! published on the registry before pnpm runs:
//! - `workspace:` references (`@elizaos/plugin-edge-tts` 1.0.0 publishes `"@elizaos/core": "workspace:*"`):
//!   the monorepo protocol its publishing tool should have replaced. They are replaced as npm and pnpm do at
//!   publish time: `workspace:*` by the exact version, `workspace:^` and `workspace:~` by that range, and
//!   `workspace:<range>` by the range.
//! - an `@elizaos/core` range that says nothing (`latest`, `*`, a tag; or none in `dependencies` and
//!   `peerDependencies` while `devDependencies` names one): pnpm would install the newest core, which may lack
//!   what the plugin calls (`@elizaos/plugin-mcp` 1.8.2 peers on `*` and imports `getRequestContext`, which
//!   only the core published just before it has). elizaOS gives a plugin the host's core; plughub has none,
//!   so it installs the core the plugin was built against.
//!
//! Which published version stands for "the one it was built against": among the versions the plugin's other
//! constraints admit (prereleases included: monorepo plugins build against the core of that moment, often a
//! prerelease), the one published most recently at or before the plugin itself (the registry's `time`):
//! that is what its author's workspace or lockfile held when it was built. Without publish times, the newest
//! version those constraints admit.

use crate::InstallError;
use crate::source::PackageSource;
use nodejs_semver::{Range, Version};
use plughub_domain::CoreMajor;
use plughub_domain::core_range::{CORE_PACKAGE, CoreRange, classify};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One dependency range replaced before pnpm runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pin {
    /// The package.json field it is in (`dependencies`, `peerDependencies`, …).
    pub field: String,
    pub name: String,
    /// The range as published; `None` when the field did not name the package.
    pub from: Option<String>,
    pub to: String,
    pub why: String,
}

const FIELDS: [&str; 3] = ["dependencies", "optionalDependencies", "peerDependencies"];

/// The pins of a plugin's published `manifest`; `published` is its publish time. They depend on the version
/// and the registry only (not on the core major an organisation asked for: `resolve` has chosen a version
/// that works with it already), so one package folder serves every organisation. Fails, naming the
/// dependency, on a `workspace:` reference to a package of which no version is published.
pub async fn pins(
    client: &dyn PackageSource,
    plugin: &str,
    manifest: &Value,
    published: Option<&str>,
) -> Result<Vec<Pin>, InstallError> {
    let mut pins = Vec::new();
    let core_within = core_constraint(manifest);
    for field in FIELDS {
        let Some(deps) = manifest.get(field).and_then(Value::as_object) else {
            continue;
        };
        for (name, spec) in deps {
            let Some(spec) = spec.as_str().filter(|s| s.starts_with("workspace:")) else {
                continue;
            };
            let within = if name == CORE_PACKAGE {
                core_within.clone()
            } else {
                Within::default()
            };
            let to = workspace_range(client, plugin, name, spec, published, &within).await?;
            pins.push(Pin {
                field: field.into(),
                name: name.clone(),
                from: Some(spec.to_string()),
                why: format!(
                    "{name}@{spec} is a reference to its author's monorepo, replaced as npm replaces it at publish time"
                ),
                to,
            });
        }
    }
    pins.extend(core_pins(client, manifest, published, &core_within, &pins).await?);
    Ok(pins)
}

/// The range npm publishes for `dependency@spec` (a `workspace:` reference) in `plugin`, published at
/// `published`: `*` the exact version it was built against, `^`/`~` that range, a range as it is. Fails,
/// naming the dependency, when the registry has no version of it.
pub async fn workspace_range(
    client: &dyn PackageSource,
    plugin: &str,
    dependency: &str,
    spec: &str,
    published: Option<&str>,
    within: &Within,
) -> Result<String, InstallError> {
    let refused = |reason: String| InstallError::WorkspaceDependency {
        plugin: plugin.into(),
        dependency: dependency.into(),
        spec: spec.into(),
        reason,
    };
    let rest = spec.strip_prefix("workspace:").unwrap_or(spec).trim();
    match rest {
        "*" | "" | "^" | "~" => {
            let doc = match client.document(dependency).await {
                Ok(doc) => doc,
                Err(e @ (InstallError::NotOnNpm { .. } | InstallError::NotPublished { .. })) => {
                    return Err(refused(e.to_string()));
                }
                Err(e) => return Err(e),
            };
            let Some(version) = built_against(&doc, published, within) else {
                return Err(refused(format!(
                    "the registry has no version of {dependency}{}",
                    within.describe()
                )));
            };
            Ok(match rest {
                "^" => format!("^{version}"),
                "~" => format!("~{version}"),
                _ => version,
            })
        }
        range if Range::parse(range).is_ok() => Ok(range.to_string()),
        other => Err(refused(format!(
            "'{other}' after workspace: is neither *, ^, ~ nor a version range"
        ))),
    }
}

/// The pins of `@elizaos/core` (in each field naming it) when the plugin's runtime range says nothing
/// checkable (a `workspace:` one is pinned already).
async fn core_pins(
    client: &dyn PackageSource,
    manifest: &Value,
    published: Option<&str>,
    within: &Within,
    pinned: &[Pin],
) -> Result<Vec<Pin>, InstallError> {
    let declared: Vec<(&str, Option<&str>)> = ["dependencies", "peerDependencies"]
        .into_iter()
        .filter_map(|f| Some((f, Some(manifest.get(f)?.get(CORE_PACKAGE)?.as_str()?))))
        .collect();
    let built = manifest
        .get("devDependencies")
        .and_then(|d| d.get(CORE_PACKAGE))
        .and_then(Value::as_str);
    let targets = if declared.is_empty() {
        // Not a dependency at all, not even in development: the plugin does not use the core.
        if built.is_none() {
            return Ok(Vec::new());
        }
        // Built against a core, run without declaring one: elizaOS gives it the host's.
        vec![("dependencies", None)]
    } else if declared
        .iter()
        .any(|(_, r)| r.is_some_and(|r| matches!(classify(r), CoreRange::Clean(_))))
        || pinned.iter().any(|p| p.name == CORE_PACKAGE)
    {
        return Ok(Vec::new());
    } else {
        declared
    };
    let doc = client.document(CORE_PACKAGE).await?;
    let Some(version) = built_against(&doc, published, within) else {
        // Nothing fits: pnpm gets the range as published and says what it finds.
        return Ok(Vec::new());
    };
    Ok(targets
        .into_iter()
        .map(|(field, from)| {
            let said = from.map_or("no core range".to_string(), |r| format!("core range '{r}'"));
            Pin {
                field: field.into(),
                name: CORE_PACKAGE.into(),
                why: format!(
                    "{said} says nothing of the core it needs: {version} is the core it was built against{}",
                    within.describe()
                ),
                from: from.map(str::to_string),
                to: version.clone(),
            }
        })
        .collect())
}

/// What a chosen version must be: of one of `majors`, and in `range` (prereleases included).
#[derive(Debug, Clone, Default)]
pub struct Within {
    majors: Vec<u64>,
    range: Option<(String, Range)>,
}

impl Within {
    fn admits(&self, v: &Version) -> bool {
        (self.majors.is_empty() || self.majors.contains(&v.major()))
            && self
                .range
                .as_ref()
                .is_none_or(|(_, r)| r.satisfies_with_prerelease(v, true))
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some((text, _)) = &self.range {
            parts.push(format!("in its devDependencies' range {text}"));
        }
        if !self.majors.is_empty() {
            let majors: Vec<String> = self.majors.iter().map(|m| format!("{m}.x")).collect();
            parts.push(format!("of major {}", majors.join(" or ")));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }
}

/// The cores a plugin can have been built against: those of its devDependencies' range, else those of the
/// major of its own version when that is a core major (elizaOS plugins number their majors after the
/// core's: 1.x plugins run on core 1.x).
fn core_constraint(manifest: &Value) -> Within {
    let built = manifest
        .get("devDependencies")
        .and_then(|d| d.get(CORE_PACKAGE))
        .and_then(Value::as_str)
        .filter(|r| matches!(classify(r), CoreRange::Clean(_)))
        .and_then(|r| Some((r.to_string(), Range::parse(r).ok()?)));
    let own_major = manifest
        .get("version")
        .and_then(Value::as_str)
        .and_then(|v| Version::parse(v).ok())
        .map(|v| v.major())
        .filter(|m| CoreMajor::ALL.iter().any(|c| c.number() == *m));
    let majors = match (&built, own_major) {
        (None, Some(m)) => vec![m],
        _ => Vec::new(),
    };
    Within {
        majors,
        range: built,
    }
}

/// The version of the package `doc` describes that a plugin published at `published` was built against
/// (see the module's documentation), among those `within` admits.
pub fn built_against(doc: &Value, published: Option<&str>, within: &Within) -> Option<String> {
    let times = doc.get("time");
    let mut admitted: Vec<(Version, &String, Option<OffsetDateTime>)> = doc
        .get("versions")
        .and_then(Value::as_object)?
        .keys()
        .filter_map(|k| {
            let v = Version::parse(k).ok()?;
            within.admits(&v).then(|| {
                let at = times
                    .and_then(|t| t.get(k))
                    .and_then(Value::as_str)
                    .and_then(parse_time);
                (v, k, at)
            })
        })
        .collect();
    if let Some(published) = published.and_then(parse_time) {
        let before = admitted
            .iter()
            .filter_map(|(v, k, at)| Some((at.filter(|at| *at <= published)?, v, *k)))
            .max_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
        if let Some((_, _, k)) = before {
            return Some(k.clone());
        }
    }
    // No times: the newest, a stable version before any prerelease (as npm's `latest` usually is).
    admitted.sort_by(|a, b| (!a.0.is_prerelease(), &a.0).cmp(&(!b.0.is_prerelease(), &b.0)));
    admitted.last().map(|(_, k, _)| (*k).clone())
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `@elizaos/core` as the npm registry of this project's configuration served it when plugin-mcp
    /// failed: 1.7.3-alpha.4 (the only one with `getRequestContext`) published 38 minutes before
    /// plugin-mcp 1.8.2, 1.7.0 after it.
    fn core_doc() -> Value {
        let times = [
            ("1.6.5", "2026-03-22T09:39:35.572000+00:00"),
            ("1.7.2", "2026-03-20T00:45:05.720000+00:00"),
            ("1.7.3-alpha.4", "2026-03-23T11:29:24.202000+00:00"),
            ("1.7.0", "2026-03-23T16:15:06.769000+00:00"),
            ("2.0.0-alpha.77", "2026-03-20T18:11:32.019000+00:00"),
            ("2.0.0-alpha.537", "2026-07-17T11:07:52.113000+00:00"),
        ];
        let versions: serde_json::Map<String, Value> = times
            .iter()
            .map(|(v, _)| (v.to_string(), json!({ "version": v })))
            .collect();
        let time: serde_json::Map<String, Value> = times
            .iter()
            .map(|(v, t)| (v.to_string(), json!(t)))
            .collect();
        json!({ "name": CORE_PACKAGE, "versions": versions, "time": time })
    }

    const MCP_PUBLISHED: &str = "2026-03-23T12:07:18.304000+00:00";

    #[test]
    fn the_core_built_against_is_the_last_published_before_the_plugin() {
        let mcp = json!({ "version": "1.8.2", "peerDependencies": { "@elizaos/core": "*" },
                          "devDependencies": { "@elizaos/core": "^1.7.0" } });
        let within = core_constraint(&mcp);
        assert_eq!(
            built_against(&core_doc(), Some(MCP_PUBLISHED), &within).as_deref(),
            Some("1.7.3-alpha.4"),
            "a prerelease counts: monorepo plugins build against the core of that moment"
        );
        // Without publish times: the newest its range admits, stable first.
        assert_eq!(
            built_against(&core_doc(), None, &within).as_deref(),
            Some("1.7.2")
        );
        // A plugin's own major stands in when nothing else says.
        let bare =
            json!({ "version": "1.0.0", "dependencies": { "@elizaos/core": "workspace:*" } });
        assert_eq!(
            built_against(
                &core_doc(),
                Some("2026-09-23T10:53:31.883Z"),
                &core_constraint(&bare)
            )
            .as_deref(),
            Some("1.7.0")
        );
        let v2 = json!({ "version": "2.0.0-alpha.8", "dependencies": { "@elizaos/core": "workspace:*" } });
        assert_eq!(
            built_against(
                &core_doc(),
                Some("2026-09-23T10:53:31.883Z"),
                &core_constraint(&v2)
            )
            .as_deref(),
            Some("2.0.0-alpha.537")
        );
        let v0 = json!({ "version": "0.1.0", "dependencies": { "@elizaos/core": "workspace:*" } });
        assert_eq!(
            built_against(&core_doc(), None, &core_constraint(&v0)),
            None
        );
    }

    struct Docs(Vec<Value>);

    impl PackageSource for Docs {
        fn document<'a>(&'a self, name: &'a str) -> crate::SourceFuture<'a, Value> {
            Box::pin(async move {
                self.0
                    .iter()
                    .find(|d| d["name"] == name)
                    .cloned()
                    .ok_or_else(|| InstallError::NotOnNpm {
                        name: name.into(),
                        registry: "http://127.0.0.1:9/".into(),
                    })
            })
        }
        fn tarball<'a>(
            &'a self,
            _: &'a crate::Resolved,
            _: u64,
        ) -> crate::SourceFuture<'a, Vec<u8>> {
            unreachable!("pins read documents only")
        }
    }

    fn pins_of(manifest: Value, published: Option<&str>) -> Result<Vec<Pin>, InstallError> {
        let docs = Docs(vec![
            core_doc(),
            json!({ "name": "@acme/util", "versions": { "2.1.0": {}, "2.2.0": {} },
                    "time": { "2.1.0": "2026-01-01T00:00:00Z", "2.2.0": "2026-12-01T00:00:00Z" } }),
        ]);
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(pins(&docs, "@acme/plugin", &manifest, published))
    }

    #[test]
    fn workspace_references_become_what_npm_publishes() {
        let pins = pins_of(
            json!({ "version": "1.0.0", "dependencies": {
                "@elizaos/core": "workspace:*", "@acme/util": "workspace:^", "left": "^1.0.0" },
                "optionalDependencies": { "@acme/util": "workspace:~" },
                "peerDependencies": { "@acme/util": "workspace:^2.0.0" } }),
            Some("2026-06-01T00:00:00Z"),
        )
        .unwrap();
        let to = |field: &str, name: &str| {
            pins.iter()
                .find(|p| p.field == field && p.name == name)
                .map(|p| p.to.as_str())
        };
        assert_eq!(to("dependencies", "@elizaos/core"), Some("1.7.0"));
        assert_eq!(
            to("dependencies", "@acme/util"),
            Some("^2.1.0"),
            "2.2.0 came after the plugin"
        );
        assert_eq!(to("optionalDependencies", "@acme/util"), Some("~2.1.0"));
        assert_eq!(to("peerDependencies", "@acme/util"), Some("^2.0.0"));
        assert_eq!(to("dependencies", "left"), None);
        assert_eq!(pins.len(), 4, "the core is pinned once: {pins:?}");
    }

    #[test]
    fn a_workspace_reference_to_an_unpublished_package_names_it() {
        let err = pins_of(
            json!({ "dependencies": { "@acme/private-lib": "workspace:*" } }),
            None,
        )
        .unwrap_err();
        assert!(matches!(err, InstallError::WorkspaceDependency { .. }));
        let text = err.to_string();
        assert!(
            text.contains("@acme/private-lib@workspace:*")
                && text.contains("not on the npm registry"),
            "{text}"
        );
    }

    #[test]
    fn a_core_range_that_says_nothing_is_pinned_and_a_clean_one_is_kept() {
        let pins = pins_of(
            json!({ "version": "1.8.2", "peerDependencies": { "@elizaos/core": "*" },
                    "devDependencies": { "@elizaos/core": "^1.7.0" } }),
            Some(MCP_PUBLISHED),
        )
        .unwrap();
        assert_eq!(pins.len(), 1);
        assert_eq!(
            (
                pins[0].field.as_str(),
                pins[0].from.as_deref(),
                pins[0].to.as_str()
            ),
            ("peerDependencies", Some("*"), "1.7.3-alpha.4")
        );
        assert!(pins[0].why.contains("built against"), "{}", pins[0].why);
        let latest = pins_of(
            json!({ "version": "1.0.0", "dependencies": { "@elizaos/core": "latest" } }),
            Some(MCP_PUBLISHED),
        )
        .unwrap();
        assert_eq!(latest[0].to, "1.7.3-alpha.4");
        let only_dev = pins_of(
            json!({ "version": "1.0.0", "devDependencies": { "@elizaos/core": "^1.7.0" } }),
            Some(MCP_PUBLISHED),
        )
        .unwrap();
        assert_eq!(
            (only_dev[0].field.as_str(), only_dev[0].from.as_deref()),
            ("dependencies", None)
        );
        for kept in [
            json!({ "dependencies": { "@elizaos/core": "^1.0.0" } }),
            json!({ "dependencies": { "zod": "3" } }),
        ] {
            assert_eq!(pins_of(kept, Some(MCP_PUBLISHED)).unwrap(), vec![]);
        }
    }
}
