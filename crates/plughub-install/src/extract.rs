//! Extracting a package tarball without trusting it. Refused, with the entry named: absolute paths, `..`,
//! hard links, symbolic links whose target leaves the package, device files and FIFOs, and archives past
//! the size, file-count or compression-ratio limits (a small download that inflates to gigabytes).
//! Everything goes into a temporary folder beside the destination, renamed into place only when the whole
//! archive passed: a refused or interrupted extraction leaves nothing behind.

use crate::InstallError;
use flate2::read::GzDecoder;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// The limits an archive must keep. All configurable; the defaults suit plugin packages, which are a few
/// megabytes at most.
#[derive(Debug, Clone, Copy)]
pub struct ExtractLimits {
    pub max_total_bytes: u64,
    pub max_file_bytes: u64,
    pub max_files: usize,
    /// Unpacked bytes per compressed byte.
    pub max_ratio: u64,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        ExtractLimits {
            max_total_bytes: 512 << 20,
            max_file_bytes: 128 << 20,
            max_files: 20_000,
            max_ratio: 100,
        }
    }
}

/// Extracts `tarball` (gzip'd tar, as npm publishes) into `dest`, which must not exist yet. npm tarballs put
/// everything under one top folder (`package/`); it is stripped.
pub fn extract_tarball(
    tarball: &[u8],
    dest: &Path,
    limits: &ExtractLimits,
) -> Result<(), InstallError> {
    if dest.exists() {
        return Err(InstallError::io(
            dest,
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists"),
        ));
    }
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| InstallError::io(parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".extract-")
        .tempdir_in(parent)
        .map_err(|e| InstallError::io(parent, e))?;
    unpack(tarball, staging.path(), limits)?;
    let staged = staging.keep();
    std::fs::rename(&staged, dest).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        InstallError::io(dest, e)
    })
}

fn unpack(tarball: &[u8], root: &Path, limits: &ExtractLimits) -> Result<(), InstallError> {
    let max_by_ratio = (tarball.len() as u64)
        .saturating_mul(limits.max_ratio)
        .max(1 << 20);
    let budget = limits.max_total_bytes.min(max_by_ratio);
    let mut archive = tar::Archive::new(GzDecoder::new(tarball));
    let mut total: u64 = 0;
    let mut files = 0usize;
    let entries = archive
        .entries()
        .map_err(|e| unsafe_archive(format!("not a tar.gz archive ({e})")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| unsafe_archive(format!("damaged archive ({e})")))?;
        let raw_path = entry
            .path()
            .map_err(|e| unsafe_archive(format!("unreadable entry name ({e})")))?
            .into_owned();
        let shown = raw_path.display().to_string();
        let Some(relative) = inside_path(&raw_path)
            .map_err(|why| unsafe_archive(format!("entry '{shown}' {why}")))?
        else {
            continue; // the top folder itself
        };
        files += 1;
        if files > limits.max_files {
            return Err(unsafe_archive(format!(
                "more than {} entries",
                limits.max_files
            )));
        }
        let target = root.join(&relative);
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Directory => {
                ensure_no_links(root, &relative)?;
                std::fs::create_dir_all(&target).map_err(|e| InstallError::io(&target, e))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.header().size().unwrap_or(u64::MAX);
                if size > limits.max_file_bytes {
                    return Err(unsafe_archive(format!(
                        "entry '{shown}' is {size} bytes, over the {} allowed",
                        limits.max_file_bytes
                    )));
                }
                if let Some(dir) = relative.parent() {
                    ensure_no_links(root, dir)?;
                    std::fs::create_dir_all(root.join(dir))
                        .map_err(|e| InstallError::io(&target, e))?;
                }
                // Counted while copying: a header can lie about its size, the bytes cannot.
                let mut out =
                    std::fs::File::create(&target).map_err(|e| InstallError::io(&target, e))?;
                let mut buf = [0u8; 64 * 1024];
                loop {
                    let n = entry
                        .read(&mut buf)
                        .map_err(|e| unsafe_archive(format!("entry '{shown}' is damaged ({e})")))?;
                    if n == 0 {
                        break;
                    }
                    total += n as u64;
                    if total > budget {
                        return Err(unsafe_archive(format!(
                            "it unpacks to more than {budget} bytes (limits: {} bytes, {}× the download)",
                            limits.max_total_bytes, limits.max_ratio
                        )));
                    }
                    out.write_all(&buf[..n])
                        .map_err(|e| InstallError::io(&target, e))?;
                }
                let executable = entry.header().mode().is_ok_and(|m| m & 0o111 != 0);
                set_mode(&target, if executable { 0o755 } else { 0o644 })?;
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|l| l.into_owned())
                    .unwrap_or_default();
                let base = relative.parent().unwrap_or(Path::new(""));
                if link.is_absolute() || escapes(&base.join(&link)) {
                    return Err(unsafe_archive(format!(
                        "link '{shown}' points outside the package ({})",
                        link.display()
                    )));
                }
                // A link resolved through an earlier link is checked against the wrong folder
                // (`s/l1 -> ..` then `s/l2 -> l1/..` climbs two levels while reading as one).
                if passes_through_link(root, &base.join(&link)) {
                    return Err(unsafe_archive(format!(
                        "link '{shown}' points through another link ({})",
                        link.display()
                    )));
                }
                if let Some(dir) = relative.parent() {
                    ensure_no_links(root, dir)?;
                    std::fs::create_dir_all(root.join(dir))
                        .map_err(|e| InstallError::io(&target, e))?;
                }
                symlink(&link, &target)?;
            }
            tar::EntryType::Link => {
                return Err(unsafe_archive(format!(
                    "hard link '{shown}': packages have no need of them"
                )));
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                return Err(unsafe_archive(format!(
                    "entry '{shown}' is a device or FIFO ({kind:?})"
                )));
            }
            // Metadata entries (pax headers and the like) are handled by the tar reader itself.
            _ => {}
        }
    }
    links_stay_inside(root)
}

