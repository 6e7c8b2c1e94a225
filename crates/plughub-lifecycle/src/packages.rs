//! The package store on disk: `pkgs/<name>@<version>/` holds one installed copy of a plugin version with
//! its dependencies (linked from the shared pnpm store), used by every instance of it in every group.
//! New packages are assembled in `pkgs/.staging-*` and renamed into place, so a crash leaves only staging
//! folders, which the next collection removes.

use crate::LifecycleError;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct PackageStore {
    root: PathBuf,
}

const STAGING_PREFIX: &str = ".staging-";

impl PackageStore {
    pub fn new(root: impl Into<PathBuf>) -> PackageStore {
        PackageStore { root: root.into() }
    }

    pub fn pnpm_store(&self) -> PathBuf {
        self.root.join("pnpm-store")
    }

    pub fn tools_dir(&self) -> PathBuf {
        self.root.join("tools")
    }

    fn pkgs(&self) -> PathBuf {
        self.root.join("pkgs")
    }

    /// The folder name of a plugin version: `@acme/plugin-x` 1.0.0 → `@acme+plugin-x@1.0.0`.
    pub fn folder_name(name: &str, version: &str) -> String {
        format!("{}@{version}", name.replace('/', "+"))
    }

    pub fn path(&self, folder: &str) -> PathBuf {
        self.pkgs().join(folder)
    }

    pub fn contains(&self, folder: &str) -> bool {
        self.path(folder).join("package.json").is_file()
    }

    /// A fresh staging folder to assemble a package in (it does not exist yet).
    pub fn staging(&self) -> Result<PathBuf, LifecycleError> {
        let pkgs = self.pkgs();
        std::fs::create_dir_all(&pkgs).map_err(|e| io(&pkgs, e))?;
        Ok(pkgs.join(format!("{STAGING_PREFIX}{}", uuid::Uuid::new_v4().simple())))
    }

    /// Moves an assembled package into place. If another install put the same version there meanwhile,
    /// that copy is kept and this one dropped: the store holds each version once.
    pub fn commit(&self, staging: &Path, folder: &str) -> Result<PathBuf, LifecycleError> {
        let target = self.path(folder);
        if self.contains(folder) {
            remove(staging)?;
            return Ok(target);
        }
        if let Err(e) = std::fs::rename(staging, &target) {
            // Another install (or another request fetching it) put it there meanwhile.
            if self.contains(folder) {
                remove(staging)?;
                return Ok(target);
            }
            return Err(io(&target, e));
        }
        Ok(target)
    }

    /// Held (shared) by every install while it works: many installs may run at once, in one process or
    /// several on this machine.
    pub fn lock_shared(&self) -> Result<std::fs::File, LifecycleError> {
        let file = self.lock_file()?;
        file.lock_shared().map_err(|e| io(&self.root, e))?;
        Ok(file)
    }

    /// Held (exclusive) by recovery and collection, which delete folders. Waits up to `patience` for
    /// the lock: a process another thread is spawning holds an inherited copy of it for an instant
    /// between fork and exec. `None` when installs keep it the whole time; recovery and collection then
    /// wait for a later turn rather than delete folders in use.
    pub async fn lock_exclusive_within(
        &self,
        patience: std::time::Duration,
    ) -> Result<Option<std::fs::File>, LifecycleError> {
        let file = self.lock_file()?;
        let deadline = std::time::Instant::now() + patience;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(file)),
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(e)) => return Err(io(&self.root, e)),
            }
        }
    }

    fn lock_file(&self) -> Result<std::fs::File, LifecycleError> {
        std::fs::create_dir_all(&self.root).map_err(|e| io(&self.root, e))?;
        let path = self.root.join(".lock");
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io(&path, e))
    }

    /// Removes every package no instance uses and every staging folder left by an interrupted install;
    /// returns what was removed. Call it holding the exclusive lock.
    pub fn collect(&self, in_use: &HashSet<String>) -> Result<Vec<String>, LifecycleError> {
        let pkgs = self.pkgs();
        let Ok(entries) = std::fs::read_dir(&pkgs) else {
            return Ok(Vec::new());
        };
        let mut removed = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io(&pkgs, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !in_use.contains(&name) {
                remove(&entry.path())?;
                removed.push(name);
            }
        }
        removed.sort();
        Ok(removed)
    }

    /// Package folders present on disk (staging folders excluded).
    pub fn folders(&self) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(self.pkgs())
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with(STAGING_PREFIX))
            .collect();
        out.sort();
        out
    }
}

pub(crate) fn remove(path: &Path) -> Result<(), LifecycleError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(path, e)),
    }
}

pub(crate) fn io(path: &Path, source: std::io::Error) -> LifecycleError {
    LifecycleError::Io {
        path: path.display().to_string(),
        source,
    }
}
