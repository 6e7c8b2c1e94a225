#![doc = include_str!("../README.md")]

mod codec;
mod manifest;
mod messages;

pub use codec::{CodecError, MAX_MESSAGE_BYTES, decode_worker, encode};
pub use manifest::{Component, Manifest, ServiceInfo};
pub use messages::{HostMessage, RequestId, WorkerMessage};
