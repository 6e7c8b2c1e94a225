use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use plughub_engine::Executor;
use std::sync::Arc;

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
    /// Runs plugin components under the execution policy; its counters are served at /metrics.
    pub executor: Arc<Executor>,
    /// Who a request comes from (tokens, sessions), on the same store as the catalogue.
    pub accounts: Accounts,
    /// Installed plugins (install, configure, grant, uninstall); `None` serves the catalogue only.
    pub lifecycle: Option<Lifecycle>,
}

/// What changes and runs installed plugins: the launcher, with its installer and the keys that seal
/// their secrets.
#[derive(Clone)]
pub struct Lifecycle {
    pub launcher: plughub_lifecycle::Launcher,
}
