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
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&Throttled)
)]
pub struct ApiDoc;

/// Every operation that checks a credential (it documents 401) may also answer 429: a client address
/// that failed to sign in too often waits (`Retry-After`). Added here once rather than on each handler.
struct Throttled;

impl utoipa::Modify for Throttled {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            HeaderBuilder, ObjectBuilder, Ref, ResponseBuilder, Type, content::Content,
        };
        let response = ResponseBuilder::new()
            .description("Too many failed sign-ins from this address (or for this account from it): try again after `Retry-After` seconds")
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                    .description(Some("Seconds to wait"))
                    .build(),
            )
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                // A 429 the handler documents itself (a quota, a rate) is kept as it says.
                if responses.contains_key("401") {
                    responses
                        .entry("429".into())
                        .or_insert_with(|| response.clone().into());
                }
            }
        }
    }
}

/// `GET /api/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
