#![doc = include_str!("../README.md")]

mod activation;
mod configure;
mod error;
mod execution;
mod install;
mod instance;
mod materialize;
mod packages;
mod permissions;
mod plan;
mod progress;
mod recovery;
mod service;
pub mod sources;
mod uninstall;
mod update;

pub use activation::{ActivateOptions, AgentPlugin, AgentView, ModelSource};
pub use configure::{ConfigView, parse_env_file};
pub use error::LifecycleError;
pub use execution::{Attempt, ExecutionContext, ManifestComponent, unix_ms};
pub use instance::{InstalledVersion, InstanceRecord, Provides};
pub use materialize::LOCAL_MARKER;
pub use packages::PackageStore;
pub use permissions::PermissionsView;
pub use progress::{Progress, Silent};
pub use service::{InstallOptions, Installer, record_of};
pub use update::UpdateOutcome;
