//! Where package documents and tarballs come from. npm (the registry of the npm configuration) is one
//! source; plughub's own registry is another (implemented where the store is, in plughub-lifecycle).
//! Both go through the same resolve, integrity verification and extraction: a source only hands over a
//! document and the bytes of a resolved version.

use crate::InstallError;
use crate::resolve::Resolved;
use plughub_npm::{DocumentOutcome, NpmClient};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

pub type SourceFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, InstallError>> + Send + 'a>>;

/// A place packages are fetched from.
pub trait PackageSource: Send + Sync {
    /// The package document of `name` (npm's shape), or why there is none.
    fn document<'a>(&'a self, name: &'a str) -> SourceFuture<'a, Value>;
    /// The tarball of a version resolved from this source's document, at most `limit` bytes.
    fn tarball<'a>(&'a self, resolved: &'a Resolved, limit: u64) -> SourceFuture<'a, Vec<u8>>;
}

impl PackageSource for NpmClient {
    fn document<'a>(&'a self, name: &'a str) -> SourceFuture<'a, Value> {
        Box::pin(async move {
            match NpmClient::document(self, name).await {
                DocumentOutcome::Found(doc) => Ok(*doc),
                DocumentOutcome::Missing => Err(InstallError::NotOnNpm {
                    name: name.into(),
                    registry: plughub_npm::without_userinfo(self.config().registry_for(name)),
                }),
                DocumentOutcome::Failed { reason, .. } => {
                    Err(InstallError::Npm(format!("{name}: {reason}")))
                }
            }
        })
    }

    fn tarball<'a>(&'a self, resolved: &'a Resolved, limit: u64) -> SourceFuture<'a, Vec<u8>> {
        Box::pin(async move {
            NpmClient::tarball(self, &resolved.tarball, limit)
                .await
                .map_err(|e| InstallError::Npm(e.to_string()))
        })
    }
}
