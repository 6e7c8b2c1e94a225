#![doc = include_str!("../README.md")]

pub mod compat;
mod error;
pub mod package;
mod refresh;
pub mod search;
mod service;
pub mod sources;
pub mod starter;
pub mod sync;
pub mod trials;
pub mod view;

pub use error::CatalogError;
pub use package::{AnalyzeOptions, AnalyzeProgress, AnalyzeReport, package_facts_by_name};
pub use search::{SearchHit, SearchRequest, SearchResults, SortOrder};
pub use service::{Catalog, CatalogStatus, PluginDetail, Release};
pub use sync::{SyncOptions, SyncProgress, SyncReport};
pub use trials::{CompatibilityReport, Runs, TrialMark, TrialView};
pub use view::PluginView;

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;
