//! Nodes that share one store keep packages on their own disks. A version installed on another node is
//! fetched here from the registry the first time it runs on this one, verified against the integrity
//! recorded at its install (so the registry cannot hand this node other bytes), given its dependencies
//! without install scripts, and put in the package store like any other.

use crate::LifecycleError;
use crate::instance::InstalledVersion;
use crate::packages::remove;
use crate::service::Installer;
use plughub_install::integrity::Expected;
use plughub_install::{document, fetch_resolved, resolve};
use std::path::PathBuf;

/// The marker in the folder name of a package installed from a local folder or tarball.
pub const LOCAL_MARKER: &str = "+local-";

impl Installer {
    /// The folder of an installed version on this node, fetched first when this node does not hold it.
    pub(crate) async fn ensure_package(
        &self,
        plugin: &str,
        installed: &InstalledVersion,
        folder: &str,
    ) -> Result<PathBuf, LifecycleError> {
        if self.packages.contains(folder) {
            return Ok(self.packages.path(folder));
        }
        if folder.contains(LOCAL_MARKER) {
            // An author's folder exists only where it was installed from.
            return Err(LifecycleError::PackageElsewhere {
                plugin: plugin.into(),
                version: installed.version.clone(),
            });
        }
        let _working = self.packages.lock_shared()?;
        self.progress.step(
            plugin,
            &format!(
                "{} was installed on another node: fetching it",
                installed.version
            ),
        );
        // Only the bytes analysed and recorded at install may run: without a recorded integrity the
        // registry's word would be all there is.
        let Some(sri) = &installed.integrity else {
            return Err(LifecycleError::PackageElsewhere {
                plugin: plugin.into(),
                version: installed.version.clone(),
            });
        };
        let doc = document(&self.sources, plugin).await?;
        let mut resolved = resolve(&doc, plugin, Some(&installed.version), None)?;
        resolved.expected = Expected::Sri(sri.clone());
        let staging = self.packages.staging()?;
        let result = async {
            let published = resolved.published.clone();
            fetch_resolved(&self.sources, resolved, &staging, &self.limits).await?;
            // The same tree as on the node that installed it: the same ranges replaced.
            let pins = self.pins(plugin, published.as_deref(), &staging).await?;
            self.deps()
                .await?
                .install_without(&staging, &[], &pins)
                .await?;
            self.packages.commit(&staging, folder)
        }
        .await;
        remove(&staging)?;
        result
    }
}
