#![doc = include_str!("../README.md")]

mod keyring;
mod secret;

pub use keyring::{KEY_ENV, KeyRing, SecretsError};
pub use secret::Secret;
