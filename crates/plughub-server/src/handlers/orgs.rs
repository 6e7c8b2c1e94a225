//! An organisation's own things: its installed plugins and its events, for its members only.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use plughub_domain::ThingKind;
use plughub_domain::access::Action;
use plughub_store::EventFilter;
use serde::Deserialize;
use serde_json::{Value, json};

const MAX_PER_PAGE: usize = 200;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub page: Option<usize>,
    pub per_page: Option<usize>,
}

impl Page {
    fn bounds(&self) -> Result<(usize, usize), ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if page == 0 || per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(ApiError::bad_request(format!(
                "page starts at 1, per_page is 1 to {MAX_PER_PAGE}"
            )));
        }
        Ok((page, per_page))
    }
}

fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

/// `GET /api/orgs/{org}/plugins`: the installed plugins, their versions and states.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/plugins",
    tag = "plugins",
    summary = "The organisation's installed plugins",
    params(("org" = String, Path, description = "The organisation's name")),
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn installed(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<Value>> {
    let group = caller.group_for(&state, &org, Action::ViewGroup).await?;
    let things = state
        .catalog
        .store()
        .things(ThingKind::PluginInstance, Some(&group.id))
        .await?;
    let plugins: Vec<Value> = things
        .iter()
        .map(|t| {
            json!({ "id": t.id, "plugin": t.name, "status": t.status,
                    "version": t.properties["version"], "state": t.properties["state"] })
        })
        .collect();
    Ok(Json(json!({ "org": group.name, "plugins": plugins })))
}

/// `GET /api/orgs/{org}/events?page=&per_page=`: newest first.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/events",
    tag = "activity",
    summary = "The organisation's events, newest first",
    params(("org" = String, Path, description = "The organisation's name"), Page),
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn events(
    state: State<AppState>,
    caller: Caller,
    org: Path<String>,
    params: Result<Query<Page>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    activity(state, caller, org, params, false).await
}

/// `GET /api/orgs/{org}/executions?page=&per_page=`: every run and every failed one, with its log,
/// newest first.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/executions",
    tag = "activity",
    summary = "Every run of the organisation's plugins, with its log, newest first",
    params(("org" = String, Path, description = "The organisation's name"), Page),
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn executions(
    state: State<AppState>,
    caller: Caller,
    org: Path<String>,
    params: Result<Query<Page>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    activity(state, caller, org, params, true).await
}

/// `GET /api/orgs/{org}/executions/live`: server-sent events, one `execution` event for each execution
/// recorded from now on, by any node sharing the store, while the caller may still see them.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/executions/live",
    tag = "activity",
    summary = "The organisation's executions as they are recorded (server-sent events)",
    params(("org" = String, Path, description = "The organisation's name")),
    responses((status = 200, description = "An event stream: `execution` events", content_type = "text/event-stream"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn live_executions(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let group = caller.group_for(&state, &org, Action::ViewActivity).await?;
    let store = state.catalog.store().clone();
    let group_id = group.id.clone();
    let grant = caller.grant(&state, group, Action::ViewActivity);
    Ok(crate::live::executions_of(store, group_id, grant).into_response())
}

/// A page of the group's events (or of its executions only), newest first: counted and read in SQL,
/// whatever the log's length.
async fn activity(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    params: Result<Query<Page>, QueryRejection>,
    executions_only: bool,
) -> ApiResult<Json<Value>> {
    let (page, per_page) = query(params)?.bounds()?;
    let group = caller.group_for(&state, &org, Action::ViewActivity).await?;
    let store = state.catalog.store();
    let filter = EventFilter {
        group_id: Some(group.id.clone()),
        executions_only,
        ..Default::default()
    };
    let total = store.count_events(&filter).await?;
    let items = store
        .events(&EventFilter {
            newest_first: true,
            // A page past any log (however large its number) is an empty page.
            offset: Some(i64::try_from((page - 1).saturating_mul(per_page)).unwrap_or(i64::MAX)),
            limit: Some(per_page as i64),
            ..filter
        })
        .await?;
    Ok(Json(
        json!({ "items": items, "page": page, "per_page": per_page, "total": total }),
    ))
}
