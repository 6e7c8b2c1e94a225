//! A plugin's reputation, 0–100, with its breakdown (`plughub_market::reputation`, docs/reputation.md).
//! Open to anyone, as the catalogue is: its figures from executions are aggregates over at least three
//! organisations, or unknown.

use crate::error::{ApiError, ApiResult};
use crate::handlers::analytics::analytics;
use crate::openapi::{NotFound, Public};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use plughub_domain::names::namespace_of;
use plughub_market::publishers::Publishers;
use plughub_market::reputation::{Reputation, ReputationError, Reputations};

impl From<ReputationError> for ApiError {
    fn from(e: ReputationError) -> ApiError {
        match e {
            ReputationError::Catalog(e) => e.into(),
            ReputationError::Analytics(e) => e.into(),
            ReputationError::Store(e) => e.into(),
        }
    }
}

/// `GET /api/reputation/{name}`.
#[utoipa::path(
    get,
    path = "/api/reputation/{name}",
    tag = "catalogue",
    operation_id = "plugin_reputation",
    summary = "A plugin's reputation, 0–100, with its parts and their inputs",
    params(("name" = String, Path, description = "`openai`, `plugin-openai` or `@elizaos/plugin-openai`", example = "@elizaos/plugin-openai")),
    security(()),
    responses(
        (status = 200, description = "Its reputation and how it was reached", body = Reputation),
        (status = 404, response = NotFound),
        Public,
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Reputation>> {
    Ok(Json(reputation_of(&state, &name).await?))
}

/// The reputation of the plugin `name` means, for the API and the plugin's page.
pub async fn reputation_of(state: &AppState, name: &str) -> Result<Reputation, ApiError> {
    let analytics = analytics(state);
    let reputations = Reputations {
        catalog: &state.catalog,
        analytics: &analytics,
    };
    // The catalogue's name first: the publisher is that of its namespace.
    let resolved = state
        .catalog
        .resolve_name(name)
        .unwrap_or_else(|| name.to_string());
    let verified = Publishers::new(state.catalog.store().clone())
        .is_verified(namespace_of(&resolved))
        .await
        .inspect_err(
            |e| tracing::warn!(error = %e, "cannot tell whether the publisher is verified"),
        )
        .ok();
    Ok(reputations.of(&resolved, verified).await?)
}
