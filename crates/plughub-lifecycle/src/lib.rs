#![doc = include_str!("../README.md")]

mod configure;
mod error;
mod instance;
mod packages;
mod recovery;
mod service;

pub use configure::{ConfigView, parse_env_file};
pub use error::LifecycleError;
pub use instance::InstanceRecord;
pub use packages::PackageStore;
pub use service::{InstallOptions, Installer};
