//! An organisation's own data, for its owners: all of it in one document, and its deletion with
//! everything of it.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::openapi::{BadRequest, Conflict, InOrg, Unprocessable};
use crate::params::{OrgPath, query};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use plughub_backup::OrgExport;
use plughub_domain::access::Action;
use serde::{Deserialize, Serialize};

/// `GET /api/orgs/{org}/export`: members, installed plugins with their settings (secret values left
/// out), agents, webhooks, the reviews written as its members, and every event.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/export",
    tag = "organisations",
    operation_id = "export_org",
    summary = "All of the organisation's data in one document, secret values left out (owners)",
    params(OrgPath),
    responses(
        (status = 200, description = "The organisation's data", body = OrgExport),
        InOrg,
    )
)]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(OrgPath { org }): Path<OrgPath>,
) -> ApiResult<Json<OrgExport>> {
    let group = caller
        .group_for(&state, &org, Action::ExportOrDelete)
        .await?;
    let export = plughub_backup::export_org(state.catalog.store(), &group, &caller.0.email)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(export))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ConfirmDeletion {
    /// The organisation's name again: a deletion cannot be undone.
    #[param(example = "acme")]
    pub confirm: Option<String>,
}

/// What a deletion removed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrgDeleted {
    pub deleted: String,
    /// Installed plugins, agents and webhooks.
    pub things: u64,
    pub events: u64,
    pub memberships: u64,
    pub memories: u64,
    pub invitations: u64,
    /// Package folders no other organisation used, removed from this server's disk.
    pub packages_removed: Vec<String>,
}

/// `DELETE /api/orgs/{org}?confirm={org}`: the organisation and everything of it, for good; the
/// platform's log keeps a `group_deleted` event.
#[utoipa::path(
    delete,
    path = "/api/orgs/{org}",
    tag = "organisations",
    operation_id = "delete_org",
    summary = "Delete the organisation with everything of it (owners; confirm with its name)",
    params(OrgPath, ConfirmDeletion),
    responses(
        (status = 200, description = "Deleted; what was removed", body = OrgDeleted),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
        InOrg,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(OrgPath { org }): Path<OrgPath>,
    params: Result<Query<ConfirmDeletion>, QueryRejection>,
) -> ApiResult<Json<OrgDeleted>> {
    let params = query(params)?;
    let group = caller
        .group_for(&state, &org, Action::ExportOrDelete)
        .await?;
    if params.confirm.as_deref() != Some(group.name.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "confirmation_needed",
            format!(
                "deleting '{}' cannot be undone: export it first (GET /api/orgs/{}/export), then repeat with ?confirm={}",
                group.name, group.name, group.name
            ),
        ));
    }
    let removed = state
        .catalog
        .store()
        .delete_group(&group.id, &group.name, &caller.0.email)
        .await?;
    let packages_removed = match &state.lifecycle {
        Some(lifecycle) => lifecycle
            .runner
            .installer()
            .collect()
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "packages of the deleted organisation are left for the next collection");
                Vec::new()
            }),
        None => Vec::new(),
    };
    Ok(Json(OrgDeleted {
        deleted: group.name,
        things: removed.things,
        events: removed.events,
        memberships: removed.memberships,
        memories: removed.memories,
        invitations: removed.invitations,
        packages_removed,
    }))
}
