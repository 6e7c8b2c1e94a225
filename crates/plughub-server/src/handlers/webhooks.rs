//! An organisation's webhooks, which its owners make and delete, and each one's deliveries.

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::json::ApiJson;
use crate::openapi::{Conflict, InOrg, JsonBody, Plugins};
use crate::params::OrgPath;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plughub_domain::access::Action;
use plughub_notify::NotifyKind;
use plughub_notify::webhooks::{self, CreatedWebhook, Webhook};
use serde::{Deserialize, Serialize};

/// A webhook of an organisation, in the path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    /// The organisation's name.
    #[param(example = "acme")]
    pub org: String,
    /// The webhook's id.
    pub id: String,
}

/// A webhook to make.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "url": "https://hooks.example.com/plughub", "events": ["update_available"] }))]
pub struct NewWebhook {
    /// Where deliveries are sent (http or https; public addresses only, unless the operator allows
    /// loopback or trusts the address).
    #[schema(min_length = 1, max_length = 2000)]
    pub url: String,
    /// The events it is sent (at least one).
    #[schema(min_items = 1, max_items = 4)]
    pub events: Vec<NotifyKind>,
}

/// An organisation's webhooks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

/// One attempt at a delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Attempt {
    pub attempted_at: String,
    /// The receiver's HTTP status; `null` when it did not answer.
    pub status: Option<i64>,
    pub duration_ms: i64,
    /// What went wrong; `null` when it was delivered.
    pub error: Option<String>,
}

/// One delivery of an event to a webhook, with its attempts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: String,
    /// The event's id in the organisation's event log.
    pub event_id: String,
    /// Its kind (`update_available`, …).
    pub event: String,
    /// `pending` (to be tried, or tried again), `delivered`, or `failed` (retried for a day in vain).
    pub status: String,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    /// The JSON body sent.
    pub payload: serde_json::Value,
    pub attempts: Vec<Attempt>,
}

/// A webhook's deliveries, newest first (the last 100).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
}

/// `GET /api/orgs/{org}/webhooks`.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/webhooks",
    tag = "webhooks",
    operation_id = "list_webhooks",
    summary = "The organisation's webhooks (owners)",
    params(OrgPath),
    responses(
        (status = 200, description = "Its webhooks", body = WebhookList),
        InOrg,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(OrgPath { org }): Path<OrgPath>,
) -> ApiResult<Json<WebhookList>> {
    let group = caller
        .group_for(&state, &org, Action::ManageWebhooks)
        .await?;
    let webhooks = webhooks::list(state.catalog.store(), &group.id).await?;
    Ok(Json(WebhookList { webhooks }))
}

/// `POST /api/orgs/{org}/webhooks`: its secret is in the answer, this once.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/webhooks",
    tag = "webhooks",
    operation_id = "create_webhook",
    summary = "Make a webhook (owners); its signing secret is shown once",
    params(OrgPath),
    request_body = NewWebhook,
    responses(
        (status = 201, description = "Made; `secret` is shown only now", body = CreatedWebhook),
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
    ApiJson(body): ApiJson<NewWebhook>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    let group = caller
        .group_for(&state, &org, Action::ManageWebhooks)
        .await?;
    let created = webhooks::create(
        &state.notifier,
        &group.id,
        &body.url,
        &body.events,
        &caller.0.email,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `DELETE /api/orgs/{org}/webhooks/{id}`.
#[utoipa::path(
    delete,
    path = "/api/orgs/{org}/webhooks/{id}",
    tag = "webhooks",
    operation_id = "delete_webhook",
    summary = "Delete a webhook (owners); its pending deliveries end, its log stays",
    params(WebhookPath),
    responses(
        (status = 200, description = "Deleted: the organisation's webhooks now", body = WebhookList),
        InOrg,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(WebhookPath { org, id }): Path<WebhookPath>,
) -> ApiResult<Json<WebhookList>> {
    let group = caller
        .group_for(&state, &org, Action::ManageWebhooks)
        .await?;
    let store = state.catalog.store();
    webhooks::delete(store, &group.id, &id, &caller.0.email).await?;
    Ok(Json(WebhookList {
        webhooks: webhooks::list(store, &group.id).await?,
    }))
}

/// `GET /api/orgs/{org}/webhooks/{id}/deliveries`.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/webhooks/{id}/deliveries",
    tag = "webhooks",
    operation_id = "webhook_deliveries",
    summary = "A webhook's deliveries and each attempt (owners)",
    params(WebhookPath),
    responses(
        (status = 200, description = "Its deliveries, newest first", body = DeliveryList),
        InOrg,
    )
)]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(WebhookPath { org, id }): Path<WebhookPath>,
) -> ApiResult<Json<DeliveryList>> {
    let group = caller
        .group_for(&state, &org, Action::ManageWebhooks)
        .await?;
    let store = state.catalog.store();
    let webhook = webhooks::find_with_log(store, &group.id, &id).await?;
    let mut deliveries = Vec::new();
    for d in store.deliveries(&webhook.id, 100).await? {
        let attempts = store
            .delivery_attempts(&d.id)
            .await?
            .into_iter()
            .map(|a| Attempt {
                attempted_at: a.attempted_at,
                status: a.status_code,
                duration_ms: a.duration_ms,
                error: a.error,
            })
            .collect();
        deliveries.push(Delivery {
            payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
            id: d.id,
            event_id: d.event_id,
            event: d.event_type,
            status: d.status,
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
            attempts,
        });
    }
    Ok(Json(DeliveryList { deliveries }))
}
