//! From a spec to a folder of verified files: resolve on npm, download, verify, extract; or take a local
//! folder or tarball through the same extraction.

use crate::InstallError;
use crate::extract::{ExtractLimits, extract_tarball};
use crate::integrity;
use crate::resolve::{Resolved, resolve};
use crate::source::PackageSource;
use plughub_domain::CoreMajor;
use std::path::{Path, PathBuf};

/// A package on disk, with what is known of where it came from.
#[derive(Debug, Clone)]
pub struct FetchedPackage {
    pub name: String,
    pub version: String,
    pub dir: PathBuf,
    /// The verified SRI of the tarball, for npm and tarball sources.
    pub integrity: Option<String>,
    pub resolved: Option<Resolved>,
}

/// Resolves `name@wanted` on `client` (npm, or plughub's own registry), downloads and verifies the tarball, and extracts it into `dest`.
pub async fn fetch_from_npm(
    client: &dyn PackageSource,
    name: &str,
    wanted: Option<&str>,
    core: Option<CoreMajor>,
    dest: &Path,
    limits: &ExtractLimits,
) -> Result<FetchedPackage, InstallError> {
    let doc = document(client, name).await?;
    let resolved = resolve(&doc, name, wanted, core)?;
    fetch_resolved(client, resolved, dest, limits).await
}

/// The package document of `name` from `client`, or why there is none.
pub async fn document(
    client: &dyn PackageSource,
    name: &str,
) -> Result<serde_json::Value, InstallError> {
    client.document(name).await
}

/// Downloads a resolved version, verifies it against its integrity, and extracts it into `dest`.
pub async fn fetch_resolved(
    client: &dyn PackageSource,
    resolved: Resolved,
    dest: &Path,
    limits: &ExtractLimits,
) -> Result<FetchedPackage, InstallError> {
    let bytes = client.tarball(&resolved, limits.max_total_bytes).await?;
    let sri = integrity::verify(
        &resolved.name,
        &resolved.version,
        &resolved.expected,
        &bytes,
    )?;
    // Unpacking is blocking file work: off the async threads, so a large package stalls no request.
    let (into, limits_copy) = (dest.to_path_buf(), *limits);
    tokio::task::spawn_blocking(move || extract_tarball(&bytes, &into, &limits_copy))
        .await
        .map_err(|e| InstallError::Unsafe(format!("extraction stopped ({e})")))??;
    Ok(FetchedPackage {
        name: resolved.name.clone(),
        version: resolved.version.clone(),
        dir: dest.to_path_buf(),
        integrity: Some(sri),
        resolved: Some(resolved),
    })
}

/// A local `.tgz` extracted into `dest`, or a local folder used where it is; both must hold a package.json
/// with a name and a version.
pub fn open_local(
    path: &Path,
    dest: &Path,
    limits: &ExtractLimits,
) -> Result<FetchedPackage, InstallError> {
    let (dir, integrity) = if path.is_dir() {
        (path.to_path_buf(), None)
    } else {
        let bytes = std::fs::read(path).map_err(|e| InstallError::io(path, e))?;
        extract_tarball(&bytes, dest, limits)?;
        (dest.to_path_buf(), Some(integrity::sri_of(&bytes)))
    };
    let manifest_path = dir.join("package.json");
    let text =
        std::fs::read_to_string(&manifest_path).map_err(|e| InstallError::io(&manifest_path, e))?;
    let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        InstallError::io(
            &manifest_path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })?;
    let field = |k: &str| manifest.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let (Some(name), Some(version)) = (field("name"), field("version")) else {
        return Err(InstallError::BadSpec(format!(
            "{}: package.json needs a name and a version",
            path.display()
        )));
    };
    Ok(FetchedPackage {
        name,
        version,
        dir,
        integrity,
        resolved: None,
    })
}
