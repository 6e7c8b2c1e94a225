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
}
