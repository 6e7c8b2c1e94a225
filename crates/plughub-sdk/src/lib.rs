#![doc = include_str!("../README.md")]

pub mod pack;
pub mod publish;
pub mod templates;
pub mod test;
pub mod validate;

use std::path::PathBuf;

/// The development store `plughub dev` (watch), `dev logs` and `dev test` share:
/// `$XDG_CACHE_HOME/plughub/dev`, else `~/.cache/plughub/dev`.
pub fn dev_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("plughub/dev");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache/plughub/dev"),
        None => PathBuf::from("plughub-dev"),
    }
}
