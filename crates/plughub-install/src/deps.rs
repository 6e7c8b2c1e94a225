//! A plugin's dependencies, installed with pnpm into one content-addressed store shared by every package:
//! `@elizaos/core` and its tree (about 180 MB) are stored once however many plugins use them. Install
//! scripts never run (`--ignore-scripts`), only production dependencies are installed, and the registry is
//! the one of the user's npm configuration.
//!
//! Why pnpm and not npm: measured here on eight real `@elizaos/plugin-*` packages, npm took 175 s and
//! 2,086 MB, pnpm with one store 66 s and 796 MB (38 %), and all eight loaded under pnpm's layout.

use crate::InstallError;
use crate::pins::Pin;
use serde_json::value::RawValue;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

/// The pnpm major plughub installs when none is on the PATH; 9 runs on Node.js 18 and later.
pub const PNPM_SPEC: &str = "pnpm@9";
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);

#[derive(Clone)]
pub struct DependencyInstaller {
    pnpm: PathBuf,
    store_dir: PathBuf,
    registry: String,
    /// util-linux's `setpriv`, when present: pnpm then dies with plughub (parent-death signal) instead
    /// of writing on into a staging folder after a crash.
    setpriv: Option<PathBuf>,
    /// The npm configuration plughub's own client uses (scoped registries, credentials), as an
    /// `.npmrc` given to pnpm as its user configuration, so that pnpm asks the same registries with the
    /// same tokens.
    npmrc: Option<String>,
}

/// The npm configuration holds credentials: never printed.
impl std::fmt::Debug for DependencyInstaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DependencyInstaller")
            .field("pnpm", &self.pnpm)
            .field("store_dir", &self.store_dir)
            .field("registry", &self.registry)
            .field("setpriv", &self.setpriv)
            .field("npmrc", &self.npmrc.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct DependencyReport {
    pub duration: Duration,
    /// Packages in the plugin's dependency tree (its `node_modules/.pnpm` entries).
    pub packages: usize,
    /// The package manager configuration files of the package that were deleted before pnpm ran.
    pub removed_config: Vec<String>,
}

/// Files at a package's root that pnpm (or the npm configuration it reads) would obey: registries and
/// credentials per scope (`.npmrc`, with `${ENV}` references expanded from pnpm's environment), hooks that
/// run code outside any sandbox (`.pnpmfile.cjs`), workspace and lockfile contents choosing where tarballs
/// come from. A published package is untrusted input: none of them is read.
pub const PACKAGE_MANAGER_FILES: &[&str] = &[
    ".npmrc",
    ".pnpmfile.cjs",
    ".pnpmfile.mjs",
    ".pnpmfile.js",
    "pnpm-workspace.yaml",
    "pnpm-lock.yaml",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    ".yarnrc",
    ".yarnrc.yml",
    "bun.lockb",
    "bun.lock",
];

/// pnpm's `readPackage` hook, run in pnpm for the plugin's manifest and every manifest pnpm reads while it
/// resolves the tree, before it fetches what that manifest names: a dependency that does not come from the
/// registry (a tarball or git URL, a GitHub shorthand, a `file:` or `link:` path, a bare folder such as
/// `..`, another registry's protocol) stops the install, named. Such a source bypasses the registry's integrity and plughub's
/// checks, makes the installer contact a host nobody chose, and a path would copy the host's files into a
/// folder the plugin reads. Allowed: semver ranges, dist-tags and `npm:` aliases of them.
const REGISTRY_ONLY_HOOK: &str = r#"'use strict';
const FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies'];
function fromRegistry(spec) {
  let range = String(spec).trim();
  if (range.startsWith('npm:')) {
    const alias = range.slice(4);
    const at = alias.lastIndexOf('@');
    range = at > 0 ? alias.slice(at + 1) : '';
  }
  // A URL or a path (`:`, `/`, `\\`; `~/` too), a folder (`.`, `..`) or a tarball by file name, as npm
  // reads a spec: none of them is a range or a tag (`~3.0.4` is a range).
  return !/[:/\\]/.test(range) && !range.startsWith('.') && !/\.(tgz|tar|tar\.gz)$/i.test(range);
}
module.exports = {
  hooks: {
    readPackage(pkg) {
      for (const field of FIELDS) {
        for (const [name, spec] of Object.entries(pkg[field] || {})) {
          if (!fromRegistry(spec)) {
            throw new Error(`PLUGHUB_NOT_FROM_REGISTRY ${pkg.name}@${pkg.version} takes ${name} from ${JSON.stringify(spec)}: plughub installs dependencies from the registry only`);
          }
        }
      }
      return pkg;
    },
  },
};
"#;

/// Environment variables pnpm keeps when it runs (everything else is cleared): locale, proxies and the
/// extra certificate authorities the operator configured.
const KEPT_ENV: &[&str] = &[
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "NODE_EXTRA_CA_CERTS",
];

/// The names a package.json asks a package manager to fetch (`dependencies`, `optionalDependencies`,
/// `peerDependencies`), each with the field naming it.
pub fn declared_dependencies(package_dir: &Path) -> Result<Vec<(String, String)>, InstallError> {
    let path = package_dir.join("package.json");
    let text = std::fs::read_to_string(&path).map_err(|e| InstallError::io(&path, e))?;
    let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        InstallError::io(
            &path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })?;
    let mut out = Vec::new();
    for field in DEPENDENCY_FIELDS {
        for name in manifest
            .get(field)
            .and_then(serde_json::Value::as_object)
            .into_iter()
            .flat_map(|o| o.keys())
        {
            out.push((field.to_string(), name.clone()));
        }
    }
    Ok(out)
}

