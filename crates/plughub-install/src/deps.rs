//! A plugin's dependencies, installed with pnpm into one content-addressed store shared by every package:
//! `@elizaos/core` and its tree (about 180 MB) are stored once however many plugins use them. Install
//! scripts never run (`--ignore-scripts`), only production dependencies are installed, and the registry is
//! the one of the user's npm configuration.
//!
//! Why pnpm and not npm: measured here on eight real `@elizaos/plugin-*` packages, npm took 175 s and
//! 2,086 MB, pnpm with one store 66 s and 796 MB (38 %), and all eight loaded under pnpm's layout.

use crate::InstallError;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

/// The pnpm major plughub installs when none is on the PATH; 9 runs on Node.js 18 and later.
pub const PNPM_SPEC: &str = "pnpm@9";
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);

#[derive(Debug, Clone)]
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

#[derive(Debug, Clone)]
pub struct DependencyReport {
    pub duration: Duration,
    /// Packages in the plugin's dependency tree (its `node_modules/.pnpm` entries).
    pub packages: usize,
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
        let started = Instant::now();
        prepare_manifest(package_dir)?;
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
        let packages = std::fs::read_dir(package_dir.join("node_modules/.pnpm"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name() != "node_modules" && e.file_name() != "lock.yaml")
                    .count()
            })
            .unwrap_or(0);
        Ok(DependencyReport {
            duration: started.elapsed(),
            packages,
        })
    }
}

/// pnpm resolves `devDependencies` even with `--prod` (an unpublished dev tool would fail the install), and
/// a published package.json may name a package manager or workspaces of its author's machine: plughub's
/// copy keeps what Node.js reads at run time (name, type, exports, main, dependencies) and drops the rest.
fn prepare_manifest(package_dir: &Path) -> Result<(), InstallError> {
    let path = package_dir.join("package.json");
    let text = std::fs::read_to_string(&path).map_err(|e| InstallError::io(&path, e))?;
    let mut manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        InstallError::io(
            &path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })?;
    let Some(fields) = manifest.as_object_mut() else {
        return Err(InstallError::io(
            &path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, "not a JSON object"),
        ));
    };
    let dropped: Vec<&str> = [
        "devDependencies",
        "scripts",
        "packageManager",
        "workspaces",
        "pnpm",
    ]
    .into_iter()
    .filter(|k| fields.remove(*k).is_some())
    .collect();
    if !dropped.is_empty() {
        let text = serde_json::to_string_pretty(&manifest).expect("a JSON value serialises");
        std::fs::write(&path, text).map_err(|e| InstallError::io(&path, e))?;
    }
    Ok(())
}

impl DependencyInstaller {
    /// Removes from the shared store what no installed package links to any more.
    pub async fn prune(&self) -> Result<(), InstallError> {
        if !self.store_dir.exists() {
            return Ok(());
        }
        let out = Command::new(&self.pnpm)
            .args(["store", "prune", "--store-dir"])
            .arg(&self.store_dir)
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
    let start = lines
        .iter()
        .position(|l| l.contains("ERR_PNPM") || l.starts_with("ERROR") || l.contains(" ERR!"));
    let picked: Vec<&str> = match start {
        Some(i) => lines[i..].iter().take(6).copied().collect(),
        None => lines.iter().rev().take(6).rev().copied().collect(),
    };
    picked.join("\n")
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
}
