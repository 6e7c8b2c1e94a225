#![doc = include_str!("../README.md")]

mod client;
pub mod config;
mod http;
pub mod npmrc;

pub use client::{DocumentOutcome, NpmClient, NpmError, TarballStream};
pub use config::{NoNpmRegistry, npm_registry_url, with_trailing_slash, without_userinfo};
pub use http::{describe_reqwest, http_client};
pub use npmrc::{Credential, NpmConfig};
