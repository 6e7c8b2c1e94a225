//! Where catalogue data comes from: the official registry (a file or URL), and npm package documents from
//! the registry of the user's npm configuration.

pub mod fetch;
pub mod npm;
pub use plughub_npm::config as npm_config;
pub mod packument;
pub mod registry;

/// The official registry's published files on GitHub (branch `main`); `index.json` sits beside it.
pub const DEFAULT_REGISTRY_URL: &str =
    "https://raw.githubusercontent.com/elizaos-plugins/registry/main/generated-registry.json";