/// Whether a path under `root` (relative, `..` applied as written) names an existing link on the way.
fn passes_through_link(root: &Path, path: &Path) -> bool {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(p) => {
                parts.push(p);
                let at: PathBuf = std::iter::once(root.as_os_str())
                    .chain(parts.iter().copied())
                    .collect();
                if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
                    return true;
                }
            }
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    false
}

/// Every link, once the whole archive is out, resolves to something inside it: a later link can change
/// where an earlier one leads, so each is checked against the finished tree. A link to nothing is refused
/// too, as where it leads cannot be checked.
fn links_stay_inside(root: &Path) -> Result<(), InstallError> {
    let top = root.canonicalize().map_err(|e| InstallError::io(root, e))?;
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| InstallError::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| InstallError::io(&dir, e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| InstallError::io(&path, e))?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_symlink() {
                let shown = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                match path.canonicalize() {
                    Ok(real) if real.starts_with(&top) => {}
                    Ok(_) => {
                        return Err(unsafe_archive(format!(
                            "link '{shown}' leads outside the package through other links"
                        )));
                    }
                    Err(_) => {
                        return Err(unsafe_archive(format!(
                            "link '{shown}' leads to nothing in the package"
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The entry's path inside the package, without the top folder; `None` for the top folder itself.
fn inside_path(path: &Path) -> Result<Option<PathBuf>, &'static str> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(p) => parts.push(p),
            Component::CurDir => {}
            Component::ParentDir => return Err("climbs out with '..'"),
            Component::RootDir | Component::Prefix(_) => return Err("has an absolute path"),
        }
    }
    if parts.len() <= 1 {
        return Ok(None);
    }
    Ok(Some(parts[1..].iter().collect()))
}

/// Whether a relative path leaves its root once `..` are applied.
fn escapes(path: &Path) -> bool {
    let mut depth: i64 = 0;
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => depth -= 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return true,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

/// No component of `dir` under `root` may be a link: writing through a link planted by an earlier entry is
/// how archives escape.
fn ensure_no_links(root: &Path, dir: &Path) -> Result<(), InstallError> {
    let mut at = root.to_path_buf();
    for component in dir.components() {
        at.push(component);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(unsafe_archive(format!(
                "an entry writes through the link '{}'",
                dir.display()
            )));
        }
    }
    Ok(())
}

fn unsafe_archive(reason: String) -> InstallError {
    InstallError::Unsafe(reason)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), InstallError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| InstallError::io(path, e))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), InstallError> {
    Ok(())
}

#[cfg(unix)]
fn symlink(link: &Path, target: &Path) -> Result<(), InstallError> {
    std::os::unix::fs::symlink(link, target).map_err(|e| InstallError::io(target, e))
}

#[cfg(not(unix))]
fn symlink(_link: &Path, target: &Path) -> Result<(), InstallError> {
    Err(unsafe_archive(format!(
        "link '{}' (links are not extracted on this system)",
        target.display()
    )))
}
