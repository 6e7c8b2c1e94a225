//! The catalogue's integration tests, in one binary: imports of the real registry snapshot on both store
//! backends, bad input, the starter catalogue, search relevance, several nodes on one store, and a live
//! test against npm.

mod bad_input;
mod import;
mod live_npm;
mod nodes;
mod npm;
mod package;
mod relevance;
mod starter;

use plughub_catalog::SyncOptions;
use plughub_catalog::sync::{self, NoProgress, SyncReport};
use plughub_store::Store;
use std::path::PathBuf;

pub fn snapshot(file: &str) -> String {
    let path: PathBuf = plughub_testkit::registry_snapshot_dir().join(file);
    path.to_string_lossy().into_owned()
}

pub async fn import(store: &Store, files: &[&str]) -> SyncReport {
    let options = SyncOptions::offline(files.iter().map(|f| snapshot(f)).collect());
    sync::sync(store, &options, &NoProgress)
        .await
        .expect("import succeeds")
}
