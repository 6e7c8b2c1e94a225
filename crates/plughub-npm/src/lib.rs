#![doc = include_str!("../README.md")]

mod client;
pub mod config;
mod http;

pub use client::{DocumentOutcome, NpmClient, NpmError};
pub use config::{NoNpmRegistry, npm_registry_url, with_trailing_slash};
pub use http::{describe_reqwest, http_client};
