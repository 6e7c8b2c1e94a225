#![doc = include_str!("../README.md")]

mod activation;
mod configure;
mod error;
mod execution;
mod install;
mod instance;
mod launch;
mod materialize;
mod models;
mod packages;
mod permissions;
mod plan;
mod progress;
mod recovery;
mod run;
mod runtime;
mod service;
mod slots;
mod uninstall;
mod update;
mod warm;

pub use activation::{ActivateOptions, AgentPlugin, AgentView};
pub use configure::{ConfigView, parse_env_file};
pub use error::LifecycleError;
pub use execution::{ExecutionContext, ManifestComponent};
pub use instance::{InstalledVersion, InstanceRecord, Provides};
pub use launch::{LaunchConfig, Launched, Launcher, NetworkLog};
pub use models::MAX_MODEL_DEPTH;
pub use packages::PackageStore;
pub use permissions::PermissionsView;
pub use progress::{Progress, Silent};
pub use run::{Component, Ran};
pub use runtime::StoreRuntime;
pub use service::{InstallOptions, Installer};
pub use update::UpdateOutcome;
