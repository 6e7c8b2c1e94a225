//! The installed packages: listed with their integrity, and those from a local folder or tarball copied
//! (nothing can fetch them again).

use crate::manifest::{PACKAGES_FILE, PackageEntry};
use crate::{BackupError, io};
use plughub_store::Store;
use std::path::Path;

/// Lists every installed version (current and kept for rollback) in `dir`'s packages.json, and copies
/// the local ones into `dir/packages/`.
pub(crate) async fn keep(
    store: &Store,
    packages_dir: &Path,
    dir: &Path,
) -> Result<Vec<PackageEntry>, BackupError> {
    let mut entries: Vec<PackageEntry> = Vec::new();
    let instances = store
        .things_in_all_groups(plughub_domain::ThingKind::PluginInstance)
        .await?;
    for record in instances.iter().filter_map(plughub_lifecycle::record_of) {
        for version in std::iter::once(&record.current).chain(record.previous.as_ref()) {
            let Some(folder) = &version.package else {
                continue;
            };
            if entries.iter().any(|e| e.folder == *folder) {
                continue;
            }
            entries.push(PackageEntry {
                plugin: record.plugin.clone(),
                version: version.version.clone(),
                folder: folder.clone(),
                integrity: version.integrity.clone(),
                copied: folder.contains(plughub_lifecycle::LOCAL_MARKER),
            });
        }
    }
    entries.sort_by(|a, b| a.folder.cmp(&b.folder));
    let store = plughub_lifecycle::PackageStore::new(packages_dir);
    for entry in entries.iter().filter(|e| e.copied) {
        let from = store.path(&entry.folder);
        if from.exists() {
            copy_tree(&from, &dir.join("packages").join(&entry.folder))?;
        }
    }
    let text = serde_json::to_string_pretty(&entries).expect("entries serialise");
    std::fs::write(dir.join(PACKAGES_FILE), text).map_err(io("cannot write packages.json"))?;
    Ok(entries)
}

/// Copies the local packages of the backup into the package store; returns how many.
pub(crate) fn put_back(
    entries: &[PackageEntry],
    from: &Path,
    packages_dir: &Path,
) -> Result<usize, BackupError> {
    let store = plughub_lifecycle::PackageStore::new(packages_dir);
    let mut copied = 0;
    for entry in entries.iter().filter(|e| e.copied) {
        let source = from.join("packages").join(&entry.folder);
        let target = store.path(&entry.folder);
        if source.exists() && !target.exists() {
            copy_tree(&source, &target)?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// A folder copied with its links as links (a package's dependencies are linked by pnpm).
fn copy_tree(from: &Path, to: &Path) -> Result<(), BackupError> {
    std::fs::create_dir_all(to).map_err(io(format!("cannot make {}", to.display())))?;
    for entry in std::fs::read_dir(from).map_err(io(format!("cannot read {}", from.display())))? {
        let entry = entry.map_err(io(format!("cannot read {}", from.display())))?;
        let kind = entry
            .file_type()
            .map_err(io(format!("cannot read {}", entry.path().display())))?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            let link = std::fs::read_link(entry.path())
                .map_err(io(format!("cannot read {}", entry.path().display())))?;
            std::os::unix::fs::symlink(link, &target)
                .map_err(io(format!("cannot link {}", target.display())))?;
        } else {
            std::fs::copy(entry.path(), &target)
                .map_err(io(format!("cannot copy {}", entry.path().display())))?;
        }
    }
    Ok(())
}
