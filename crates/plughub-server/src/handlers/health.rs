use crate::error::{ApiError, ApiResult};
use crate::openapi::Public;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use serde::Serialize;
use serde_json::Value;

/// The server is up: its store and what its catalogue serves.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub store: &'static str,
    pub plugins: usize,
    pub catalog: HealthCatalog,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthCatalog {
    /// The starter catalogue the binary carries is served until a live sync succeeds.
    pub starter_only: bool,
    /// The newest sync; `null` before any.
    pub last_sync: Option<LastSync>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LastSync {
    /// `ok`, `partial` or `failed`.
    pub status: String,
    pub finished_at: String,
}

/// Liveness and what the catalogue is serving.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    operation_id = "healthz",
    summary = "Whether the server is up, and its catalogue",
    security(()),
    responses(
        (status = 200, description = "Up", body = Health),
        Public,
    )
)]
pub async fn healthz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    let status = state.catalog.status().await?;
    let last = status.recent_syncs.first();
    Ok(Json(Health {
        status: "ok",
        store: state.catalog.store().backend().as_str(),
        plugins: status.plugins,
        catalog: HealthCatalog {
            starter_only: status.starter_only,
            last_sync: last.map(|r| LastSync {
                status: r.status.clone(),
                finished_at: r.finished_at.clone(),
            }),
        },
    }))
}

/// The server's series in Prometheus text: HTTP requests, executions, workers, egress, installs, the
/// catalogue's syncs, the store's statements.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    operation_id = "metrics",
    summary = "Prometheus metrics: HTTP requests, executions, warm workers, cold starts, slot waits, egress, installs, catalogue syncs, store statements",
    security(()),
    responses(
        (status = 200, description = "The Prometheus text format, version 0.0.4", body = String,
         content_type = "text/plain; version=0.0.4; charset=utf-8"),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    state.metrics.refresh(&state).await;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

pub async fn not_found(uri: Uri) -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        message: format!("no route for {}", uri.path()),
        details: Value::Null,
        retry_after: None,
    }
}
