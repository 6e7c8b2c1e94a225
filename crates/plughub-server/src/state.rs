use plughub_catalog::Catalog;
use std::sync::Arc;

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
}