const DEPENDENCY_FIELDS: [&str; 3] = ["dependencies", "optionalDependencies", "peerDependencies"];

/// The names of every package pnpm installed for the package in `package_dir` (direct and transitive),
/// read from the folder names of `node_modules/.pnpm` (`@scope+name@1.0.0_peer@2`).
pub fn installed_packages(package_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(package_dir.join("node_modules/.pnpm"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str().and_then(package_of_folder))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.dedup();
    names
}

/// `@scope+name@1.0.0_x` → `@scope/name`; `name@1.0.0` → `name`; pnpm's own entries → None.
fn package_of_folder(folder: &str) -> Option<String> {
    let from = usize::from(folder.starts_with('@'));
    let at = folder[from..].find('@')? + from;
    let name = &folder[..at];
    if name.is_empty() || name == "node_modules" {
        return None;
    }
    Some(if name.starts_with('@') {
        name.replacen('+', "/", 1)
    } else {
        name.to_string()
    })
}

impl DependencyInstaller {
    /// Finds pnpm on the PATH, else in `tools_dir`, else installs it there with npm (from the registry of
    /// the npm configuration, like any tool). `store_dir` is the shared content-addressed store; `registry`
    /// is where plugins and their dependencies come from.
    pub async fn locate(
        tools_dir: &Path,
        store_dir: PathBuf,
        registry: &str,
    ) -> Result<DependencyInstaller, InstallError> {
        // Absolute: pnpm runs in each package's folder.
        let tools_dir =
            &std::path::absolute(tools_dir).map_err(|e| InstallError::io(tools_dir, e))?;
        let local = tools_dir.join("node_modules/.bin/pnpm");
        let pnpm = if works(Path::new("pnpm")).await {
            PathBuf::from("pnpm")
        } else if works(&local).await {
            local
        } else {
            std::fs::create_dir_all(tools_dir).map_err(|e| InstallError::io(tools_dir, e))?;
            let out = Command::new("npm")
                .args(["install", "--prefix"])
                .arg(tools_dir)
                .args([
                    "--ignore-scripts",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                    PNPM_SPEC,
                ])
                // The npm configuration's registry (as read before `plughub serve` gave up root: the
                // account it serves as may not read the operator's npm files), and a cache of its own
                // (nor write in the operator's home).
                .envs(
                    plughub_npm::npm_registry_url()
                        .ok()
                        .map(|url| ("npm_config_registry", url)),
                )
                .env("npm_config_cache", tools_dir.join(".npm-cache"))
                .stdin(Stdio::null())
                .output()
                .await
                .map_err(|e| {
                    InstallError::Dependencies(format!(
                        "cannot run npm to install pnpm ({e}); install Node.js and npm"
                    ))
                })?;
            if !out.status.success() || !works(&local).await {
                return Err(InstallError::Dependencies(format!(
                    "could not install {PNPM_SPEC} into {}: {}",
                    tools_dir.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            local
        };
        let setpriv = PathBuf::from("setpriv");
        Ok(DependencyInstaller {
            pnpm,
            store_dir,
            registry: registry.to_string(),
            setpriv: works(&setpriv).await.then_some(setpriv),
            npmrc: None,
        })
    }

    /// The same, with pnpm reading `npmrc` as its user configuration.
    pub fn with_npmrc(mut self, npmrc: String) -> DependencyInstaller {
        self.npmrc = Some(npmrc);
        self
    }

    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    /// Installs the production dependencies of the package in `package_dir`, in place.
    pub async fn install(&self, package_dir: &Path) -> Result<DependencyReport, InstallError> {
        self.install_without(package_dir, &[], &[]).await
    }

    /// The same, leaving out the dependencies named in `provided` (plugins installed by plughub as
    /// plugins of their own, which pnpm must not fetch from npm), with the ranges of `pins` replaced.
    pub async fn install_without(
        &self,
        package_dir: &Path,
        provided: &[String],
        pins: &[Pin],
    ) -> Result<DependencyReport, InstallError> {
        let started = Instant::now();
        let removed_config = remove_package_manager_files(package_dir)?;
        prepare_manifest(package_dir, provided, pins)?;
        // pnpm's HOME: nothing of the operator's (~/.npmrc, ~/.config/pnpm) is read but the userconfig
        // below, and pnpm's own state stays out of the operator's home.
        let home = tempfile::tempdir().map_err(|e| InstallError::io(Path::new("home"), e))?;
        let hook = home.path().join("registry-only.cjs");
        std::fs::write(&hook, REGISTRY_ONLY_HOOK).map_err(|e| InstallError::io(&hook, e))?;
        // Tokens in a file only this user reads (tempfile makes it 0600), outside the package's folder,
        // removed when pnpm is done; never on pnpm's command line, where `ps` shows them.
        let userconfig = match &self.npmrc {
            Some(text) => {
                let mut file = tempfile::NamedTempFile::new()
                    .map_err(|e| InstallError::io(std::path::Path::new("npmrc"), e))?;
                std::io::Write::write_all(&mut file, text.as_bytes())
                    .map_err(|e| InstallError::io(file.path(), e))?;
                Some(file)
            }
            None => None,
        };
        let mut command = match &self.setpriv {
            Some(setpriv) => {
                let mut c = Command::new(setpriv);
                c.args(["--pdeathsig", "KILL", "--"]).arg(&self.pnpm);
                c
            }
            None => Command::new(&self.pnpm),
        };
        command
            .current_dir(package_dir)
            .args([
                "install",
                "--prod",
                "--ignore-scripts",
                "--reporter=append-only",
                "--no-frozen-lockfile",
            ])
            .arg("--store-dir")
            .arg(&self.store_dir)
            .args(["--registry", &self.registry])
            .args([
                "--config.auto-install-peers=true",
                "--config.strict-peer-dependencies=false",
            ])
            .args([
                "--config.package-manager-strict=false",
                "--config.confirmModulesPurge=false",
            ])
            // Hard links from the store: one copy on disk however many plugins share a file.
            .arg("--config.package-import-method=hardlink")
            // Published plugins import packages they do not declare (plugin-bootstrap imports zod, which
            // only @elizaos/core declares), as npm's flat layout allows: hoist the whole tree to the
            // package's node_modules, still linked from the one store.
            .arg("--config.shamefully-hoist=true")
            // A package's .pnpmfile.cjs is removed already; pnpm reads plughub's hook file instead (and
            // no global one: the configuration it reads is plughub's).
            .arg("--pnpmfile")
            .arg(&hook)
            // An allow-list of the environment: a `${TOKEN}` in any configuration pnpm reads expands only
            // from what is listed, never from plughub's secrets.
            .env_clear()
            .envs(
                KEPT_ENV
                    .iter()
                    .filter_map(|k| std::env::var_os(k).map(|v| (*k, v))),
            )
            .env("HOME", home.path())
            .env("npm_config_globalconfig", "/dev/null")
            .env("npm_config_userconfig", home.path().join(".npmrc"))
            // Non-interactive, and no update check phoning home.
            .env("CI", "true")
            .env("npm_config_update_notifier", "false")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some(file) = &userconfig {
            command.env("npm_config_userconfig", file.path());
        }
        let output = tokio::time::timeout(INSTALL_TIMEOUT, command.output())
            .await
            .map_err(|_| {
                InstallError::Dependencies(format!(
                    "pnpm did not finish within {} s",
                    INSTALL_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| {
                InstallError::Dependencies(format!("cannot run {}: {e}", self.pnpm.display()))
            })?;
        if !output.status.success() {
            let text = format!(
                "{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            return Err(InstallError::Dependencies(pnpm_error(&text)));
        }
        let packages = installed_packages(package_dir).len();
        drop(home);
        Ok(DependencyReport {
            duration: started.elapsed(),
            packages,
            removed_config,
        })
    }
}

/// pnpm resolves `devDependencies` even with `--prod` (an unpublished dev tool would fail the install), and
/// a published package.json may name a package manager or workspaces of its author's machine: plughub's
/// copy keeps what Node.js reads at run time (name, type, exports, main, dependencies) and drops the rest.
/// Its dependencies are as npm installs them for a plugin added to a project: the overrides a package
/// declares for its own development (`resolutions`, `overrides`, `pnpm.overrides`) are not obeyed, since
/// npm obeys them only in the project's own package.json, and pnpm, for which the plugin is the project,
/// would (`@elizaos/plugin-browser` 1.0.3's `"resolutions": { "zod": "3.25.23" }` gave `@elizaos/core`,
/// which declares zod ^4, zod 3: `z3.object(...).loose is not a function`); `pins` replace the ranges npm
/// cannot install (see `pins`).
pub(crate) fn prepare_manifest(
    package_dir: &Path,
    provided: &[String],
    pins: &[Pin],
) -> Result<(), InstallError> {
    let path = package_dir.join("package.json");
    let text = std::fs::read_to_string(&path).map_err(|e| InstallError::io(&path, e))?;
    let invalid = |e: serde_json::Error| {
        InstallError::io(
            &path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    };
    // Fields in the package's own order, each kept as its text but the dependency fields changed here:
    // order is meaning in `exports`, whose conditions Node tries as listed (`{"bun", "import",
    // "default"}` sorted would put `default` before `import`).
    let mut fields: indexmap::IndexMap<String, Box<RawValue>> =
        serde_json::from_str(&text).map_err(invalid)?;
    let dropped: Vec<&str> = [
        "devDependencies",
        "scripts",
        "packageManager",
        "workspaces",
        "pnpm",
        "resolutions",
        "overrides",
    ]
    .into_iter()
    .filter(|k| fields.shift_remove(*k).is_some())
    .collect();
    let mut changed = !dropped.is_empty();
    for field in DEPENDENCY_FIELDS {
        let pinned: Vec<&Pin> = pins
            .iter()
            .filter(|p| p.field == field && !provided.contains(&p.name))
            .collect();
        let Some(raw) = fields.get(field) else {
            if !pinned.is_empty() {
                let deps: serde_json::Map<String, serde_json::Value> = pinned
                    .iter()
                    .map(|p| (p.name.clone(), p.to.clone().into()))
                    .collect();
                fields.insert(field.to_string(), raw_json(&deps));
                changed = true;
            }
            continue;
        };
        let mut deps: serde_json::Value = serde_json::from_str(raw.get()).map_err(invalid)?;
        let Some(map) = deps.as_object_mut() else {
            continue;
        };
        let mut edited = false;
        for pin in pinned {
            map.insert(pin.name.clone(), pin.to.clone().into());
            edited = true;
        }
        for name in provided {
            edited |= map.remove(name).is_some();
        }
        if edited {
            fields.insert(field.to_string(), raw_json(&deps));
            changed = true;
        }
    }
    if changed {
        let text = serde_json::to_string_pretty(&fields).expect("JSON text serialises");
        std::fs::write(&path, text).map_err(|e| InstallError::io(&path, e))?;
    }
    Ok(())
}

fn raw_json(value: &impl serde::Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("a JSON value serialises")
}

/// Deletes the package manager files of `PACKAGE_MANAGER_FILES` at the package's root; returns their names.
fn remove_package_manager_files(package_dir: &Path) -> Result<Vec<String>, InstallError> {
    let mut removed = Vec::new();
    for file in PACKAGE_MANAGER_FILES {
        let path = package_dir.join(file);
        // symlink_metadata: a link is removed itself, whatever it points to.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        }
        .map_err(|e| InstallError::io(&path, e))?;
        removed.push(file.to_string());
    }
    Ok(removed)
}

impl DependencyInstaller {
    /// Removes from the shared store what no installed package links to any more.
    pub async fn prune(&self) -> Result<(), InstallError> {
        if !self.store_dir.exists() {
            return Ok(());
        }
        let home = tempfile::tempdir().map_err(|e| InstallError::io(Path::new("home"), e))?;
        let out = Command::new(&self.pnpm)
            .args(["store", "prune", "--store-dir"])
            .arg(&self.store_dir)
            // As for installs: nothing of the environment but the allow-list.
            .env_clear()
            .envs(
                KEPT_ENV
                    .iter()
                    .filter_map(|k| std::env::var_os(k).map(|v| (*k, v))),
            )
            .env("HOME", home.path())
            .env("npm_config_globalconfig", "/dev/null")
            .env("npm_config_userconfig", "/dev/null")
            .env("CI", "true")
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| {
                InstallError::Dependencies(format!("cannot run {}: {e}", self.pnpm.display()))
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(InstallError::Dependencies(pnpm_error(
                &String::from_utf8_lossy(&out.stderr),
            )))
        }
    }
}

async fn works(pnpm: &Path) -> bool {
    Command::new(pnpm)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await
        .is_ok_and(|o| o.status.success())
}

/// The lines of pnpm's output that say what went wrong (`ERR_PNPM_…` and what follows), not its progress.
fn pnpm_error(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    // plughub's own hook refused a dependency: its sentence is the message.
    if let Some(refused) = lines.iter().find_map(|l| {
        l.split_once("PLUGHUB_NOT_FROM_REGISTRY ")
            .map(|(_, rest)| rest)
    }) {
        return without_userinfo(refused);
    }
    let start = lines
        .iter()
        .position(|l| l.contains("ERR_PNPM") || l.starts_with("ERROR") || l.contains(" ERR!"));
    let picked: Vec<&str> = match start {
        Some(i) => lines[i..].iter().take(6).copied().collect(),
        None => lines.iter().rev().take(6).rev().copied().collect(),
    };
    without_userinfo(&picked.join("\n"))
}

/// `scheme://user:password@host` in `text` → `scheme://host`: a registry URL's credentials never reach a
/// message.
fn without_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let authority_end = rest
            .find(|c: char| c == '/' || c.is_whitespace())
            .unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_error_lines_are_picked_from_pnpm_output() {
        let out = "Progress: resolved 10\n ERR_PNPM_NO_MATCHING_VERSION  No matching version found for @elizaos/service-interfaces@latest\n\nThis error happened while installing a direct dependency\n";
        let picked = super::pnpm_error(out);
        assert!(
            picked.starts_with("ERR_PNPM_NO_MATCHING_VERSION"),
            "{picked}"
        );
        assert!(!picked.contains("Progress"));
    }

    #[test]
    fn registry_userinfo_never_reaches_a_message() {
        let text = super::pnpm_error(
            "ERR_PNPM_FETCH_401 GET https://ops:s3cret@reg.test/x: Unauthorized\nsee http://reg.test/a",
        );
        assert!(!text.contains("s3cret") && !text.contains("ops:"), "{text}");
        assert!(text.contains("https://reg.test/x") && text.contains("http://reg.test/a"));
    }

    #[test]
    fn a_plugin_s_own_overrides_are_dropped_and_pins_applied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("package.json");
        std::fs::write(
            &path,
            serde_json::json!({
                "name": "@elizaos/plugin-browser", "version": "1.0.3",
                "dependencies": { "@elizaos/core": "workspace:*", "zod": "3.25.23", "@acme/mine": "1" },
                "peerDependencies": { "@elizaos/core": "*" },
                "resolutions": { "zod": "3.25.23" }, "overrides": { "zod": "3.25.23" },
                "pnpm": { "overrides": { "zod": "3" } }, "devDependencies": { "tsup": "8" }
            })
            .to_string(),
        )
        .unwrap();
        let pin = |field: &str, to: &str| crate::Pin {
            field: field.into(),
            name: "@elizaos/core".into(),
            from: None,
            to: to.into(),
            why: String::new(),
        };
        super::prepare_manifest(
            dir.path(),
            &["@acme/mine".to_string()],
            &[
                pin("dependencies", "1.7.0"),
                pin("peerDependencies", "1.7.0"),
            ],
        )
        .unwrap();
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for gone in ["resolutions", "overrides", "pnpm", "devDependencies"] {
            assert!(written.get(gone).is_none(), "{gone}: {written}");
        }
        assert_eq!(
            written["dependencies"],
            serde_json::json!({ "@elizaos/core": "1.7.0", "zod": "3.25.23" })
        );
        assert_eq!(written["peerDependencies"]["@elizaos/core"], "1.7.0");
    }

    #[test]
    fn package_names_are_read_from_pnpm_folder_names() {
        let of = super::package_of_folder;
        assert_eq!(of("@acme+dep-a@1.2.0").as_deref(), Some("@acme/dep-a"));
        assert_eq!(of("zod@3.22.0_typescript@5.0.0").as_deref(), Some("zod"));
        assert_eq!(
            of("@elizaos+core@1.0.0_@types+node@20").as_deref(),
            Some("@elizaos/core")
        );
        assert_eq!(of("node_modules"), None);
        assert_eq!(of("lock.yaml"), None);
    }
}
