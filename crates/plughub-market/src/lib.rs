#![doc = include_str!("../README.md")]

pub mod reputation;
pub mod collections;
pub mod comparison;
pub mod deprecation;
mod error;
pub mod publishers;
mod seed;

pub use error::{MarketError, Result};
