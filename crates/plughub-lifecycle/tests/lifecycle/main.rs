//! The lifecycle of installed plugins, against a registry the test serves on loopback, with the real
//! pnpm: one test binary, a module per part of the lifecycle.

mod agents;
mod common;
mod dependencies;
mod execution;
mod install;
mod names;
mod registry_source;
mod secrets;
mod versions;
