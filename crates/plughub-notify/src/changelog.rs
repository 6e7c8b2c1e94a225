//! The changelog between an installed version and a newer one: the sections of the package's own
//! CHANGELOG.md (or release notes) in the newer version's tarball whose version lies between the two;
//! else the versions published between them, with their dates, from the package document.

use crate::NotifyError;
use plughub_domain::CoreMajor;
use plughub_domain::core_range::compare_versions;
use plughub_install::ExtractLimits;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Ordering;
use std::sync::LazyLock;

/// The files read as a package's changelog, in this order (names compared without case).
const FILES: [&str; 7] = [
    "CHANGELOG.md",
    "CHANGELOG",
    "CHANGES.md",
    "HISTORY.md",
    "RELEASES.md",
    "RELEASE_NOTES.md",
    "RELEASE-NOTES.md",
];

/// A version between the two, and when it was published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionDate {
    pub version: String,
    /// When it was published (the document's `time`), if the registry says.
    pub published: Option<String>,
}

/// Where the changelog came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangelogSource {
    /// The package's own changelog file.
    Changelog,
    /// Only the versions and their dates (the package has no changelog with these versions).
    Versions,
}

/// The changes between an installed version and a newer one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Changelog {
    pub plugin: String,
    /// The version installed.
    pub from: String,
    /// The newer version.
    pub to: String,
    pub source: ChangelogSource,
    /// The file read, when `source` is `changelog`.
    pub file: Option<String>,
    /// Its sections for the versions after `from` up to `to`: Markdown as the publisher wrote it
    /// (untrusted: render it sanitised).
    pub markdown: Option<String>,
    /// The versions after `from` up to `to`, newest first.
    pub versions: Vec<VersionDate>,
}

/// Limits for a tarball fetched only to read its changelog: far below an install's, as nothing else of
/// the package is used.
const CHANGELOG_LIMITS: ExtractLimits = ExtractLimits {
    max_total_bytes: 16 << 20,
    max_file_bytes: 16 << 20,
    max_files: 20_000,
    max_ratio: 100,
};

/// The most Markdown a changelog answer carries.
const MAX_MARKDOWN_BYTES: usize = 256 << 10;

