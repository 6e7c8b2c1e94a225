#![doc = include_str!("../README.md")]

pub mod collections;
pub mod comparison;
pub mod deprecation;
mod error;
pub mod publishers;
pub mod reputation;
mod seed;

pub use error::{MarketError, Result};
