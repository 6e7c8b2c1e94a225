//! Platform owners' deprecations of catalogue plugins (`plughub_market::deprecation`).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::handlers::admin::platform;
use crate::handlers::publishers::not_found_as;
use crate::json::ApiJson;
use crate::openapi::{BadRequest, JsonBody, NotFound, Platform};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use plughub_domain::access::Action;
use plughub_market::deprecation::{Deprecation, Deprecations};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeprecationQuery {
    /// The plugin, by any usual spelling of its name.
    #[param(example = "@elizaos/plugin-twitter")]
    pub plugin: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "reason": "No longer maintained", "replacement": "@elizaos/plugin-openai" }))]
pub struct DeprecationChange {
    /// Why: 1 to 500 characters; its users read it.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// The catalogue plugin to use instead.
    #[serde(default)]
    pub replacement: Option<String>,
}

/// `PUT /api/admin/deprecations`.
#[utoipa::path(
    put,
    path = "/api/admin/deprecations",
    tag = "admin",
    operation_id = "admin_deprecate_plugin",
    summary = "Deprecate a plugin, naming its replacement: it leaves search unless deprecated ones are asked for",
    params(DeprecationQuery),
    request_body = DeprecationChange,
    responses(
        (status = 200, description = "The deprecation", body = Deprecation),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        Platform,
        JsonBody,
    )
)]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<DeprecationQuery>, QueryRejection>,
    ApiJson(body): ApiJson<DeprecationChange>,
) -> ApiResult<Json<Deprecation>> {
    platform(&caller, Action::ModerateCatalogue)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let deprecation = Deprecations::new(&state.catalog)
        .deprecate(
            &query.plugin,
            body.replacement.as_deref(),
            &body.reason,
            &caller.0.person_id,
        )
        .await
        .map_err(|e| not_found_as(e, "plugin_not_found"))?;
    Ok(Json(deprecation))
}

/// `DELETE /api/admin/deprecations`.
#[utoipa::path(
    delete,
    path = "/api/admin/deprecations",
    tag = "admin",
    operation_id = "admin_undeprecate_plugin",
    summary = "Lift a platform owner's deprecation (npm's own stays)",
    params(DeprecationQuery),
    responses(
        (status = 200, description = "Lifted; the deprecation as it was", body = Deprecation),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        Platform,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<DeprecationQuery>, QueryRejection>,
) -> ApiResult<Json<Deprecation>> {
    platform(&caller, Action::ModerateCatalogue)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let lifted = Deprecations::new(&state.catalog)
        .undeprecate(&query.plugin, &caller.0.person_id)
        .await
        .map_err(|e| not_found_as(e, "plugin_not_found"))?;
    Ok(Json(lifted))
}
