#![doc = include_str!("../README.md")]

mod keyring;
pub mod passphrase;
mod secret;

pub use keyring::{KEY_ENV, KeyRing, SecretsError};
pub use secret::Secret;
