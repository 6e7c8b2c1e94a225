//! Publishers: who publishes the catalogue's plugins (`plughub_market::publishers`). Anyone may read
//! them; a signed-in person claims one; platform owners decide claims and verification.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::handlers::admin::platform;
use crate::json::ApiJson;
use crate::openapi::{Conflict, Forbidden, JsonBody, NotFound, Platform, Public, SignedIn};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use plughub_catalog::PluginView;
use plughub_domain::access::Action;
use plughub_domain::names::namespace_of;
use plughub_market::publishers::{Claim, Publisher, PublisherPerson, Publishers};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A publisher, in the path: an npm scope (`@elizaos`) or an unscoped package's name.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PublisherPath {
    /// The namespace it owns.
    #[param(example = "@elizaos")]
    pub publisher: String,
}

/// A claim, in the path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ClaimPath {
    /// The claim's id.
    pub id: String,
}

/// A publisher among others.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublisherSummary {
    #[serde(flatten)]
    pub publisher: Publisher,
    /// How many catalogue plugins are in its namespace.
    pub plugins: usize,
}

/// Every publisher: one per namespace of the catalogue, and any other that was claimed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublisherList {
    pub publishers: Vec<PublisherSummary>,
}

/// One of a publisher's plugins.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublisherPlugin {
    pub name: String,
    pub description: Option<String>,
    pub latest_version: Option<String>,
    /// Why it is deprecated (npm's reason or a platform owner's), if it is.
    pub deprecated: Option<String>,
    /// What a platform owner named to use instead.
    pub replacement: Option<String>,
}

/// A publisher's page: who it is, who holds it, its plugins.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublisherPage {
    #[serde(flatten)]
    pub publisher: Publisher,
    /// The people who hold it (by display name).
    pub people: Vec<PublisherPerson>,
    /// The catalogue's plugins in its namespace, by name.
    pub plugins: Vec<PublisherPlugin>,
}

/// The catalogue's plugins by namespace.
fn plugins_by_namespace(state: &AppState) -> BTreeMap<String, Vec<PluginView>> {
    let mut out: BTreeMap<String, Vec<PluginView>> = BTreeMap::new();
    for view in state.catalog.index().views() {
        out.entry(namespace_of(&view.name).to_string())
            .or_default()
            .push(view.clone());
    }
    out
}

/// The publisher of `namespace` with its plugins, if the catalogue has plugins in it or someone
/// claimed it; else not found.
pub async fn publisher_page(state: &AppState, namespace: &str) -> ApiResult<PublisherPage> {
    let publishers = Publishers::new(state.catalog.store().clone());
    // A name that cannot be a namespace names no publisher.
    let publisher = publishers.publisher(namespace).await.map_err(|e| match e {
        plughub_market::MarketError::Invalid(message) => {
            ApiError::new(StatusCode::NOT_FOUND, "publisher_not_found", message)
        }
        other => other.into(),
    })?;
    let mut plugins = plugins_by_namespace(state)
        .remove(namespace)
        .unwrap_or_default();
    if plugins.is_empty()
        && publisher.status == plughub_store::PUBLISHER_UNCLAIMED
        && state.catalog.store().publisher(namespace).await?.is_none()
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "publisher_not_found",
            format!(
                "no publisher '{namespace}': no catalogue plugin is in that namespace (GET /api/publishers lists them)"
            ),
        ));
    }
    plugins.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(PublisherPage {
        people: publishers.people(namespace).await?,
        plugins: plugins
            .into_iter()
            .map(|v| PublisherPlugin {
                name: v.name,
                description: v.description,
                latest_version: v.latest_version,
                deprecated: v.deprecated,
                replacement: v.replacement,
            })
            .collect(),
        publisher,
    })
}

/// A market error, its not-found answered with `code`.
pub fn not_found_as(e: plughub_market::MarketError, code: &'static str) -> ApiError {
    match e {
        plughub_market::MarketError::NotFound(message) => {
            ApiError::new(StatusCode::NOT_FOUND, code, message)
        }
        other => other.into(),
    }
}

