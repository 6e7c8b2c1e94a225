#![doc = include_str!("../README.md")]

mod client;
pub mod config;
mod http;
pub mod npmrc;

pub use client::{DocumentOutcome, NpmClient, NpmError, TarballStream};
pub use config::{NoNpmRegistry, npm_registry_url, with_trailing_slash, without_userinfo};
pub use http::{describe_reqwest, http_client};
pub use npmrc::{Credential, NpmConfig};

/// Reads the npm configuration (the registry, and the configuration files' scopes and credentials)
/// now, and answers with what it said for the rest of the process. `plughub serve` calls it before it
/// gives up root, after which the operator's own files (`~/.npmrc` under a home closed to others) can
/// no longer be read. The environment is still read when asked.
pub fn pin_configuration() {
    config::pin();
    npmrc::pin();
}