/// `text` cut to at most `max` bytes, at a character boundary.
fn cap(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// The changelog of `plugin` from `from` to `to` (the newest version for `core` when none), read from
/// where installs take the plugin (`Installer::sources`: plughub's registry for its names, else npm).
pub async fn between(
    npm: &dyn plughub_install::PackageSource,
    plugin: &str,
    from: &str,
    to: Option<&str>,
    core: Option<CoreMajor>,
) -> Result<Changelog, NotifyError> {
    let doc = plughub_install::document(npm, plugin).await?;
    let target = plughub_install::resolve(&doc, plugin, to, core)?;
    let to = target.version.clone();
    let versions = versions_between(&doc, from, &to);
    let folder =
        tempfile::tempdir().map_err(|e| NotifyError::Local(format!("no temporary folder: {e}")))?;
    let dest = folder.path().join("package");
    plughub_install::fetch_resolved(npm, target, &dest, &CHANGELOG_LIMITS).await?;
    let found = read_changelog(&dest).and_then(|(file, text)| {
        sections_between(&text, from, &to).map(|markdown| (file, cap(markdown, MAX_MARKDOWN_BYTES)))
    });
    let (source, file, markdown) = match found {
        Some((file, markdown)) => (ChangelogSource::Changelog, Some(file), Some(markdown)),
        None => (ChangelogSource::Versions, None, None),
    };
    Ok(Changelog {
        plugin: plugin.to_string(),
        from: from.to_string(),
        to,
        source,
        file,
        markdown,
        versions,
    })
}

/// The versions of the document after `from` up to `to`, newest first, with their dates.
pub fn versions_between(doc: &Value, from: &str, to: &str) -> Vec<VersionDate> {
    let mut versions: Vec<VersionDate> = doc["versions"]
        .as_object()
        .into_iter()
        .flat_map(|v| v.keys())
        .filter(|v| in_range(v, from, to))
        .map(|v| VersionDate {
            version: v.clone(),
            published: doc["time"][v].as_str().map(str::to_string),
        })
        .collect();
    versions.sort_by(|a, b| compare_versions(&b.version, &a.version));
    versions
}

fn in_range(version: &str, from: &str, to: &str) -> bool {
    compare_versions(version, from) == Ordering::Greater
        && compare_versions(version, to) != Ordering::Greater
}

/// The first changelog file at the top of the package, and its text.
fn read_changelog(dir: &std::path::Path) -> Option<(String, String)> {
    let entries: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    FILES.iter().find_map(|wanted| {
        let name = entries.iter().find(|n| n.eq_ignore_ascii_case(wanted))?;
        let text = read_plain_file(dir, name)?;
        Some((name.clone(), text))
    })
}

/// The most of a changelog file read: the page shows a few sections, not a book.
const MAX_CHANGELOG_BYTES: u64 = 1 << 20;

/// The text of `dir/name` if it is a plain file (not a link) inside `dir`, at most
/// [`MAX_CHANGELOG_BYTES`]: the package is untrusted, and a link could lead anywhere on the server.
fn read_plain_file(dir: &std::path::Path, name: &str) -> Option<String> {
    use std::io::Read;
    let path = dir.join(name);
    if !std::fs::symlink_metadata(&path).ok()?.file_type().is_file() {
        return None;
    }
    if !path
        .canonicalize()
        .ok()?
        .starts_with(dir.canonicalize().ok()?)
    {
        return None;
    }
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .ok()?
        .take(MAX_CHANGELOG_BYTES)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// A heading that names a version: `## 1.2.0`, `## [1.2.0](…) - 2026-01-01`, `# v1.2.0`.
static VERSION_HEADING: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^(#{1,6})\s+(?:.*?[^0-9A-Za-z.])?v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)")
        .expect("a valid pattern")
});

/// The sections of a changelog whose heading names a version after `from` up to `to`, in the file's
/// order; `None` when there is none.
pub fn sections_between(text: &str, from: &str, to: &str) -> Option<String> {
    let mut out = String::new();
    // The level of the version headings, and whether the current section is kept.
    let mut level = None;
    let mut keep = false;
    for line in text.lines() {
        let heading_level = line.chars().take_while(|c| *c == '#').count();
        let is_heading =
            heading_level > 0 && line[heading_level..].starts_with(char::is_whitespace);
        if let Some(captures) = VERSION_HEADING.captures(line) {
            let this_level = captures[1].len();
            if level.is_none_or(|l| this_level <= l) {
                level = Some(this_level);
                keep = in_range(&captures[2], from, to);
            }
        } else if is_heading && level.is_some_and(|l| heading_level <= l) {
            // `## Unreleased`, or a heading that ends the versions.
            keep = false;
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    let out = out.trim().to_string();
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "# Changelog\n\n## Unreleased\n- next\n\n## [1.2.0](https://x.test) - 2026-11-02\n### Added\n- two\n\n## v1.1.0\n- one\n\n## 1.0.0\n- first\n";

    #[cfg(unix)]
    #[test]
    fn a_changelog_is_read_only_as_a_plain_file_inside_the_package_and_only_its_first_mebibyte() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "## 9.9.9\nserver secret\n").unwrap();
        let package = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            package.path().join("CHANGELOG.md"),
        )
        .unwrap();
        assert_eq!(
            read_changelog(package.path()),
            None,
            "a link is not followed"
        );

        let package = tempfile::tempdir().unwrap();
        let big = format!("## 1.1.0\n{}", "x".repeat(3 << 20));
        std::fs::write(package.path().join("changelog.md"), &big).unwrap();
        let (file, text) = read_changelog(package.path()).unwrap();
        assert_eq!(file, "changelog.md");
        assert_eq!(text.len() as u64, MAX_CHANGELOG_BYTES);
        assert!(text.starts_with("## 1.1.0\nxxx"));
        assert_eq!(cap(text, 10), "## 1.1.0\nx");
    }

    #[test]
    fn only_the_sections_after_the_installed_version_are_kept() {
        let kept = sections_between(LOG, "1.0.0", "1.2.0").unwrap();
        assert!(kept.starts_with("## [1.2.0]"), "{kept}");
        assert!(kept.contains("### Added\n- two") && kept.contains("## v1.1.0\n- one"));
        assert!(!kept.contains("first") && !kept.contains("next"), "{kept}");
        assert_eq!(
            sections_between(LOG, "1.1.0", "1.1.0"),
            None,
            "nothing after the installed version up to it"
        );
        assert_eq!(
            sections_between("no versions here\n", "1.0.0", "2.0.0"),
            None
        );
    }

    #[test]
    fn versions_between_come_newest_first_with_their_dates() {
        let doc = serde_json::json!({ "versions": { "1.0.0": {}, "1.1.0": {}, "1.2.0": {}, "2.0.0": {} },
            "time": { "1.1.0": "2026-02-01T00:00:00.000Z" } });
        let got = versions_between(&doc, "1.0.0", "1.2.0");
        assert_eq!(
            got,
            vec![
                VersionDate {
                    version: "1.2.0".into(),
                    published: None
                },
                VersionDate {
                    version: "1.1.0".into(),
                    published: Some("2026-02-01T00:00:00.000Z".into())
                },
            ]
        );
    }
}
