#![doc = include_str!("../README.md")]

mod database;
mod manifest;
mod org;
mod packages;

pub use manifest::{Counts, Manifest, PackageEntry};
pub use org::{ExportedMember, ExportedOrganisation, OrgExport, export_org};

use plughub_store::{Location, Store};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Refused(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] plughub_store::StoreError),
    #[error("the backup's keys: {0}")]
    Keys(String),
    #[error("{tool} failed: {reason}")]
    Tool { tool: &'static str, reason: String },
    #[error("the backup is damaged: {0}")]
    Damaged(String),
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

/// What a backup is taken of.
pub struct Source<'a> {
    pub store: &'a Store,
    pub location: &'a Location,
    /// Where installed packages live (`packages/` of the data directory).
    pub packages_dir: &'a Path,
}

/// The key ring to keep, and the passphrase to seal it with.
pub struct KeysToKeep<'a> {
    pub ring: &'a plughub_secrets::KeyRing,
    pub passphrase: &'a str,
}

/// Takes a backup into `to`, which must not exist or be an empty folder. It is written beside `to` and
/// renamed into place at the end: a backup that failed leaves no folder that looks whole.
pub async fn backup(
    source: &Source<'_>,
    to: &Path,
    keys: Option<KeysToKeep<'_>>,
) -> Result<Manifest, BackupError> {
    if to.exists() {
        let empty = std::fs::read_dir(to)
            .map_err(io(format!("cannot read {}", to.display())))?
            .next()
            .is_none();
        if !empty {
            return Err(BackupError::Refused(format!(
                "{} is not empty: give a new folder for the backup",
                to.display()
            )));
        }
        std::fs::remove_dir(to).map_err(io(format!("cannot use {}", to.display())))?;
    }
    let partial = partial_path(to);
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).map_err(io(format!("cannot make {}", partial.display())))?;
    let taken = take(source, &partial, keys).await;
    match taken {
        Ok(manifest) => {
            std::fs::rename(&partial, to)
                .map_err(io(format!("cannot move the backup into {}", to.display())))?;
            Ok(manifest)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            Err(e)
        }
    }
}

fn partial_path(to: &Path) -> PathBuf {
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    to.with_file_name(format!(".{name}.partial"))
}

async fn take(
    source: &Source<'_>,
    dir: &Path,
    keys: Option<KeysToKeep<'_>>,
) -> Result<Manifest, BackupError> {
    // The counts first: the copy is at least as new, so a restore finds at least these.
    let counts = Counts::of(source.store).await?;
    let schema_version = source.store.schema_version().await?;
    let database_file = database::dump(source.store, source.location, dir).await?;
    let packages = packages::keep(source.store, source.packages_dir, dir).await?;
    let keys_file = match keys {
        Some(keys) => {
            let sealed =
                plughub_secrets::passphrase::seal(keys.ring.export().as_bytes(), keys.passphrase)
                    .map_err(|e| BackupError::Keys(e.to_string()))?;
            let path = dir.join(manifest::KEYS_FILE);
            std::fs::write(&path, sealed).map_err(io("cannot write the sealed keys"))?;
            Some(manifest::KEYS_FILE.to_string())
        }
        None => None,
    };
    let mut files = vec![database_file, manifest::PACKAGES_FILE.to_string()];
    files.extend(keys_file.clone());
    let manifest = Manifest::new(
        source.store.backend().as_str(),
        schema_version,
        counts,
        packages,
        keys_file.is_some(),
        manifest::checksums(dir, &files)?,
    );
    manifest.write(dir)?;
    Ok(manifest)
}

/// Where a restore puts what it restores.
pub struct Target<'a> {
    pub location: &'a Location,
    pub data_dir: &'a Path,
    pub packages_dir: &'a Path,
    /// Where the key ring goes (`secret-keys.json` of the data directory).
    pub key_file: &'a Path,
}

/// What a restore did.
#[derive(Debug, serde::Serialize)]
pub struct Restored {
    pub manifest: Manifest,
    /// What the restored store holds, checked against the manifest's counts.
    pub counts: Counts,
    pub keys_restored: bool,
    /// Registry packages fetched again (and verified) the first time they run here.
    pub packages_to_fetch: usize,
    pub packages_copied: usize,
}

/// Restores the backup in `from` into `target`, which must hold no store yet. Every file is checked and
/// the keys opened before anything is written.
pub async fn restore(
    from: &Path,
    target: &Target<'_>,
    passphrase: Option<&str>,
) -> Result<Restored, BackupError> {
    let manifest = Manifest::read(from)?;
    manifest.verify(from)?;
    let expected = match target.location {
        Location::DataDir(_) => "sqlite",
        Location::Url(_) => "postgres",
    };
    if manifest.store != expected {
        return Err(BackupError::Refused(format!(
            "this is a backup of a {} store and the target is {expected}: restore it where it came from (--data-dir for sqlite, --database-url for postgres)",
            manifest.store
        )));
    }
    if Store::exists_at(target.location).await? {
        return Err(BackupError::Refused(format!(
            "{} holds a plughub store already: restore into a fresh data directory (--data-dir) or an empty database",
            target.location.describe()
        )));
    }
    let keys = match (manifest.keys, passphrase) {
        (true, Some(passphrase)) => {
            let sealed = std::fs::read_to_string(from.join(manifest::KEYS_FILE))
                .map_err(io("cannot read the sealed keys"))?;
            let opened = plughub_secrets::passphrase::open(&sealed, passphrase)
                .map_err(|e| BackupError::Keys(e.to_string()))?;
            if target.key_file.exists() {
                return Err(BackupError::Refused(format!(
                    "{} exists: a restore does not replace keys; move it away first",
                    target.key_file.display()
                )));
            }
            Some(String::from_utf8_lossy(&opened).into_owned())
        }
        (true, None) => {
            return Err(BackupError::Keys(
                "this backup holds the keys sealed with a passphrase: give it (--passphrase-file or PLUGHUB_BACKUP_PASSPHRASE)".into(),
            ));
        }
        (false, _) => None,
    };
    std::fs::create_dir_all(target.data_dir)
        .map_err(io(format!("cannot make {}", target.data_dir.display())))?;
    if let Some(keys) = &keys {
        plughub_secrets::KeyRing::import(target.key_file, keys)
            .map_err(|e| BackupError::Keys(e.to_string()))?;
    }
    database::load(&manifest, from, target.location).await?;
    let copied = packages::put_back(&manifest.packages, from, target.packages_dir)?;
    // Opening brings an older backup's schema up to date.
    let store = Store::open(target.location).await?;
    let counts = Counts::of(&store).await?;
    store.close().await;
    if !counts.covers(&manifest.counts) {
        return Err(BackupError::Damaged(format!(
            "the restored store holds {counts:?}, less than the backup's manifest says ({:?})",
            manifest.counts
        )));
    }
    Ok(Restored {
        packages_to_fetch: manifest.packages.iter().filter(|p| !p.copied).count(),
        packages_copied: copied,
        keys_restored: keys.is_some(),
        counts,
        manifest,
    })
}
