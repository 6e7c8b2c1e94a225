#![doc = include_str!("../README.md")]

pub mod deps;
mod error;
pub mod extract;
mod fetch;
pub mod integrity;
pub mod named;
pub mod pins;
pub mod resolve;
pub mod source;
pub mod spec;

pub use deps::{
    DependencyInstaller, DependencyReport, PACKAGE_MANAGER_FILES, declared_dependencies,
    installed_packages,
};
pub use error::InstallError;
pub use extract::{ExtractLimits, extract_tarball};
pub use fetch::{FetchedPackage, document, fetch_from_npm, fetch_resolved, open_local};
pub use named::{Naming, PluginShape, locate_named};
pub use pins::{Pin, pins};
pub use resolve::{Resolved, resolve};
pub use source::{PackageSource, SourceFuture};
pub use spec::PackageSpec;
