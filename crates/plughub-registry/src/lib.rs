#![doc = include_str!("../README.md")]
mod entry;
mod error;
mod moderation;
pub mod namespace;
pub mod npm_view;
mod publish;
pub mod scan;
mod service;
mod tokens;
mod versions;

pub use error::{RegistryError, Result};
pub use publish::{PublishOutcome, Reason, check_name};
pub use service::{DEFAULT_RISK_THRESHOLD, Limits, Publisher, Registry};
pub use tokens::{NewPublishToken, PUBLISH_TOKEN_PREFIX};
pub use versions::{UNPUBLISH_WINDOW, check_tag};
