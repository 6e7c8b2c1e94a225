//! An organisation's agents, which plugins serve them, and moving a plugin between versions.

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::handlers::installed::{from_registry, lifecycle, summary};
use crate::json::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plughub_domain::access::Action;
use plughub_lifecycle::{ActivateOptions, AgentView, InstallOptions, UpdateOutcome};
use serde::Deserialize;
use serde_json::Value;

/// `GET /api/orgs/{org}/agents`.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/agents",
    operation_id = "list_agents",
    tag = "agents",
    summary = "The organisation's agents and the plugins they use",
    params(("org" = String, Path, description = "The organisation's name")),
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<Vec<AgentView>>> {
    let group = caller.group_for(&state, &org, Action::ViewGroup).await?;
    let installer = lifecycle(&state)?.runner.installer();
    Ok(Json(installer.agents(&group.name).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    pub name: String,
}

/// `POST /api/orgs/{org}/agents`.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/agents",
    tag = "agents",
    operation_id = "create_agent",
    summary = "Create an agent",
    params(("org" = String, Path, description = "The organisation's name")),
    request_body = NewAgent,
    responses((status = 201, description = "Created"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<NewAgent>,
) -> ApiResult<(StatusCode, Json<AgentView>)> {
    let group = caller.group_for(&state, &org, Action::ManageAgents).await?;
    let installer = lifecycle(&state)?.runner.installer();
    let agent = installer
        .create_agent(&group.name, body.name.trim(), &caller.0.email)
        .await?;
    Ok((StatusCode::CREATED, Json(agent)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Activate {
    pub agent: String,
    /// The actions the agent may use; all when left out.
    pub actions: Option<Vec<String>>,
    #[serde(default)]
    pub priority: i64,
}

/// `POST /api/orgs/{org}/plugins/{plugin}/activate`: for an agent (the plugins it needs first).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/plugins/{plugin}/activate",
    tag = "agents",
    summary = "Activate a plugin for an agent (the plugins it needs first)",
    params(("org" = String, Path, description = "The organisation's name"), ("plugin" = String, Path, description = "The plugin's package name, percent-encoded (@acme%2Fplugin-x)")),
    request_body = Activate,
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn activate(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, plugin)): Path<(String, String)>,
    ApiJson(body): ApiJson<Activate>,
) -> ApiResult<Json<Value>> {
    let group = caller.group_for(&state, &org, Action::ManageAgents).await?;
    let options = ActivateOptions {
        enabled_actions: body.actions,
        priority: body.priority,
        actor: caller.0.email.clone(),
    };
    let record = lifecycle(&state)?
        .runner
        .installer()
        .activate(&group.name, &plugin, &body.agent, &options)
        .await?;
    Ok(Json(summary(&record)))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deactivate {
    /// One agent; every agent it serves when left out.
    pub agent: Option<String>,
}

/// `POST /api/orgs/{org}/plugins/{plugin}/deactivate`.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/plugins/{plugin}/deactivate",
    tag = "agents",
    summary = "Deactivate a plugin for an agent, or for all",
    params(("org" = String, Path, description = "The organisation's name"), ("plugin" = String, Path, description = "The plugin's package name, percent-encoded (@acme%2Fplugin-x)")),
    request_body = Deactivate,
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, plugin)): Path<(String, String)>,
    ApiJson(body): ApiJson<Deactivate>,
) -> ApiResult<Json<Value>> {
    let group = caller.group_for(&state, &org, Action::ManageAgents).await?;
    let runner = &lifecycle(&state)?.runner;
    let record = runner
        .installer()
        .deactivate(&group.name, &plugin, body.agent.as_deref(), &caller.0.email)
        .await?;
    runner.forget(&group.name, &plugin).await;
    Ok(Json(summary(&record)))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Update {
    /// A version or range from the registry; the newest for its core major when left out.
    pub version: Option<String>,
    /// Grant what the new version asks for (needs the right to grant).
    #[serde(default)]
    pub grant: bool,
}

/// `POST /api/orgs/{org}/plugins/{plugin}/update`: configuration kept.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/plugins/{plugin}/update",
    tag = "plugins",
    summary = "Update to a newer version, configuration kept",
    params(("org" = String, Path, description = "The organisation's name"), ("plugin" = String, Path, description = "The plugin's package name, percent-encoded (@acme%2Fplugin-x), or a name the catalogue resolves to it (solana)")),
    request_body = Update,
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, plugin)): Path<(String, String)>,
    ApiJson(body): ApiJson<Update>,
) -> ApiResult<Json<UpdateOutcome>> {
    let group = caller
        .group_for(&state, &org, Action::ManagePlugins)
        .await?;
    if body.grant {
        caller.authorize(&group, Action::Grant)?;
    }
    if let Some(version) = &body.version {
        from_registry(&format!("{plugin}@{version}"))?;
    }
    let options = InstallOptions {
        actor: caller.0.email.clone(),
        grant: body.grant,
        ..Default::default()
    };
    let runner = &lifecycle(&state)?.runner;
    let updated = runner
        .installer()
        .update(&group.name, &plugin, body.version.as_deref(), &options)
        .await;
    state.metrics.install("update", &updated, |u| {
        if u.changed { "ok" } else { "unchanged" }
    });
    let outcome = updated?;
    // The name in the path may be one the catalogue resolved (`openai`): the instance is the outcome's.
    runner.forget(&group.name, &outcome.plugin).await;
    Ok(Json(outcome))
}

/// `POST /api/orgs/{org}/plugins/{plugin}/rollback`: back to the version before the last update.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/plugins/{plugin}/rollback",
    tag = "plugins",
    summary = "Go back to the version before the last update",
    params(("org" = String, Path, description = "The organisation's name"), ("plugin" = String, Path, description = "The plugin's package name, percent-encoded (@acme%2Fplugin-x)")),
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn rollback(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, plugin)): Path<(String, String)>,
) -> ApiResult<Json<UpdateOutcome>> {
    let group = caller
        .group_for(&state, &org, Action::ManagePlugins)
        .await?;
    let runner = &lifecycle(&state)?.runner;
    let rolled_back = runner
        .installer()
        .rollback(&group.name, &plugin, &caller.0.email)
        .await;
    state.metrics.install("rollback", &rolled_back, |_| "ok");
    let outcome = rolled_back?;
    runner.forget(&group.name, &plugin).await;
    Ok(Json(outcome))
}
