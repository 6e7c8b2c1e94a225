use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use serde_json::{Value, json};

/// Liveness and what the catalogue is serving.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    summary = "Whether the server is up, and its catalogue",
    responses((status = 200, description = "Done"))
)]
pub async fn healthz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let status = state.catalog.status().await?;
    let last = status.recent_syncs.first();
    Ok(Json(json!({
        "status": "ok",
        "store": state.catalog.store().backend().as_str(),
        "plugins": status.plugins,
        "catalog": {
            "starter_only": status.starter_only,
            "last_sync": last.map(|r| json!({ "status": r.status, "finished_at": r.finished_at })),
        },
    })))
}

/// The server's series in Prometheus text: HTTP requests, executions, workers, egress, installs, the
/// catalogue's syncs, the store's statements.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    summary = "Prometheus metrics: HTTP requests, executions, warm workers, cold starts, slot waits, egress, installs, catalogue syncs, store statements",
    responses((status = 200, description = "Done"))
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
