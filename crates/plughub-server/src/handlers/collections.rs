//! Collections of plugins that platform owners curate (`plughub_market::collections`): public ones for
//! everyone, an organisation's for its members only (to anyone else it does not exist).

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::handlers::admin::platform;
use crate::handlers::publishers::not_found_as;
use crate::json::ApiJson;
use crate::openapi::{JsonBody, NotFound, Platform, SignedIn};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use plughub_domain::access::Action;
use plughub_market::collections::{Collection, CollectionChange, Collections};
use serde::{Deserialize, Serialize};

/// A collection, in the path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CollectionPath {
    /// Its slug: lower case letters, digits and `-`.
    #[param(example = "model-providers")]
    pub slug: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CollectionList {
    /// By title.
    pub collections: Vec<Collection>,
}

/// `GET /api/collections`.
#[utoipa::path(
    get,
    path = "/api/collections",
    tag = "collections",
    operation_id = "list_collections",
    summary = "The collections the caller may see: the public ones, and their organisations'",
    security((), ("token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The collections", body = CollectionList),
        SignedIn,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Option<Caller>,
) -> ApiResult<Json<CollectionList>> {
    let collections = Collections::new(&state.catalog)
        .visible_to(caller.as_ref().map(|c| &c.0))
        .await?;
    Ok(Json(CollectionList { collections }))
}

/// `GET /api/collections/{slug}`.
#[utoipa::path(
    get,
    path = "/api/collections/{slug}",
    tag = "collections",
    operation_id = "show_collection",
    summary = "One collection, its plugins in order",
    params(CollectionPath),
    security((), ("token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The collection", body = Collection),
        (status = 404, response = NotFound),
        SignedIn,
    )
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path(CollectionPath { slug }): Path<CollectionPath>,
) -> ApiResult<Json<Collection>> {
    let collection = Collections::new(&state.catalog)
        .get(&slug, caller.as_ref().map(|c| &c.0))
        .await
        .map_err(|e| not_found_as(e, "collection_not_found"))?;
    Ok(Json(collection))
}

/// `PUT /api/admin/collections/{slug}`.
#[utoipa::path(
    put,
    path = "/api/admin/collections/{slug}",
    tag = "admin",
    operation_id = "admin_put_collection",
    summary = "Create or replace a collection",
    params(CollectionPath),
    request_body = CollectionChange,
    responses(
        (status = 200, description = "The collection as it is now", body = Collection),
        Platform,
        JsonBody,
    )
)]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(CollectionPath { slug }): Path<CollectionPath>,
    ApiJson(body): ApiJson<CollectionChange>,
) -> ApiResult<Json<Collection>> {
    platform(&caller, Action::ModerateCatalogue)?;
    let collection = Collections::new(&state.catalog)
        .put(&slug, &body, &caller.0.person_id)
        .await?;
    Ok(Json(collection))
}

/// `DELETE /api/admin/collections/{slug}`.
#[utoipa::path(
    delete,
    path = "/api/admin/collections/{slug}",
    tag = "admin",
    operation_id = "admin_delete_collection",
    summary = "Delete a collection",
    params(CollectionPath),
    responses(
        (status = 200, description = "Deleted; the collection as it was", body = Collection),
        (status = 404, response = NotFound),
        Platform,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(CollectionPath { slug }): Path<CollectionPath>,
) -> ApiResult<Json<Collection>> {
    platform(&caller, Action::ModerateCatalogue)?;
    let gone = Collections::new(&state.catalog)
        .delete(&slug, &caller.0.person_id)
        .await
        .map_err(|e| not_found_as(e, "collection_not_found"))?;
    Ok(Json(gone))
}
