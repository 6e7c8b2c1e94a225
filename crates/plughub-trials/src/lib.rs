//! Compatibility runs: each catalogue plugin with an npm package, its newest version per core major,
//! tried under plughub as a new user would (installed in a throwaway organisation, placeholder settings,
//! its grants with no name resolving, inited in the sandbox) and beside it under plain npm and Node; each
//! failure classified by cause ([`classify`]) with whose fault it is; stored as trials of the catalogue
//! (`plughub_store` `put_trial`) and added up in a report ([`report`]). The CLI (`plughub compat`) and
//! the server read this crate, never the reverse.

pub mod baseline;
pub mod classify;
pub mod placeholders;
pub mod report;
pub mod run;
pub mod targets;

pub use run::{RunOptions, RunOutcome, RunProgress, Setup, run};
pub use targets::{Target, targets};

/// The trial rules: this crate's version and a revision bumped by whoever changes how plugins are
/// installed or run (the install layout, the sandbox's limits, the classification). A trial made
/// under other rules is tried again by the next run.
pub const RULES: &str = concat!(env!("CARGO_PKG_VERSION"), "/4");

#[derive(Debug, thiserror::Error)]
pub enum TrialError {
    #[error(transparent)]
    Store(#[from] plughub_store::StoreError),
    #[error(transparent)]
    Lifecycle(#[from] plughub_lifecycle::LifecycleError),
}