/// `GET /api/publishers`.
#[utoipa::path(
    get,
    path = "/api/publishers",
    tag = "publishers",
    operation_id = "list_publishers",
    summary = "Every publisher: one per namespace of the catalogue, claimed or not",
    security(()),
    responses(
        (status = 200, description = "The publishers, by namespace", body = PublisherList),
        Public,
    )
)]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<PublisherList>> {
    let publishers = Publishers::new(state.catalog.store().clone());
    let by_namespace = plugins_by_namespace(&state);
    let claimed: BTreeMap<String, Publisher> = publishers
        .claimed()
        .await?
        .into_iter()
        .map(|p| (p.namespace.clone(), p))
        .collect();
    let mut namespaces: Vec<&String> = by_namespace.keys().chain(claimed.keys()).collect();
    namespaces.sort();
    namespaces.dedup();
    let list = namespaces
        .into_iter()
        .map(|ns| PublisherSummary {
            publisher: claimed.get(ns).cloned().unwrap_or_else(|| Publisher {
                namespace: ns.clone(),
                status: plughub_store::PUBLISHER_UNCLAIMED.to_string(),
                verified: false,
                verified_at: None,
            }),
            plugins: by_namespace.get(ns).map_or(0, Vec::len),
        })
        .collect();
    Ok(Json(PublisherList { publishers: list }))
}

/// `GET /api/publishers/{publisher}`.
#[utoipa::path(
    get,
    path = "/api/publishers/{publisher}",
    tag = "publishers",
    operation_id = "show_publisher",
    summary = "One publisher, the people who hold it and its plugins",
    params(PublisherPath),
    security(()),
    responses(
        (status = 200, description = "The publisher", body = PublisherPage),
        (status = 404, response = NotFound),
        Public,
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Path(PublisherPath { publisher }): Path<PublisherPath>,
) -> ApiResult<Json<PublisherPage>> {
    Ok(Json(publisher_page(&state, &publisher).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "evidence": "My npm account maintains @acme/plugin-x; I can answer at ada@acme.example" }))]
pub struct NewClaim {
    /// What shows the namespace is yours: 1 to 2,000 characters (see docs/publishers.md for what a
    /// platform owner checks).
    #[schema(min_length = 1, max_length = 2000)]
    pub evidence: String,
}

/// `POST /api/publishers/{publisher}/claims`.
#[utoipa::path(
    post,
    path = "/api/publishers/{publisher}/claims",
    tag = "publishers",
    operation_id = "claim_publisher",
    summary = "Claim a publisher: a platform owner grants or refuses the claim",
    params(PublisherPath),
    request_body = NewClaim,
    responses(
        (status = 201, description = "The claim, waiting for a decision", body = Claim),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        SignedIn,
        JsonBody,
    )
)]
pub async fn claim(
    State(state): State<AppState>,
    caller: Caller,
    Path(PublisherPath { publisher }): Path<PublisherPath>,
    ApiJson(body): ApiJson<NewClaim>,
) -> ApiResult<(StatusCode, Json<Claim>)> {
    let publishers = Publishers::new(state.catalog.store().clone());
    // A namespace of the catalogue, one claimed before, or a new one an author means to publish to
    // plughub under; never a new claim on one of the official registry's scopes, which nobody may
    // publish to, nor on a name that cannot be a namespace.
    if let Err(unknown) = publisher_page(&state, &publisher).await {
        if publishers.publisher(&publisher).await.is_err() {
            return Err(unknown);
        }
        if plughub_registry::namespace::is_reserved(&publisher) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "namespace_reserved",
                format!(
                    "{publisher} is a scope of elizaOS's official registry: nobody may publish under it on plughub"
                ),
            ));
        }
    }
    let claim = publishers
        .claim(&caller.0.person_id, &publisher, &body.evidence)
        .await?;
    Ok((StatusCode::CREATED, Json(claim)))
}

/// Query of the claims list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClaimsQuery {
    /// Only claims in this state; all when left out.
    #[param(inline)]
    pub status: Option<ClaimStatus>,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClaimStatus {
    Pending,
    Granted,
    Refused,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClaimList {
    /// Oldest first.
    pub claims: Vec<Claim>,
}

/// `GET /api/admin/publisher-claims`.
#[utoipa::path(
    get,
    path = "/api/admin/publisher-claims",
    tag = "admin",
    operation_id = "admin_publisher_claims",
    summary = "Claims on publishers, oldest first",
    params(ClaimsQuery),
    responses(
        (status = 200, description = "The claims", body = ClaimList),
        (status = 400, response = crate::openapi::BadRequest),
        Platform,
    )
)]
pub async fn claims(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ClaimsQuery>, QueryRejection>,
) -> ApiResult<Json<ClaimList>> {
    platform(&caller, Action::ModerateCatalogue)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status = query.status.map(|s| match s {
        ClaimStatus::Pending => "pending",
        ClaimStatus::Granted => "granted",
        ClaimStatus::Refused => "refused",
    });
    let claims = Publishers::new(state.catalog.store().clone())
        .claims(status)
        .await?;
    Ok(Json(ClaimList { claims }))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "note": "npm lists the claimant among the scope's maintainers" }))]
