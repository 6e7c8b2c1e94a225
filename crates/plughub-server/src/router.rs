//! Every route of the server, in one place.

use crate::handlers::{health, pages, plugins};
use crate::state::AppState;
use axum::Router;
use axum::routing::get;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/api/plugins", get(plugins::list))
        .route("/api/plugins/{*name}", get(plugins::show))
        .route("/api/catalog/status", get(plugins::catalog_status))
        .route("/", get(pages::home))
        .route("/plugins", get(pages::plugins))
        .fallback(health::not_found)
        .with_state(state)
}
