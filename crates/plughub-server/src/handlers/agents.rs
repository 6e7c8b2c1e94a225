//! An organisation's agents, which plugins serve them, and moving a plugin between versions.

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::handlers::installed::{InstanceSummary, lifecycle};
use crate::json::ApiJson;
use crate::openapi::{Conflict, InOrg, JsonBody, Plugins};
use crate::params::{OrgPath, PluginPath};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plughub_domain::access::Action;
use plughub_lifecycle::{ActivateOptions, AgentView, InstallOptions, UpdateOutcome};
use serde::Deserialize;

/// `GET /api/orgs/{org}/agents`.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/agents",
    operation_id = "list_agents",
    tag = "agents",
    summary = "The organisation's agents and the plugins they use",
    params(OrgPath),
    responses(
        (status = 200, description = "Its agents", body = Vec<AgentView>),
        InOrg,
        Plugins,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(OrgPath { org }): Path<OrgPath>,
) -> ApiResult<Json<Vec<AgentView>>> {
    let group = caller.group_for(&state, &org, Action::ViewGroup).await?;
    let installer = lifecycle(&state)?.runner.installer();
    Ok(Json(installer.agents(&group.name).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "eliza" }))]
pub struct NewAgent {
    /// 1 to 64 letters, digits, `-`, `_` or `.`.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub name: String,
}

/// `POST /api/orgs/{org}/agents`.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/agents",
    tag = "agents",
    operation_id = "create_agent",
    summary = "Create an agent",
    params(OrgPath),
    request_body = NewAgent,
    responses(
        (status = 201, description = "Created", body = AgentView),
        (status = 409, response = Conflict),
        InOrg,
        JsonBody,
        Plugins,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(OrgPath { org }): Path<OrgPath>,
    ApiJson(body): ApiJson<NewAgent>,
) -> ApiResult<(StatusCode, Json<AgentView>)> {
    let group = caller.group_for(&state, &org, Action::ManageAgents).await?;
    let installer = lifecycle(&state)?.runner.installer();
    let agent = installer
        .create_agent(&group.name, &body.name, &caller.0.email)
        .await?;
    Ok((StatusCode::CREATED, Json(agent)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "agent": "eliza", "priority": 5 }))]
pub struct Activate {
    pub agent: String,
    /// The actions the agent may use; all when left out.
    pub actions: Option<Vec<String>>,
    /// Higher first, when several plugins offer the same thing.
    #[serde(default, deserialize_with = "crate::integers::required")]
    #[schema(format = Int64, minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64)]
    pub priority: i64,
}

/// `POST /api/orgs/{org}/plugins/{plugin}/activate`: for an agent (the plugins it needs first).
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/plugins/{plugin}/activate",
    tag = "agents",
    operation_id = "activate_plugin",
    summary = "Activate a plugin for an agent (the plugins it needs first)",
    params(PluginPath),
    request_body = Activate,
    responses(
        (status = 200, description = "Active", body = InstanceSummary),
        (status = 409, response = Conflict),
        InOrg,
        JsonBody,
        Plugins,
    )
)]
pub async fn activate(
    State(state): State<AppState>,
    caller: Caller,
    Path(PluginPath { org, plugin }): Path<PluginPath>,
    ApiJson(body): ApiJson<Activate>,
) -> ApiResult<Json<InstanceSummary>> {
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
    Ok(Json(InstanceSummary::of(&record)))
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
    operation_id = "deactivate_plugin",
    summary = "Deactivate a plugin for an agent, or for all",
    params(PluginPath),
    request_body = Deactivate,
    responses(
        (status = 200, description = "Deactivated", body = InstanceSummary),
        (status = 409, response = Conflict),
        InOrg,
        JsonBody,
        Plugins,
    )
)]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(PluginPath { org, plugin }): Path<PluginPath>,
    ApiJson(body): ApiJson<Deactivate>,
) -> ApiResult<Json<InstanceSummary>> {
    let group = caller.group_for(&state, &org, Action::ManageAgents).await?;
    let runner = &lifecycle(&state)?.runner;
    let record = runner
        .installer()
        .deactivate(&group.name, &plugin, body.agent.as_deref(), &caller.0.email)
        .await?;
    runner.forget(&group.name, &plugin).await;
    Ok(Json(InstanceSummary::of(&record)))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Update {
    /// A version, range or tag from the registry; the newest for its core major when left out.
    #[schema(min_length = 1)]
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
    operation_id = "update_plugin",
    summary = "Update to a newer version, configuration kept",
    params(PluginPath),
    request_body = Update,
    responses(
        (status = 200, description = "Updated, or at that version already", body = UpdateOutcome),
        (status = 409, response = Conflict),
        InOrg,
        JsonBody,
        Plugins,
    )
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(PluginPath { org, plugin }): Path<PluginPath>,
    ApiJson(body): ApiJson<Update>,
) -> ApiResult<Json<UpdateOutcome>> {
    let group = caller
        .group_for(&state, &org, Action::ManagePlugins)
        .await?;
    if body.grant {
        caller.authorize(&group, Action::Grant)?;
    }
    let options = InstallOptions {
        actor: caller.0.email.clone(),
        grant: body.grant,
        ..Default::default()
    };
    let runner = &lifecycle(&state)?.runner;
    // From the registry only: the version is never read as a folder or tarball on the server's disk.
    let updated = runner
        .installer()
        .update_to(&group.name, &plugin, body.version.as_deref(), &options)
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
    operation_id = "rollback_plugin",
    summary = "Go back to the version before the last update",
    params(PluginPath),
    responses(
        (status = 200, description = "Rolled back", body = UpdateOutcome),
        (status = 409, response = Conflict),
        InOrg,
        Plugins,
    )
)]
pub async fn rollback(
    State(state): State<AppState>,
    caller: Caller,
    Path(PluginPath { org, plugin }): Path<PluginPath>,
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

/// `POST /api/orgs/{org}/plugins/{plugin}/resume`: a suspended plugin runs again.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/plugins/{plugin}/resume",
    tag = "plugins",
    operation_id = "resume_plugin",
    summary = "Let a suspended plugin run again, its error streak cleared",
    params(PluginPath),
    responses(
        (status = 200, description = "Resumed: active again where it serves agents, else installed", body = InstanceSummary),
        (status = 409, response = Conflict),
        InOrg,
        Plugins,
    )
)]
pub async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    Path(PluginPath { org, plugin }): Path<PluginPath>,
) -> ApiResult<Json<InstanceSummary>> {
    let group = caller
        .group_for(&state, &org, Action::ManagePlugins)
        .await?;
    let runner = &lifecycle(&state)?.runner;
    let record = runner
        .installer()
        .resume(&group.name, &plugin, &caller.0.email)
        .await?;
    runner.forget(&group.name, &plugin).await;
    Ok(Json(InstanceSummary::of(&record)))
}
