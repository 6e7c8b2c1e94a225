use crate::error::{ApiError, ApiResult};
use crate::openapi::{Public, Unavailable};
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

/// The server can serve: each check with what it found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// Always `ready` (a server that is not answers 503 `not_ready`, with the checks in `details`).
    #[schema(example = "ready")]
    pub status: &'static str,
    pub checks: Vec<ReadinessCheck>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadinessCheck {
    /// `store`, `migrations`, `sandbox`, `node` or `shutdown`.
    #[schema(example = "store")]
    pub name: &'static str,
    pub ready: bool,
    /// What was found, or why it is not ready and what to do.
    pub detail: String,
}

/// Readiness: the store answers, its migrations are all applied, plugins' sandbox is usable, Node is
/// found, and the server is not shutting down. A load balancer sends traffic only while it is 200.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    operation_id = "readyz",
    summary = "Whether the server is ready: store reachable, migrations applied, sandbox usable, Node found",
    security(()),
    responses(
        (status = 200, description = "Ready; each check with what it found", body = Readiness),
        (status = 503, response = Unavailable),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Readiness>> {
    let store = state.catalog.store();
    let mut checks = Vec::new();
    let check = |name, result: Result<String, String>| match result {
        Ok(detail) => ReadinessCheck {
            name,
            ready: true,
            detail,
        },
        Err(detail) => ReadinessCheck {
            name,
            ready: false,
            detail,
        },
    };
    let reached = store.ping().await;
    checks.push(check(
        "store",
        reached
            .as_ref()
            .map(|()| format!("{} answers", store.describe()))
            .map_err(|e| format!("{} does not answer: {e}", store.describe())),
    ));
    if reached.is_ok() {
        checks.push(check(
            "migrations",
            match store.migrations_missing().await {
                Ok(missing) if missing.is_empty() => Ok("every migration is applied".into()),
                Ok(missing) => Err(format!(
                    "migrations {missing:?} are not applied: restart plughub serve, which applies them"
                )),
                Err(e) => Err(format!("cannot read the applied migrations: {e}")),
            },
        ));
    }
    if let Some(lifecycle) = &state.lifecycle {
        for (name, result) in lifecycle.runner.readiness() {
            checks.push(check(name, result));
        }
    }
    if *state.closing.borrow() {
        checks.push(check(
            "shutdown",
            Err("shutting down: finishing the runs in flight".into()),
        ));
    }
    if checks.iter().all(|c| c.ready) {
        return Ok(Json(Readiness {
            status: "ready",
            checks,
        }));
    }
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.ready)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    let mut error = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        format!("not ready: {}", failed.join("; ")),
    );
    error.details = serde_json::json!({ "checks": checks });
    Err(error)
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
