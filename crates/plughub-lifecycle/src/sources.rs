//! Where an install takes a package from: a name published to plughub (any version of it in the
//! registry's store, whatever its status) comes from plughub's store only, and never from npm, even when
//! none of its versions is published; every other name comes from npm only. So a package published to
//! plughub cannot be shadowed by a same-named package on npm (dependency confusion). Both sources go
//! through the same resolve, integrity check and extraction (`plughub_install::PackageSource`).

use plughub_install::{InstallError, PackageSource, Resolved, SourceFuture};
use plughub_npm::NpmClient;
use plughub_registry::npm_view;
use plughub_store::{Store, VERSION_PUBLISHED};
use serde_json::Value;

/// The tarball address plughub's own documents give inside the install path: not a network address, so
/// that nothing could ever fetch a plughub package from elsewhere by its URL.
pub const PLUGHUB_TARBALL_BASE: &str = "plughub-registry:/";

/// The end of a package store folder's name holding a version published to plughub.
pub(crate) const PLUGHUB_MARKER: &str = "+plughub";

/// npm and plughub's own registry, chosen by name.
#[derive(Clone)]
pub struct Sources {
    pub(crate) npm: NpmClient,
    pub(crate) store: Store,
}

impl Sources {
    /// Whether `name` is plughub's to serve.
    pub(crate) async fn is_plughub(&self, name: &str) -> Result<bool, InstallError> {
        self.store.registry_has_package(name).await.map_err(|e| {
            InstallError::Npm(format!("{name}: plughub's registry could not be read: {e}"))
        })
    }
}

/// Whether a resolved version came from plughub's own registry (its folder in the package store is then
/// never the one of an npm version with the same name and number).
pub fn from_plughub(resolved: &Resolved) -> bool {
    resolved.tarball.starts_with(PLUGHUB_TARBALL_BASE)
}

impl PackageSource for Sources {
    fn document<'a>(&'a self, name: &'a str) -> SourceFuture<'a, Value> {
        Box::pin(async move {
            if !self.is_plughub(name).await? {
                return PackageSource::document(&self.npm, name).await;
            }
            npm_view::document(&self.store, name, PLUGHUB_TARBALL_BASE)
                .await
                .map_err(|e| InstallError::Npm(format!("{name}: {e}")))?
                .ok_or_else(|| InstallError::NotPublished { name: name.into() })
        })
    }

    fn tarball<'a>(&'a self, resolved: &'a Resolved, limit: u64) -> SourceFuture<'a, Vec<u8>> {
        Box::pin(async move {
            let name = &resolved.name;
            if !self.is_plughub(name).await? {
                if from_plughub(resolved) {
                    return Err(InstallError::NotPublished { name: name.clone() });
                }
                return PackageSource::tarball(&self.npm, resolved, limit).await;
            }
            // Published to plughub since its document was read from npm: the npm version is not taken.
            if !from_plughub(resolved) {
                return Err(InstallError::NotPublished { name: name.clone() });
            }
            let published = self
                .store
                .registry_version(name, &resolved.version)
                .await
                .map_err(|e| InstallError::Npm(format!("{name}: {e}")))?
                .is_some_and(|v| v.status == VERSION_PUBLISHED);
            if !published {
                return Err(InstallError::NotPublished { name: name.clone() });
            }
            let bytes = self
                .store
                .registry_tarball(name, &resolved.version)
                .await
                .map_err(|e| InstallError::Npm(format!("{name}: {e}")))?
                .ok_or_else(|| InstallError::NotPublished { name: name.clone() })?;
            if bytes.len() as u64 > limit {
                return Err(InstallError::Unsafe(format!(
                    "{name}@{}: the tarball is larger than the {limit} bytes allowed",
                    resolved.version
                )));
            }
            Ok(bytes)
        })
    }
}
