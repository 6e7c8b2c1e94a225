#![doc = include_str!("../README.md")]

pub mod changelog;
pub mod kinds;
pub mod notifier;
pub mod signature;
pub mod target;
pub mod updates;
pub mod webhooks;

pub use kinds::NotifyKind;
pub use notifier::{Notifier, RetryPolicy};
pub use target::WebhookPolicy;

/// What went wrong, in words that say what to do.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] plughub_store::StoreError),
    /// The request is wrong: what to change is in the message.
    #[error("{0}")]
    Invalid(String),
    /// The webhook's target is refused by the address policy.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The package or version could not be had from the registry.
    #[error(transparent)]
    Install(#[from] plughub_install::InstallError),
    #[error(transparent)]
    Lifecycle(#[from] plughub_lifecycle::LifecycleError),
    /// This server has no key ring to seal or open webhook secrets with: it serves the catalogue only.
    #[error(
        "this server serves the catalogue only: webhooks are made and sent by a server that runs plugins (it holds the key ring their secrets are sealed with)"
    )]
    NoKeyRing,
    /// A webhook's sealed secret did not open (or a rotation could not reseal it).
    #[error("webhook secret: {0}")]
    Secrets(#[from] plughub_secrets::SecretsError),
    /// Something needed on this machine failed (a temporary folder).
    #[error("{0}")]
    Local(String),
}
