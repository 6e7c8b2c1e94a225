//! An organisation's own things: its installed plugins and its events, for its members only.

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::openapi::{BadRequest, InOrg};
use crate::params::{OrgPath, Page, query};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use plughub_domain::access::Action;
use plughub_domain::lifecycle::State as InstanceState;
use plughub_domain::{StoredEvent, ThingKind};
use plughub_store::EventFilter;
use serde::Serialize;

/// An organisation's installed plugins.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstalledList {
    pub org: String,
    pub plugins: Vec<InstalledPlugin>,
}

/// One installed plugin, in brief.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstalledPlugin {
    pub id: String,
    pub plugin: String,
    /// The store's status of the instance (`active`, `installed`, …).
    pub status: String,
    pub version: Option<String>,
    pub state: Option<InstanceState>,
}

/// A page of an organisation's events, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub items: Vec<StoredEvent>,
    pub page: u64,
    pub per_page: u32,
    /// All the events there are (of executions only, for the executions).
    pub total: i64,
}

/// `GET /api/orgs/{org}/plugins`: the installed plugins, their versions and states.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/plugins",
    tag = "plugins",
    operation_id = "list_installed",
    summary = "The organisation's installed plugins",
    params(OrgPath),
    responses(
        (status = 200, description = "Its installed plugins", body = InstalledList),
        InOrg,
    )
)]
pub async fn installed(
    State(state): State<AppState>,
    caller: Caller,
    Path(OrgPath { org }): Path<OrgPath>,
) -> ApiResult<Json<InstalledList>> {
    let group = caller.group_for(&state, &org, Action::ViewGroup).await?;
    let things = state
        .catalog
        .store()
        .things(ThingKind::PluginInstance, Some(&group.id))
        .await?;
    let plugins = things
        .into_iter()
        .map(|t| InstalledPlugin {
            version: t.properties["version"].as_str().map(str::to_string),
            state: serde_json::from_value(t.properties["state"].clone()).ok(),
            id: t.id,
            plugin: t.name,
            status: t.status,
        })
        .collect();
    Ok(Json(InstalledList {
        org: group.name,
        plugins,
    }))
}

/// `GET /api/orgs/{org}/events?page=&per_page=`: newest first.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/events",
    tag = "activity",
    operation_id = "list_events",
    summary = "The organisation's events, newest first",
    params(OrgPath, Page),
    responses(
        (status = 200, description = "A page of its events", body = EventPage),
        (status = 400, response = BadRequest),
        InOrg,
    )
)]
pub async fn events(
    state: State<AppState>,
    caller: Caller,
    org: Path<OrgPath>,
    params: Result<Query<Page>, QueryRejection>,
) -> ApiResult<Json<EventPage>> {
    activity(state, caller, org, params, false).await
}

/// `GET /api/orgs/{org}/executions?page=&per_page=`: every run and every failed one, with its log,
/// newest first.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/executions",
    tag = "activity",
    operation_id = "list_executions",
    summary = "Every run of the organisation's plugins, with its log, newest first",
    params(OrgPath, Page),
    responses(
        (status = 200, description = "A page of its executions", body = EventPage),
        (status = 400, response = BadRequest),
        InOrg,
    )
)]
pub async fn executions(
    state: State<AppState>,
    caller: Caller,
    org: Path<OrgPath>,
    params: Result<Query<Page>, QueryRejection>,
) -> ApiResult<Json<EventPage>> {
    activity(state, caller, org, params, true).await
}

/// `GET /api/orgs/{org}/executions/live`: server-sent events, one `execution` event for each execution
/// recorded from now on, by any node sharing the store, while the caller may still see them.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/executions/live",
    tag = "activity",
    operation_id = "live_executions",
    summary = "The organisation's executions as they are recorded (server-sent events)",
    params(OrgPath),
    responses(
        (status = 200, description = "An event stream that stays open: an `execution` event (its data a `StoredEvent`) for each execution recorded from now on, and keep-alive comments",
         content_type = "text/event-stream", body = String),
        InOrg,
    )
)]
pub async fn live_executions(
    State(state): State<AppState>,
    caller: Caller,
    Path(OrgPath { org }): Path<OrgPath>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let group = caller.group_for(&state, &org, Action::ViewActivity).await?;
    let store = state.catalog.store().clone();
    let group_id = group.id.clone();
    let grant = caller.grant(&state, group, Action::ViewActivity);
    Ok(crate::live::executions_of(store, group_id, grant, state.closing.clone()).into_response())
}

/// A page of the group's events (or of its executions only), newest first: counted and read in SQL,
/// whatever the log's length.
async fn activity(
    State(state): State<AppState>,
    caller: Caller,
    Path(OrgPath { org }): Path<OrgPath>,
    params: Result<Query<Page>, QueryRejection>,
    executions_only: bool,
) -> ApiResult<Json<EventPage>> {
    let params = query(params)?;
    let (page, per_page) = params.bounds()?;
    let group = caller.group_for(&state, &org, Action::ViewActivity).await?;
    let store = state.catalog.store();
    let filter = EventFilter {
        group_id: Some(group.id.clone()),
        event_type: params.event_type,
        executions_only,
        ..Default::default()
    };
    let total = store.count_events(&filter).await?;
    let items = store
        .events(&EventFilter {
            newest_first: true,
            // A page past any log (however large its number) is an empty page.
            offset: Some(
                i64::try_from((page - 1).saturating_mul(per_page.into())).unwrap_or(i64::MAX),
            ),
            limit: Some(i64::from(per_page)),
            ..filter
        })
        .await?;
    Ok(Json(EventPage {
        items,
        page,
        per_page,
        total,
    }))
}
