//! The package under test: its `package.json` and its `plughub.dev.json` (settings, HTTP stub, scripted
//! model answers), and whether its `dist/` must be built first.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The harness file at the package root.
pub const DEV_FILE: &str = "plughub.dev.json";

/// `plughub.dev.json` (every key optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevConfig {
    /// The plugin's settings in the test run, secrets too (a value that is not a string is written as
    /// JSON: `true`, `3`).
    #[serde(default)]
    pub settings: BTreeMap<String, Value>,
    #[serde(default)]
    pub http: Vec<HttpStub>,
    /// Answers of the scripted model, per model type, in order.
    #[serde(default)]
    pub models: BTreeMap<String, Vec<Value>>,
    /// An editor's schema reference, allowed and ignored.
    #[serde(default, rename = "$schema")]
    pub schema: Option<String>,
}

/// One answer of the stub.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpStub {
    #[serde(default = "get")]
    pub method: String,
    pub url: String,
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub json: Option<Value>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn get() -> String {
    "GET".into()
}

fn ok() -> u16 {
    200
}

impl DevConfig {
    /// The settings as the installer takes them.
    pub fn settings(&self) -> BTreeMap<String, String> {
        self.settings
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect()
    }

    /// The hosts the stub answers for.
    pub fn stub_domains(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self
            .http
            .iter()
            .filter_map(|h| url::Url::parse(&h.url).ok()?.host_str().map(str::to_string))
            .collect();
        hosts.sort();
        hosts.dedup();
        hosts
    }
}

/// The package in a folder, as `plughub dev test` reads it.
#[derive(Debug, Clone)]
pub struct Package {
    pub dir: PathBuf,
    pub name: String,
    pub version: String,
    pub dev: DevConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{0}: no package.json here: give the plugin's folder with --dir")]
    NoPackage(PathBuf),
    #[error("{path}: {message}")]
    Bad { path: PathBuf, message: String },
}

impl Package {
    pub fn read(dir: &Path) -> Result<Package, PlanError> {
        let manifest_path = dir.join("package.json");
        let text = std::fs::read_to_string(&manifest_path)
            .map_err(|_| PlanError::NoPackage(dir.to_path_buf()))?;
        let bad = |path: &Path, message: String| PlanError::Bad {
            path: path.to_path_buf(),
            message,
        };
        let manifest: Value = serde_json::from_str(&text)
            .map_err(|e| bad(&manifest_path, format!("not JSON: {e}")))?;
        let field = |key: &str| {
            manifest[key]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(&manifest_path, format!("has no \"{key}\"")))
        };
        let (name, version) = (field("name")?, field("version")?);
        let dev_path = dir.join(DEV_FILE);
        let dev = match std::fs::read_to_string(&dev_path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                bad(
                    &dev_path,
                    format!(
                        "{e} (expected {{\"settings\": {{…}}, \"http\": […], \"models\": {{…}}}})"
                    ),
                )
            })?,
            Err(_) => DevConfig::default(),
        };
        {
            for stub in &dev.http {
                let parsed = url::Url::parse(&stub.url)
                    .map_err(|e| bad(&dev_path, format!("http url {:?}: {e}", stub.url)))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                    return Err(bad(
                        &dev_path,
                        format!("http url {:?}: expected http(s)://host/…", stub.url),
                    ));
                }
            }
        }
        Ok(Package {
            dir: dir.to_path_buf(),
            name,
            version,
            dev,
        })
    }

    /// Why `dist/` must be built before the test (missing, or older than a file in `src/`); `None`
    /// when it is up to date or there is no `src/` to build from.
    pub fn build_needed(&self) -> Option<String> {
        let dist = self.dir.join("dist");
        let src = self.dir.join("src");
        if !src.is_dir() {
            return None;
        }
        let Some(built) = newest(&dist) else {
            return Some("dist/ is missing".into());
        };
        let changed = newest(&src)?;
        (changed > built).then(|| "src/ changed since dist/ was built".into())
    }
}

/// The newest modification time of the files under `dir`.
fn newest(dir: &Path) -> Option<SystemTime> {
    let mut found: Option<SystemTime> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(time) = entry.metadata().and_then(|m| m.modified()) {
                found = Some(found.map_or(time, |f| f.max(time)));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(dev: &str) -> (tempfile::TempDir, Result<Package, PlanError>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("package.json"),
            r#"{"name": "@acme/plugin-x", "version": "0.1.0"}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join(DEV_FILE), dev).unwrap();
        let read = Package::read(dir.path());
        (dir, read)
    }

    #[test]
    fn settings_stubs_and_models_are_read() {
        let (_dir, read) = package(
            r#"{"settings": {"KEY": "v", "LOUD": true, "N": 3},
                "http": [{"url": "https://api.example.com/v1/x?q=1", "json": {"a": 1}},
                         {"method": "POST", "url": "http://b.example.com/", "status": 201, "body": "ok"}],
                "models": {"TEXT_SMALL": ["one", "two"]}}"#,
        );
        let package = read.unwrap();
        assert_eq!(
            (package.name.as_str(), package.version.as_str()),
            ("@acme/plugin-x", "0.1.0")
        );
        let settings = package.dev.settings();
        assert_eq!(settings["KEY"], "v");
        assert_eq!(settings["LOUD"], "true");
        assert_eq!(settings["N"], "3");
        assert_eq!(
            package.dev.stub_domains(),
            ["api.example.com", "b.example.com"]
        );
        assert_eq!(package.dev.http[0].method, "GET");
        assert_eq!(package.dev.http[0].status, 200);
        assert_eq!(package.dev.models["TEXT_SMALL"].len(), 2);
    }

    #[test]
    fn a_misspelt_key_or_a_bad_url_is_refused_naming_the_file() {
        let (_dir, read) = package(r#"{"setings": {}}"#);
        let error = read.unwrap_err().to_string();
        assert!(
            error.contains("plughub.dev.json") && error.contains("setings"),
            "{error}"
        );
        let (_dir, read) = package(r#"{"http": [{"url": "ftp://x.example.com/"}]}"#);
        let error = read.unwrap_err().to_string();
        assert!(error.contains("expected http(s)://host/"), "{error}");
    }

    #[test]
    fn dist_is_built_when_missing_or_older_than_src() {
        let (dir, read) = package("{}");
        let package = read.unwrap();
        assert_eq!(package.build_needed(), None, "no src/: nothing to build");
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/index.ts"), "export {}").unwrap();
        assert_eq!(package.build_needed().as_deref(), Some("dist/ is missing"));
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::create_dir_all(dir.path().join("dist")).unwrap();
        std::fs::write(dir.path().join("dist/index.js"), "export {}").unwrap();
        assert_eq!(package.build_needed(), None);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.path().join("src/index.ts"), "export const x = 1").unwrap();
        assert_eq!(
            package.build_needed().as_deref(),
            Some("src/ changed since dist/ was built")
        );
    }
}
