use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use std::sync::Arc;

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
    /// What /metrics serves: the HTTP requests, installs, the catalogue, the store's statements, and
    /// the runner's series.
    pub metrics: Arc<crate::metrics::ServerMetrics>,
    /// Who a request comes from (tokens, sessions), on the same store as the catalogue.
    pub accounts: Accounts,
    /// Installed plugins (install, configure, grant, uninstall); `None` serves the catalogue only.
    pub lifecycle: Option<Lifecycle>,
}

/// What changes and runs installed plugins: the runner, with its installer and the keys that seal
/// their secrets.
#[derive(Clone)]
pub struct Lifecycle {
    pub runner: plughub_runner::Runner,
}

impl AppState {
    /// The state of a server on `catalog` and `accounts`, running plugins with `lifecycle` when given.
    pub fn new(
        catalog: Arc<Catalog>,
        accounts: Accounts,
        lifecycle: Option<Lifecycle>,
    ) -> AppState {
        let metrics = crate::metrics::ServerMetrics::new(
            lifecycle.as_ref().map(|l| l.runner.metrics()),
            catalog.store().metrics(),
        );
        AppState {
            catalog,
            metrics: Arc::new(metrics),
            accounts,
            lifecycle,
        }
    }
}
