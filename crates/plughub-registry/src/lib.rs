#![doc = include_str!("../README.md")]
mod error;
pub mod namespace;
pub mod npm_view;
pub mod publish;
pub mod scan;

pub use error::{RegistryError, Result};
pub use publish::{
    DEFAULT_RISK_THRESHOLD, Limits, NewPublishToken, PUBLISH_TOKEN_PREFIX, PublishOutcome,
    Publisher, Reason, Registry, UNPUBLISH_WINDOW,
};
