//! Each installed package's execution hints (`"plughub": {"cacheable", "idempotent"}` in its
//! package.json), read once per package folder: a folder of the package store never changes once made
//! (each plugin@version has its own), so what was read stays true.

use plughub_domain::execution_policy::ExecutionHints;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub(crate) struct HintsCache {
    read: Mutex<HashMap<PathBuf, Arc<ExecutionHints>>>,
}

impl HintsCache {
    /// The hints of the package in `package_dir`; a package.json that cannot be read declares nothing
    /// (its worker would not start either, and says why).
    pub(crate) fn of(&self, package_dir: &Path) -> Arc<ExecutionHints> {
        if let Some(hints) = self.read.lock().expect("not poisoned").get(package_dir) {
            return hints.clone();
        }
        let hints = Arc::new(
            std::fs::read(package_dir.join("package.json"))
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .map(|package| ExecutionHints::from_package_json(&package))
                .unwrap_or_default(),
        );
        self.read
            .lock()
            .expect("not poisoned")
            .insert(package_dir.to_path_buf(), hints.clone());
        hints
    }
}
