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
    /// The registry could not be asked, or did not answer what was needed.
    #[error("{0}")]
    Registry(String),
}