pub struct Decision {
    /// What was checked, or why refused (the claimant reads it): at most 2,000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: String,
}

/// `POST /api/admin/publisher-claims/{id}/grant`.
#[utoipa::path(
    post,
    path = "/api/admin/publisher-claims/{id}/grant",
    tag = "admin",
    operation_id = "admin_grant_claim",
    summary = "Grant a claim: its claimant holds the publisher",
    params(ClaimPath),
    request_body = Decision,
    responses(
        (status = 200, description = "The claim, granted", body = Claim),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        Platform,
        JsonBody,
    )
)]
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(ClaimPath { id }): Path<ClaimPath>,
    ApiJson(body): ApiJson<Decision>,
) -> ApiResult<Json<Claim>> {
    platform(&caller, Action::ModerateCatalogue)?;
    let claim = Publishers::new(state.catalog.store().clone())
        .grant(&id, &body.note, &caller.0.person_id)
        .await
        .map_err(|e| not_found_as(e, "claim_not_found"))?;
    Ok(Json(claim))
}

/// `POST /api/admin/publisher-claims/{id}/refuse`.
#[utoipa::path(
    post,
    path = "/api/admin/publisher-claims/{id}/refuse",
    tag = "admin",
    operation_id = "admin_refuse_claim",
    summary = "Refuse a claim, saying why",
    params(ClaimPath),
    request_body = Decision,
    responses(
        (status = 200, description = "The claim, refused", body = Claim),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        Platform,
        JsonBody,
    )
)]
pub async fn refuse(
    State(state): State<AppState>,
    caller: Caller,
    Path(ClaimPath { id }): Path<ClaimPath>,
    ApiJson(body): ApiJson<Decision>,
) -> ApiResult<Json<Claim>> {
    platform(&caller, Action::ModerateCatalogue)?;
    let claim = Publishers::new(state.catalog.store().clone())
        .refuse(&id, &body.note, &caller.0.person_id)
        .await
        .map_err(|e| not_found_as(e, "claim_not_found"))?;
    Ok(Json(claim))
}

/// `PUT /api/admin/publishers/{publisher}/verification`.
#[utoipa::path(
    put,
    path = "/api/admin/publishers/{publisher}/verification",
    tag = "admin",
    operation_id = "admin_verify_publisher",
    summary = "Verify a held publisher",
    params(PublisherPath),
    request_body = Decision,
    responses(
        (status = 200, description = "The publisher, verified", body = Publisher),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        Platform,
        JsonBody,
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    Path(PublisherPath { publisher }): Path<PublisherPath>,
    ApiJson(body): ApiJson<Decision>,
) -> ApiResult<Json<Publisher>> {
    platform(&caller, Action::ModerateCatalogue)?;
    publisher_page(&state, &publisher).await?;
    let publisher = Publishers::new(state.catalog.store().clone())
        .set_verified(&publisher, true, &body.note, &caller.0.person_id)
        .await?;
    Ok(Json(publisher))
}

/// `DELETE /api/admin/publishers/{publisher}/verification`.
#[utoipa::path(
    delete,
    path = "/api/admin/publishers/{publisher}/verification",
    tag = "admin",
    operation_id = "admin_unverify_publisher",
    summary = "Revoke a publisher's verification",
    params(PublisherPath),
    responses(
        (status = 200, description = "The publisher, no longer verified", body = Publisher),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        Platform,
    )
)]
pub async fn unverify(
    State(state): State<AppState>,
    caller: Caller,
    Path(PublisherPath { publisher }): Path<PublisherPath>,
) -> ApiResult<Json<Publisher>> {
    platform(&caller, Action::ModerateCatalogue)?;
    publisher_page(&state, &publisher).await?;
    let publisher = Publishers::new(state.catalog.store().clone())
        .set_verified(&publisher, false, "", &caller.0.person_id)
        .await?;
    Ok(Json(publisher))
}
