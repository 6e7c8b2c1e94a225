//! Which `@elizaos/core` majors a core range admits, with npm's semver semantics (npm ranges are not Cargo
//! ranges: `^0.25.6-alpha.1`, `1.x`, `>=1 <2 || ^2.0.0-alpha`). Ranges that cannot be checked (`latest`,
//! `workspace:*`, a dist-tag, `*`) are told apart, so callers can flag them instead of trusting them.

use crate::CoreMajor;
use nodejs_semver::{Range, Version};

/// A core range, sorted into checkable or not.
#[derive(Debug, Clone)]
pub enum CoreRange {
    /// The majors it admits.
    Clean(Vec<CoreMajor>),
    /// Why it cannot be checked.
    Dirty(String),
}

pub fn classify(range: &str) -> CoreRange {
    let r = range.trim();
    if r.is_empty() || r == "*" || r == "x" {
        return CoreRange::Dirty(format!("core range '{r}' admits any version"));
    }
    if r.contains(':') {
        return CoreRange::Dirty(format!(
            "core range '{r}' is a protocol reference, not a version range"
        ));
    }
    match Range::parse(r) {
        Ok(parsed) => CoreRange::Clean(majors_of(&parsed)),
        Err(_) => CoreRange::Dirty(format!("core range '{r}' is a tag or not a semver range")),
    }
}

/// The package every elizaOS plugin runs against.
pub const CORE_PACKAGE: &str = "@elizaos/core";

/// The core range a published package.json gives where it runs: its `dependencies`' or
/// `peerDependencies`' `@elizaos/core`, as written.
pub fn runtime_core_range(manifest: &serde_json::Value) -> Option<&str> {
    ["dependencies", "peerDependencies"]
        .iter()
        .find_map(|d| manifest.get(d)?.get(CORE_PACKAGE)?.as_str())
}

/// The core range a plugin works with: the one it runs against when that is checkable; when it says
/// nothing (`latest`, `*`, `workspace:*`, missing), the `devDependencies`' one, the core its author built
/// and tested it against (`@elizaos/plugin-mcp` 1.8.2 peers on `*` and builds against `^1.7.0`). `None`:
/// the plugin names no core at all.
pub fn plugin_core_range(manifest: &serde_json::Value) -> Option<CoreRange> {
    let runtime = runtime_core_range(manifest).map(classify);
    if let Some(CoreRange::Clean(_)) = &runtime {
        return runtime;
    }
    let built = manifest
        .get("devDependencies")
        .and_then(|d| d.get(CORE_PACKAGE))
        .and_then(serde_json::Value::as_str)
        .map(classify);
    match (runtime, built) {
        (_, Some(CoreRange::Clean(majors))) => Some(CoreRange::Clean(majors)),
        (Some(dirty), _) => Some(dirty),
        (None, built) => built,
    }
}

fn major_range(major: CoreMajor) -> Range {
    let m = major.number();
    Range::parse(format!(">={m}.0.0-0 <{}.0.0-0", m + 1)).expect("a fixed range parses")
}

/// A range open to the top (`>=1.0.0`) admits every later major on paper; only the major of its lowest
/// version counts as checked.
fn majors_of(range: &Range) -> Vec<CoreMajor> {
    let admitted: Vec<CoreMajor> = CoreMajor::ALL
        .into_iter()
        .filter(|m| range.allows_any(&major_range(*m)))
        .collect();
    let open_ended = range.allows_any(&Range::parse(">=1000.0.0").expect("fixed range"));
    match (open_ended, range.min_version()) {
        (true, Some(min)) => admitted
            .into_iter()
            .filter(|m| m.number() == min.major())
            .collect(),
        _ => admitted,
    }
}

/// The major of a version (`2` for `2.0.0-alpha.3`); `None` when it does not parse.
pub fn version_major(version: &str) -> Option<u64> {
    Version::parse(version).ok().map(|v| v.major())
}

/// npm's order of versions, with versions that do not parse placed first (oldest) in text order.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    match (Version::parse(a), Version::parse(b)) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
        (Err(_), Ok(_)) => std::cmp::Ordering::Less,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn majors(r: &str) -> Vec<CoreMajor> {
        match classify(r) {
            CoreRange::Clean(m) => m,
            CoreRange::Dirty(why) => panic!("{r}: {why}"),
        }
    }

    #[test]
    fn npm_ranges_map_to_majors() {
        assert_eq!(majors("^0.25.6-alpha.1"), [CoreMajor::V0]);
        assert_eq!(majors("^1.0.0"), [CoreMajor::V1]);
        assert_eq!(majors("1.x"), [CoreMajor::V1]);
        assert_eq!(majors("2.0.0-alpha.3"), [CoreMajor::V2]);
        assert_eq!(
            majors(">=1.0.0"),
            [CoreMajor::V1],
            "open-ended: its lowest major only"
        );
        assert_eq!(
            majors("^1.0.0 || ^2.0.0-alpha.1"),
            [CoreMajor::V1, CoreMajor::V2]
        );
        for dirty in ["latest", "workspace:*", "*", "next", ""] {
            assert!(matches!(classify(dirty), CoreRange::Dirty(_)), "{dirty}");
        }
    }

    #[test]
    fn a_range_that_says_nothing_falls_back_to_the_core_built_against() {
        let m = |v: serde_json::Value| match plugin_core_range(&v) {
            Some(CoreRange::Clean(m)) => Ok(m),
            Some(CoreRange::Dirty(why)) => Err(why),
            None => Err("none".into()),
        };
        use serde_json::json;
        assert_eq!(
            m(json!({ "peerDependencies": { "@elizaos/core": "*" },
                      "devDependencies": { "@elizaos/core": "^1.7.0" } })),
            Ok(vec![CoreMajor::V1])
        );
        assert_eq!(
            m(
                json!({ "dependencies": { "@elizaos/core": "^2.0.0-alpha.3" },
                      "devDependencies": { "@elizaos/core": "^1.7.0" } })
            ),
            Ok(vec![CoreMajor::V2]),
            "a checkable runtime range wins"
        );
        assert_eq!(
            m(json!({ "devDependencies": { "@elizaos/core": "1.x" } })),
            Ok(vec![CoreMajor::V1])
        );
        assert!(
            m(json!({ "dependencies": { "@elizaos/core": "workspace:*" } }))
                .unwrap_err()
                .contains("protocol")
        );
        assert_eq!(
            m(json!({ "dependencies": { "zod": "3" } })),
            Err("none".into())
        );
    }

    #[test]
    fn versions_order_as_npm_orders_them() {
        assert!(compare_versions("1.10.0", "1.9.0").is_gt());
        assert!(compare_versions("2.0.0-alpha.10", "2.0.0-alpha.9").is_gt());
        assert!(compare_versions("2.0.0", "2.0.0-beta.1").is_gt());
        assert!(compare_versions("garbage", "0.0.1").is_lt());
    }
}
