#![doc = include_str!("../README.md")]

mod error;
mod instance;
mod packages;
mod service;

pub use error::LifecycleError;
pub use instance::InstanceRecord;
pub use packages::PackageStore;
pub use service::{InstallOptions, Installer};
