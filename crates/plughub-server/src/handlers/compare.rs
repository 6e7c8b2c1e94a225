//! Plugins side by side (`plughub_market::comparison`): catalogue-wide data only, so it is open to
//! everyone and shows nothing of any organisation.

use crate::error::{ApiError, ApiResult};
use crate::handlers::publishers::not_found_as;
use crate::openapi::{BadRequest, NotFound, Public};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use plughub_market::comparison::{self, Comparison, MAX_COMPARED};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CompareQuery {
    /// 1 to 3 plugins, comma-separated, by any usual spelling of their names.
    #[param(
        example = "@elizaos/plugin-openai,@elizaos/plugin-anthropic",
        pattern = r"^\s*[^,\s][^,]*(,\s*[^,\s][^,]*){0,2}$"
    )]
    pub plugins: String,
}

/// `GET /api/compare`.
#[utoipa::path(
    get,
    path = "/api/compare",
    tag = "catalogue",
    operation_id = "compare_plugins",
    summary = "Compare up to 3 plugins side by side",
    params(CompareQuery),
    security(()),
    responses(
        (status = 200, description = "One column per plugin, in the order asked", body = Comparison),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        Public,
    )
)]
pub async fn compare(
    State(state): State<AppState>,
    query: Result<Query<CompareQuery>, QueryRejection>,
) -> ApiResult<Json<Comparison>> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let names = comparison::plugin_list(&query.plugins).ok_or_else(|| {
        ApiError::bad_request(format!(
            "compare 1 to {MAX_COMPARED} plugins, comma-separated, none blank: e.g. plugins=openai,anthropic,groq"
        ))
    })?;
    let comparison = comparison::compare(&state.catalog, &names)
        .await
        .map_err(|e| match e {
            plughub_market::MarketError::Invalid(message) => ApiError::bad_request(message),
            other => not_found_as(other, "plugin_not_found"),
        })?;
    Ok(Json(comparison))
}
