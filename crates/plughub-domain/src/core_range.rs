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
    fn versions_order_as_npm_orders_them() {
        assert!(compare_versions("1.10.0", "1.9.0").is_gt());
        assert!(compare_versions("2.0.0-alpha.10", "2.0.0-alpha.9").is_gt());
        assert!(compare_versions("2.0.0", "2.0.0-beta.1").is_gt());
        assert!(compare_versions("garbage", "0.0.1").is_lt());
    }
}
