//! What a marketplace request may fail with, in words that say what to do; the server maps each kind to
//! its HTTP status.

use plughub_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    /// What was named does not exist (or is not visible to whoever asks).
    #[error("{0}")]
    NotFound(String),
    /// The request is well formed but the state forbids it (a claim decided already, …).
    #[error("{0}")]
    Conflict(String),
    /// The request itself is wrong (a malformed namespace, an empty evidence, …).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(StoreError),
    /// The catalogue failed (its index could not be rebuilt, …).
    #[error("the catalogue failed: {0}")]
    Catalog(String),
}

impl From<StoreError> for MarketError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(message) => MarketError::Conflict(message),
            StoreError::Invalid(message) => MarketError::Invalid(message),
            other => MarketError::Store(other),
        }
    }
}

pub type Result<T, E = MarketError> = std::result::Result<T, E>;
