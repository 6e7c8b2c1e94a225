//! The OpenAPI document, generated from the handlers' own annotations and body types, served at
//! `/api/openapi.json`. A test checks that every route the router serves is in it.

use axum::Json;
use utoipa::OpenApi;

/// The one error shape of every route.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable, for scripts: `org_not_found`, `forbidden`, `invalid_body`, …
    code: String,
    /// For people: what went wrong and what to do.
    message: String,
    /// More, where there is more (suggestions, the role that was refused).
    details: Option<serde_json::Value>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "plughub",
        description = "The plugin platform for elizaOS agents"
    ),
    paths(
        crate::handlers::account::me,
        crate::handlers::account::login,
        crate::handlers::account::logout,
        crate::handlers::agents::list,
        crate::handlers::agents::create,
        crate::handlers::agents::activate,
        crate::handlers::agents::deactivate,
        crate::handlers::agents::update,
        crate::handlers::agents::rollback,
        crate::handlers::installed::install,
        crate::handlers::installed::uninstall,
        crate::handlers::installed::configure,
        crate::handlers::installed::permissions,
        crate::handlers::installed::grant,
        crate::handlers::installed::revoke,
        crate::handlers::installed::run,
        crate::handlers::orgs::installed,
        crate::handlers::orgs::events,
        crate::handlers::orgs::executions,
        crate::handlers::orgs::live_executions,
        crate::handlers::plugins::list,
        crate::handlers::plugins::show,
        crate::handlers::plugins::catalog_status,
        crate::handlers::health::healthz,
        crate::handlers::health::metrics,
    ),
    components(schemas(ErrorBody, ErrorDetail))
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
