#![doc = include_str!("../README.md")]
pub mod npm_view;
