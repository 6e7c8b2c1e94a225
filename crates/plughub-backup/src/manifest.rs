//! `manifest.json`: what a backup holds, with a checksum of each file and the counts a restore checks.

use crate::{BackupError, io};
use plughub_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

pub(crate) const MANIFEST_FILE: &str = "manifest.json";
pub(crate) const PACKAGES_FILE: &str = "packages.json";
pub(crate) const KEYS_FILE: &str = "keys.sealed.json";
pub(crate) const SQLITE_FILE: &str = "plughub.db";
pub(crate) const PG_FILE: &str = "plughub.pgdump";

/// The manifest's format; a newer one is refused by an older plughub.
const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The plughub that made it.
    pub plughub_version: String,
    pub created_at: String,
    /// `sqlite` or `postgres`.
    pub store: String,
    /// The newest migration the store had.
    pub schema_version: i64,
    pub counts: Counts,
    pub packages: Vec<PackageEntry>,
    /// Whether the key ring is in it, sealed with a passphrase.
    pub keys: bool,
    /// Each file's SHA-256 (hex).
    pub files: Vec<(String, String)>,
}

/// What the store held when the backup began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub organisations: usize,
    pub installed_plugins: usize,
    pub events: i64,
}

impl Counts {
    pub(crate) async fn of(store: &Store) -> Result<Counts, BackupError> {
        let groups = store.groups().await?;
        let installed = store
            .things_in_all_groups(plughub_domain::ThingKind::PluginInstance)
            .await?
            .len();
        let events = store.count_events(&Default::default()).await?;
        Ok(Counts {
            organisations: groups.len(),
            installed_plugins: installed,
            events,
        })
    }

    /// Whether a restored store holds at least what the backup began with (a copy taken while the
    /// server serves may hold a few events more).
    pub(crate) fn covers(&self, backed_up: &Counts) -> bool {
        self.organisations >= backed_up.organisations
            && self.installed_plugins >= backed_up.installed_plugins
            && self.events >= backed_up.events
    }
}

/// An installed package.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageEntry {
    pub plugin: String,
    pub version: String,
    /// Its folder in the package store.
    pub folder: String,
    /// The npm integrity (`sha512-…`) it was verified against at install.
    pub integrity: Option<String>,
    /// Installed from a local folder or tarball, so copied into the backup's `packages/`.
    pub copied: bool,
}

impl Manifest {
    pub(crate) fn new(
        store: &str,
        schema_version: i64,
        counts: Counts,
        packages: Vec<PackageEntry>,
        keys: bool,
        files: Vec<(String, String)>,
    ) -> Manifest {
        Manifest {
            format: FORMAT,
            plughub_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            store: store.to_string(),
            schema_version,
            counts,
            packages,
            keys,
            files,
        }
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<(), BackupError> {
        let text = serde_json::to_string_pretty(self).expect("manifests serialise");
        std::fs::write(dir.join(MANIFEST_FILE), text).map_err(io("cannot write the manifest"))
    }

    pub(crate) fn read(dir: &Path) -> Result<Manifest, BackupError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            BackupError::Refused(format!(
                "{} is not a plughub backup ({}: {e})",
                dir.display(),
                path.display()
            ))
        })?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| BackupError::Damaged(format!("{}: {e}", path.display())))?;
        if manifest.format > FORMAT {
            return Err(BackupError::Refused(format!(
                "this backup was made by plughub {} in a newer format ({}); restore it with that version or newer",
                manifest.plughub_version, manifest.format
            )));
        }
        Ok(manifest)
    }

    /// Checks every file against its checksum.
    pub(crate) fn verify(&self, dir: &Path) -> Result<(), BackupError> {
        let names: Vec<String> = self.files.iter().map(|(name, _)| name.clone()).collect();
        let found = checksums(dir, &names)
            .map_err(|e| BackupError::Damaged(format!("a file is missing: {e}")))?;
        for ((name, expected), (_, actual)) in self.files.iter().zip(found) {
            if *expected != actual {
                return Err(BackupError::Damaged(format!(
                    "{name} is not the file the backup wrote (its SHA-256 differs)"
                )));
            }
        }
        Ok(())
    }
}

/// The SHA-256 of each of `names` in `dir`.
pub(crate) fn checksums(
    dir: &Path,
    names: &[String],
) -> Result<Vec<(String, String)>, BackupError> {
    names
        .iter()
        .map(|name| {
            let path = dir.join(name);
            let mut file = std::fs::File::open(&path)
                .map_err(io(format!("cannot read {}", path.display())))?;
            let mut hasher = Sha256::new();
            std::io::copy(&mut file, &mut hasher)
                .map_err(io(format!("cannot read {}", path.display())))?;
            Ok((name.clone(), hex::encode(hasher.finalize())))
        })
        .collect()
}
