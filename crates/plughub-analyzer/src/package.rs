//! Analysing a whole package folder: its `package.json` and every JavaScript file of its own (not its
//! `node_modules`, which are other packages).

use crate::finding::{Finding, Rule, Severity};
use crate::report::Report;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Files larger than this are reported, not parsed: no plugin bundle comes near it.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error("{path} is not a package folder: {reason}")]
    NotAPackage { path: String, reason: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// Analyses the package in `dir` (the folder holding its `package.json`).
pub fn analyze_package(dir: &Path) -> Result<Report, AnalyzeError> {
    let started = Instant::now();
    let manifest_path = dir.join("package.json");
    let manifest_text =
        std::fs::read_to_string(&manifest_path).map_err(|e| AnalyzeError::NotAPackage {
            path: dir.display().to_string(),
            reason: format!("no readable package.json ({e})"),
        })?;
    let manifest: serde_json::Value =
        serde_json::from_str(&manifest_text).map_err(|e| AnalyzeError::NotAPackage {
            path: dir.display().to_string(),
            reason: format!("package.json is not valid JSON ({e})"),
        })?;
    let mut findings = install_scripts(&manifest, &manifest_text);

    let mut files = Vec::new();
    collect_js(dir, &mut files)?;
    files.sort();
    let mut bytes = 0u64;
    let mut uses = crate::Uses::default();
    let mut declared = Vec::new();
    let mut unread_file = false;
    for file in &files {
        let relative = file.strip_prefix(dir).unwrap_or(file).display().to_string();
        let size = std::fs::metadata(file)
            .map_err(|source| read_error(file, source))?
            .len();
        if size > MAX_FILE_BYTES {
            findings.push(Finding {
                rule: Rule::Unparsable,
                severity: Severity::Medium,
                file: relative,
                line: 1,
                column: 1,
                snippet: String::new(),
                message: format!("{size} bytes: too large to analyse"),
                why: Rule::Unparsable.why().to_string(),
            });
            unread_file = true;
            continue;
        }
        let bytes_read = std::fs::read(file).map_err(|source| read_error(file, source))?;
        bytes += bytes_read.len() as u64;
        let text = String::from_utf8_lossy(&bytes_read);
        let (found, reach, components) = crate::js::analyze(&relative, &text);
        findings.extend(found);
        uses.merge(reach);
        declared.push(components);
    }
    let mut declared = crate::Declared::merge(declared);
    declared.cut |= unread_file;
    Ok(Report::new(
        manifest
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_string),
        manifest
            .get("version")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        files.len(),
        bytes,
        findings,
        started.elapsed(),
    )
    .with_uses(uses)
    .with_declared(declared))
}

fn read_error(path: &Path, source: std::io::Error) -> AnalyzeError {
    AnalyzeError::Read {
        path: path.display().to_string(),
        source,
    }
}

fn collect_js(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), AnalyzeError> {
    let entries = std::fs::read_dir(dir).map_err(|source| read_error(dir, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| read_error(dir, source))?;
        let path = entry.path();
        // Links are not followed: a package's files are its own, and a link could lead anywhere.
        let kind = entry
            .file_type()
            .map_err(|source| read_error(&path, source))?;
        if kind.is_dir() {
            if entry.file_name() != "node_modules" {
                collect_js(&path, out)?;
            }
        } else if kind.is_file() {
            let name = entry.file_name().to_string_lossy().to_string();
            let is_js = [".js", ".mjs", ".cjs"]
                .iter()
                .any(|ext| name.ends_with(ext));
            if is_js && !name.ends_with(".d.ts") {
                out.push(path);
            }
        }
    }
    Ok(())
}

/// npm runs these at install time; plughub never does, but a package that has them says something.
fn install_scripts(manifest: &serde_json::Value, text: &str) -> Vec<Finding> {
    let Some(scripts) = manifest.get("scripts").and_then(|s| s.as_object()) else {
        return Vec::new();
    };
    ["preinstall", "install", "postinstall"]
        .iter()
        .filter_map(|hook| {
            let command = scripts.get(*hook)?.as_str()?;
            let needle = format!("\"{hook}\"");
            let line = text
                .lines()
                .position(|l| l.contains(&needle))
                .map_or(1, |i| i as u32 + 1);
            Some(Finding {
                rule: Rule::InstallScript,
                severity: Severity::High,
                file: "package.json".into(),
                line,
                column: 1,
                snippet: format!("\"{hook}\": \"{command}\""),
                message: format!("{hook} script: {command}"),
                why: Rule::InstallScript.why().to_string(),
            })
        })
        .collect()
}

/// Whether the package in `dir` carries a test suite: a `test`, `tests` or `__tests__` folder, a
/// `*.test.*` or `*.spec.*` file, or a `test` script that is not npm's placeholder (`no test
/// specified`). Published packages often leave their tests out, so a script counts too.
pub fn has_tests(dir: &Path) -> bool {
    let script = manifest(dir)
        .and_then(|m| m["scripts"]["test"].as_str().map(str::to_string))
        .is_some_and(|s| !s.trim().is_empty() && !s.contains("no test specified"));
    script
        || any_file(dir, 0, &|name, is_dir| {
            if is_dir {
                matches!(name, "test" | "tests" | "__tests__")
            } else {
                name.contains(".test.") || name.contains(".spec.")
            }
        })
}

/// Whether the package in `dir` ships TypeScript types: `types` or `typings` in its package.json, or a
/// `.d.ts` file.
pub fn has_types(dir: &Path) -> bool {
    manifest(dir).is_some_and(|m| m.get("types").is_some() || m.get("typings").is_some())
        || any_file(dir, 0, &|name, is_dir| !is_dir && name.ends_with(".d.ts"))
}

fn manifest(dir: &Path) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).ok()?).ok()
}

/// Whether a file or folder under `dir` (not in `node_modules`, at most 6 folders deep) matches.
fn any_file(dir: &Path, depth: usize, matches: &dyn Fn(&str, bool) -> bool) -> bool {
    if depth > 6 {
        return false;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name().to_string_lossy().to_string();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if name == "node_modules" {
            return false;
        }
        matches(&name, is_dir) || (is_dir && any_file(&entry.path(), depth + 1, matches))
    })
}

#[cfg(test)]
mod quality_tests {
    use super::{has_tests, has_types};

    #[test]
    fn tests_and_types_are_seen_in_the_package() {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "package.json",
            r#"{"name":"p","scripts":{"test":"echo \"Error: no test specified\" && exit 1"}}"#,
        );
        write("dist/index.js", "export default {};");
        write("node_modules/dep/index.test.js", "");
        write("node_modules/dep/index.d.ts", "");
        assert!(
            !has_tests(dir.path()),
            "npm's placeholder and a dependency's tests do not count"
        );
        assert!(!has_types(dir.path()));
        write("dist/index.d.ts", "export {};");
        write("src/__tests__/a.js", "");
        assert!(has_types(dir.path()));
        assert!(has_tests(dir.path()));
    }
}
