//! A signed-in person's notifications: what happened in their organisations that they are told of
//! (updates available, suspended plugins, failed installs, answered reviews), and marking them read.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::openapi::{JsonBody, SignedIn};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use plughub_store::NotificationRecord;
use serde::{Deserialize, Serialize};

/// One notification.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: String,
    /// `update_available`, `plugin_suspended`, `install_failed` or `review_answered`.
    pub kind: String,
    /// The organisation it concerns.
    pub org: String,
    pub summary: String,
    /// Where in the web UI it leads.
    pub link: Option<String>,
    /// When it happened (RFC 3339).
    pub created_at: String,
    /// When it was marked read; `null` while unread.
    pub read_at: Option<String>,
}

/// A person's notifications, newest first, and how many are unread.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationList {
    pub unread: i64,
    pub notifications: Vec<Notification>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NotificationQuery {
    /// Only the unread ones.
    #[serde(default)]
    pub unread: Option<bool>,
    #[param(format = Int64, minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::integers::optional_in_query")]
    pub limit: Option<u32>,
}

/// Which notifications to mark read.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "ids": [] }))]
pub struct MarkRead {
    /// The notifications to mark read; left out, all of them.
    #[schema(max_items = 200)]
    pub ids: Option<Vec<String>>,
}

/// What marking read changed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MarkedRead {
    /// How many were unread and are read now.
    pub marked: u64,
    pub unread: i64,
}

/// The notifications as the person's list shows them, with their organisations' names.
pub(crate) async fn view(
    state: &AppState,
    caller: &plughub_domain::access::Principal,
    unread_only: bool,
    limit: i64,
) -> Result<NotificationList, ApiError> {
    let store = state.catalog.store();
    let records = store
        .notifications(&caller.person_id, unread_only, limit, 0)
        .await?;
    let org_of = |r: &NotificationRecord| {
        caller
            .memberships
            .iter()
            .find(|m| m.group_id == r.group_id)
            .map(|m| m.group.clone())
            .unwrap_or_default()
    };
    let notifications = records
        .iter()
        .map(|r| Notification {
            id: r.id.clone(),
            kind: r.kind.clone(),
            org: org_of(r),
            summary: r.summary.clone(),
            link: r.link.clone(),
            created_at: r.created_at.clone(),
            read_at: r.read_at.clone(),
        })
        .collect();
    Ok(NotificationList {
        unread: store.unread_notifications(&caller.person_id).await?,
        notifications,
    })
}

/// `GET /api/me/notifications`.
#[utoipa::path(
    get,
    path = "/api/me/notifications",
    tag = "notifications",
    operation_id = "my_notifications",
    summary = "One's notifications, newest first, with the unread count",
    params(NotificationQuery),
    responses(
        (status = 200, description = "The notifications", body = NotificationList),
        (status = 400, response = crate::openapi::BadRequest),
        SignedIn,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<NotificationQuery>, QueryRejection>,
) -> ApiResult<Json<NotificationList>> {
    let q = crate::params::query(query)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("limit is 1 to 200"));
    }
    Ok(Json(
        view(&state, &caller.0, q.unread.unwrap_or(false), limit.into()).await?,
    ))
}

/// `POST /api/me/notifications/read`.
#[utoipa::path(
    post,
    path = "/api/me/notifications/read",
    tag = "notifications",
    operation_id = "mark_notifications_read",
    summary = "Mark some of one's notifications read, or all of them",
    request_body = MarkRead,
    responses(
        (status = 200, description = "Marked", body = MarkedRead),
        JsonBody,
        SignedIn,
    )
)]
pub async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<MarkRead>,
) -> ApiResult<Json<MarkedRead>> {
    if body.ids.as_ref().is_some_and(|ids| ids.len() > 200) {
        return Err(ApiError::bad_request(
            "at most 200 ids at once; leave `ids` out to mark all read",
        ));
    }
    let store = state.catalog.store();
    let marked = store
        .mark_notifications_read(&caller.0.person_id, body.ids.as_deref())
        .await?;
    Ok(Json(MarkedRead {
        marked,
        unread: store.unread_notifications(&caller.0.person_id).await?,
    }))
}
