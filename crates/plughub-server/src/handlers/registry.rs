//! plughub as a registry (`plughub_registry`): publishing a package under a namespace the caller holds,
//! its versions and dist-tags, unpublishing, publish tokens, and platform owners' moderation
//! (quarantine, blocklist, namespace decisions). Publish tokens (`php_…`) sign in the publish
//! operation only; anywhere else they are unknown tokens (401).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::handlers::admin::platform;
use crate::json::ApiJson;
use crate::openapi::{
    BadRequest, Conflict, Forbidden, JsonBody, NotFound, PayloadTooLarge, Platform, Public,
    RegistryFailed, SignedIn, Unprocessable, UnsupportedMediaType,
};
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use plughub_domain::access::Action;
use plughub_domain::names::namespace_of;
use plughub_market::publishers::Publishers;
use plughub_registry::{PublishOutcome, Publisher, Reason};
use plughub_store::{BlockedHashRecord, NamespaceDecisionRecord, VERSION_QUARANTINED};
use serde::{Deserialize, Serialize};

/// A package, in the path: a scoped name's slash percent-encoded, as npm sends it (`@acme%2Fplugin-x`).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PackagePath {
    #[param(example = "@acme/plugin-x")]
    pub name: String,
}

/// A version of a package, in the path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct VersionPath {
    #[param(example = "@acme/plugin-x")]
    pub name: String,
    #[param(example = "1.2.0")]
    pub version: String,
}

/// A dist-tag of a package, in the path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TagPath {
    #[param(example = "@acme/plugin-x")]
    pub name: String,
    #[param(example = "beta")]
    pub tag: String,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PublishQuery {
    /// The dist-tag to set; without it `latest`, moved only forward (a backport leaves it).
    #[param(example = "latest", max_length = 64)]
    pub tag: Option<String>,
}

/// Who publishes: a publish token (`Bearer php_…`), or a person signed in as anywhere else.
pub struct PublishCaller(Publisher);

impl FromRequestParts<AppState> for PublishCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<PublishCaller, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .filter(|t| t.starts_with("php_"));
        if let Some(token) = token {
            let publisher = state
                .registry
                .authenticate_token(token)
                .await
                .map_err(|e| ApiError::unauthenticated("token_unknown", e.to_string()))?;
            return Ok(PublishCaller(publisher));
        }
        let caller = Caller::from_request_parts(parts, state).await?;
        Ok(PublishCaller(Publisher::Person(caller.0.person_id.clone())))
    }
}

/// `PUT /api/registry/packages/{name}`.
#[utoipa::path(
    put,
    path = "/api/registry/packages/{name}",
    tag = "registry",
    operation_id = "publish_package",
    summary = "Publish a version (the body is the .tgz `npm pack` makes) under a namespace you hold",
    params(PackagePath, PublishQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The package tarball"),
    responses(
        (status = 201, description = "Published, in the catalogue at once", body = PublishOutcome),
        (status = 202, description = "Quarantined: a check failed, a moderator decides (`reasons`)", body = PublishOutcome),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 502, response = RegistryFailed),
        SignedIn,
    ),
    security(("token" = []), ("session" = []))
)]
pub async fn publish(
    State(state): State<AppState>,
    PublishCaller(publisher): PublishCaller,
    Path(PackagePath { name }): Path<PackagePath>,
    query: Result<Query<PublishQuery>, QueryRejection>,
    body: Body,
) -> ApiResult<(StatusCode, Json<PublishOutcome>)> {
    let query = crate::params::query(query)?;
    let limit = state.registry.limits.max_tarball_bytes as usize;
    let bytes = axum::body::to_bytes(body, limit + 1).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the tarball is over the limit of {limit} bytes"),
        )
    })?;
    let outcome = state
        .registry
        .publish(&publisher, &name, query.tag.as_deref(), &bytes)
        .await?;
    let status = if outcome.status == plughub_store::VERSION_PUBLISHED {
        // Searchable at once on this server (others see the catalogue change on their next check). The
        // version is committed by now: a failed refresh is logged, not answered as a failed publish (a
        // retry would only get 409); the next refresh shows it.
        if let Err(e) = state.catalog.refresh().await {
            tracing::warn!(package = %name, error = %e, "published, but the catalogue refresh failed");
        }
        StatusCode::CREATED
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(outcome)))
}

/// One version of a package as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    pub version: String,
    /// `published`, `quarantined`, `rejected` or `unpublished`.
    pub status: String,
    pub integrity: String,
    pub size: i64,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpublished_at: Option<String>,
    /// Why it is held (quarantined versions, to its publisher and platform owners).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_note: Option<String>,
}

/// A package of the registry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PackageVersions {
    pub name: String,
    pub namespace: String,
    pub versions: Vec<VersionSummary>,
    /// Tag → version.
    pub dist_tags: std::collections::BTreeMap<String, String>,
}

fn summary(r: &plughub_store::RegistryVersionRecord) -> VersionSummary {
    VersionSummary {
        version: r.version.clone(),
        status: r.status.clone(),
        integrity: r.integrity.clone(),
        size: r.size,
        created_at: r.created_at.clone(),
        unpublished_at: r.unpublished_at.clone(),
        reasons: reasons_of(r),
        decision_note: r.decision_note.clone(),
    }
}

fn reasons_of(r: &plughub_store::RegistryVersionRecord) -> Vec<Reason> {
    r.checks
        .get("reasons")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// Whether `caller` sees a namespace's held versions: one of its people, or a platform owner.
async fn sees_held(state: &AppState, caller: Option<&Caller>, namespace: &str) -> ApiResult<bool> {
    let Some(caller) = caller else {
        return Ok(false);
    };
    if caller.0.may(Action::ModerateCatalogue, None).is_ok() {
        return Ok(true);
    }
    Ok(Publishers::new(state.catalog.store().clone())
        .holds(&caller.0.person_id, namespace)
        .await?)
}

fn package_not_found(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "plugin_not_found",
        format!("nothing named '{name}' was published to plughub"),
    )
}

/// `GET /api/registry/packages/{name}`.
#[utoipa::path(
    get,
    path = "/api/registry/packages/{name}",
    tag = "registry",
    operation_id = "registry_package",
    summary = "A package published to plughub: its versions and dist-tags (held ones to its publisher and platform owners only)",
    params(PackagePath),
    security((), ("token" = []), ("session" = [])),
    responses(
        (status = 200, description = "The package", body = PackageVersions),
        (status = 404, response = NotFound),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 429, response = crate::openapi::TooManyRequests),
        Public,
    )
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Option<Caller>,
    Path(PackagePath { name }): Path<PackagePath>,
) -> ApiResult<Json<PackageVersions>> {
    let store = state.catalog.store();
    let records = store.registry_versions(&name).await?;
    let namespace = namespace_of(&name).to_string();
    let all = sees_held(&state, caller.as_ref(), &namespace).await?;
    let versions: Vec<VersionSummary> = records
        .iter()
        .filter(|r| {
            all || r.status == plughub_store::VERSION_PUBLISHED
                || r.status == plughub_store::VERSION_UNPUBLISHED
        })
        .map(summary)
        .collect();
    if versions.is_empty() {
        return Err(package_not_found(&name));
    }
    let dist_tags = store.dist_tags(&name).await?.into_iter().collect();
    Ok(Json(PackageVersions {
        name,
        namespace,
        versions,
        dist_tags,
    }))
}

/// The caller holds the namespace of `name` (or is a platform owner), else forbidden.
async fn holder(state: &AppState, caller: &Caller, name: &str) -> ApiResult<()> {
    let namespace = namespace_of(name);
    if sees_held(state, Some(caller), namespace).await? {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "namespace_not_held",
        format!("you do not hold the publisher {namespace}: only its people change its packages"),
    ))
}

/// `DELETE /api/registry/packages/{name}/versions/{version}`.
#[utoipa::path(
    delete,
    path = "/api/registry/packages/{name}/versions/{version}",
    tag = "registry",
    operation_id = "unpublish_version",
    summary = "Unpublish a version: within 72 hours of its upload, and never while an organisation has it installed",
    params(VersionPath),
    responses(
        (status = 200, description = "Unpublished; its number stays used", body = VersionSummary),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        SignedIn,
    )
)]
pub async fn unpublish(
    State(state): State<AppState>,
    caller: Caller,
    Path(VersionPath { name, version }): Path<VersionPath>,
) -> ApiResult<Json<VersionSummary>> {
    holder(&state, &caller, &name).await?;
    let record = state
        .registry
        .unpublish(&name, &version, &caller.0.person_id)
        .await?;
    state.catalog.refresh().await?;
    Ok(Json(summary(&record)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "version": "1.2.0" }))]
pub struct TagChange {
    /// A published version.
    #[schema(max_length = 256)]
    pub version: String,
}

/// The dist-tags of a package after a change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DistTags {
    pub dist_tags: std::collections::BTreeMap<String, String>,
}

/// `PUT /api/registry/packages/{name}/dist-tags/{tag}`.
#[utoipa::path(
    put,
    path = "/api/registry/packages/{name}/dist-tags/{tag}",
    tag = "registry",
    operation_id = "set_dist_tag",
    summary = "Point a dist-tag at a published version",
    params(TagPath),
    request_body = TagChange,
    responses(
        (status = 200, description = "The dist-tags", body = DistTags),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        SignedIn,
        JsonBody,
    )
)]
pub async fn set_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path(TagPath { name, tag }): Path<TagPath>,
    ApiJson(body): ApiJson<TagChange>,
) -> ApiResult<Json<DistTags>> {
    holder(&state, &caller, &name).await?;
    state
        .registry
        .set_tag(&name, &tag, &body.version, &caller.0.person_id)
        .await?;
    state.catalog.refresh().await?;
    tags(&state, &name).await
}

/// `DELETE /api/registry/packages/{name}/dist-tags/{tag}`.
#[utoipa::path(
    delete,
    path = "/api/registry/packages/{name}/dist-tags/{tag}",
    tag = "registry",
    operation_id = "remove_dist_tag",
    summary = "Remove a dist-tag (`latest` can only be moved)",
    params(TagPath),
    responses(
        (status = 200, description = "The dist-tags", body = DistTags),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
        SignedIn,
    )
)]
pub async fn remove_tag(
    State(state): State<AppState>,
    caller: Caller,
    Path(TagPath { name, tag }): Path<TagPath>,
) -> ApiResult<Json<DistTags>> {
    holder(&state, &caller, &name).await?;
    state
        .registry
        .remove_tag(&name, &tag, &caller.0.person_id)
        .await?;
    state.catalog.refresh().await?;
    tags(&state, &name).await
}

async fn tags(state: &AppState, name: &str) -> ApiResult<Json<DistTags>> {
    Ok(Json(DistTags {
        dist_tags: state
            .catalog
            .store()
            .dist_tags(name)
            .await?
            .into_iter()
            .collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "namespace": "@acme", "name": "ci", "days": 90 }))]
pub struct NewPublishToken {
    /// A namespace you hold.
    #[schema(max_length = 214)]
    pub namespace: String,
    /// Where it is used: 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// How long it lasts: 1 to 365 days.
    #[schema(minimum = 1, maximum = 365)]
    pub days: u32,
}

/// A publish token as listed (never its secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublishTokenView {
    pub id: String,
    pub namespace: String,
    pub name: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

impl From<plughub_store::PublishTokenRecord> for PublishTokenView {
    fn from(r: plughub_store::PublishTokenRecord) -> PublishTokenView {
        PublishTokenView {
            id: r.id,
            namespace: r.namespace,
            name: r.name,
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            last_used_at: r.last_used_at,
        }
    }
}

/// A new publish token, its secret shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedPublishToken {
    pub id: String,
    /// `php_…`: keep it now, it is not shown again.
    pub token: String,
    pub namespace: String,
    pub name: String,
    pub expires_at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublishTokenList {
    pub tokens: Vec<PublishTokenView>,
}

/// `POST /api/me/publish-tokens`.
#[utoipa::path(
    post,
    path = "/api/me/publish-tokens",
    tag = "registry",
    operation_id = "create_publish_token",
    summary = "Make a publish token for a namespace you hold (shown once)",
    request_body = NewPublishToken,
    responses(
        (status = 201, description = "The token, shown this once", body = CreatedPublishToken),
        (status = 403, response = Forbidden),
        SignedIn,
        JsonBody,
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewPublishToken>,
) -> ApiResult<(StatusCode, Json<CreatedPublishToken>)> {
    let made = state
        .registry
        .create_token(&caller.0.person_id, &body.namespace, &body.name, body.days)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedPublishToken {
            id: made.record.id,
            token: made.token,
            namespace: made.record.namespace,
            name: made.record.name,
            expires_at: made.record.expires_at,
        }),
    ))
}

/// `GET /api/me/publish-tokens`.
#[utoipa::path(
    get,
    path = "/api/me/publish-tokens",
    tag = "registry",
    operation_id = "publish_tokens",
    summary = "Your publish tokens, newest first",
    responses(
        (status = 200, description = "The tokens", body = PublishTokenList),
        SignedIn,
    )
)]
pub async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<PublishTokenList>> {
    let tokens = state
        .catalog
        .store()
        .publish_tokens_of(&caller.0.person_id)
        .await?;
    Ok(Json(PublishTokenList {
        tokens: tokens.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenPath {
    pub id: String,
}

/// `DELETE /api/me/publish-tokens/{id}`.
#[utoipa::path(
    delete,
    path = "/api/me/publish-tokens/{id}",
    tag = "registry",
    operation_id = "revoke_publish_token",
    summary = "Revoke one of your publish tokens",
    params(TokenPath),
    responses(
        (status = 200, description = "Revoked", body = PublishTokenView),
        (status = 404, response = NotFound),
        SignedIn,
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(TokenPath { id }): Path<TokenPath>,
) -> ApiResult<Json<PublishTokenView>> {
    state
        .registry
        .revoke_token(&caller.0.person_id, &id)
        .await?;
    let record = state
        .catalog
        .store()
        .publish_token(&id)
        .await?
        .ok_or_else(|| ApiError::internal(&"a revoked token is gone"))?;
    Ok(Json(record.into()))
}

/// A version waiting for a moderator.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuarantinedVersion {
    pub name: String,
    pub version: String,
    pub published_by: String,
    pub created_at: String,
    pub integrity: String,
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuarantineList {
    pub versions: Vec<QuarantinedVersion>,
}

/// The quarantined versions, oldest first.
pub async fn quarantined(state: &AppState) -> ApiResult<Vec<QuarantinedVersion>> {
    Ok(state
        .catalog
        .store()
        .registry_versions_in(VERSION_QUARANTINED, 500)
        .await?
        .iter()
        .map(|r| QuarantinedVersion {
            name: r.package.clone(),
            version: r.version.clone(),
            published_by: r.published_by.clone(),
            created_at: r.created_at.clone(),
            integrity: r.integrity.clone(),
            reasons: reasons_of(r),
        })
        .collect())
}

/// `GET /api/admin/registry/quarantine`.
#[utoipa::path(
    get,
    path = "/api/admin/registry/quarantine",
    tag = "admin",
    operation_id = "registry_quarantine",
    summary = "The quarantined versions with why each is held, oldest first",
    responses(
        (status = 200, description = "The versions", body = QuarantineList),
        Platform,
    )
)]
pub async fn quarantine(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<QuarantineList>> {
    platform(&caller, Action::ModerateCatalogue)?;
    Ok(Json(QuarantineList {
        versions: quarantined(&state).await?,
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "note": "The flagged call is the documented API client" }))]
pub struct Decision {
    /// Why: up to 2,000 characters; the publisher reads it.
    #[schema(max_length = 2000)]
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST /api/admin/registry/packages/{name}/versions/{version}/release`.
#[utoipa::path(
    post,
    path = "/api/admin/registry/packages/{name}/versions/{version}/release",
    tag = "admin",
    operation_id = "release_version",
    summary = "Release a quarantined version: published, tagged, in the catalogue",
    params(VersionPath),
    request_body = Decision,
    responses(
        (status = 200, description = "Published", body = VersionSummary),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        Platform,
        JsonBody,
    )
)]
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    Path(VersionPath { name, version }): Path<VersionPath>,
    ApiJson(body): ApiJson<Decision>,
) -> ApiResult<Json<VersionSummary>> {
    platform(&caller, Action::ModerateCatalogue)?;
    let note = check_note(body.note.as_deref())?;
    let record = state
        .registry
        .release(&name, &version, &caller.0.person_id, note)
        .await?;
    state.catalog.refresh().await?;
    Ok(Json(summary(&record)))
}

/// `POST /api/admin/registry/packages/{name}/versions/{version}/reject`.
#[utoipa::path(
    post,
    path = "/api/admin/registry/packages/{name}/versions/{version}/reject",
    tag = "admin",
    operation_id = "reject_version",
    summary = "Reject a quarantined version: never published, its number stays used",
    params(VersionPath),
    request_body = Decision,
    responses(
        (status = 200, description = "Rejected", body = VersionSummary),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        Platform,
        JsonBody,
    )
)]
pub async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    Path(VersionPath { name, version }): Path<VersionPath>,
    ApiJson(body): ApiJson<Decision>,
) -> ApiResult<Json<VersionSummary>> {
    platform(&caller, Action::ModerateCatalogue)?;
    let note = check_note(body.note.as_deref())?;
    let record = state
        .registry
        .reject(&name, &version, &caller.0.person_id, note)
        .await?;
    Ok(Json(summary(&record)))
}

fn check_note(note: Option<&str>) -> ApiResult<Option<&str>> {
    match note.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) if n.chars().count() > 2000 => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "note: at most 2,000 characters",
        )),
        other => Ok(other),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BlockedHash {
    pub sha512: String,
    pub reason: String,
    pub added_by: String,
    pub added_at: String,
}

impl From<BlockedHashRecord> for BlockedHash {
    fn from(r: BlockedHashRecord) -> BlockedHash {
        BlockedHash {
            sha512: r.sha512,
            reason: r.reason,
            added_by: r.added_by,
            added_at: r.added_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Blocklist {
    pub hashes: Vec<BlockedHash>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "sha512": "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", "reason": "a known credential stealer" }))]
pub struct NewBlockedHash {
    /// The sha512 of a file's content, 128 hex digits.
    #[schema(min_length = 128, max_length = 128)]
    pub sha512: String,
    /// Why: 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// `GET /api/admin/registry/blocklist`.
#[utoipa::path(
    get,
    path = "/api/admin/registry/blocklist",
    tag = "admin",
    operation_id = "registry_blocklist",
    summary = "The file hashes no published version may hold",
    responses(
        (status = 200, description = "The blocklist, newest first", body = Blocklist),
        Platform,
    )
)]
pub async fn blocklist(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Blocklist>> {
    platform(&caller, Action::ModerateCatalogue)?;
    Ok(Json(Blocklist {
        hashes: state
            .catalog
            .store()
            .blocked_hashes()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    }))
}

/// `POST /api/admin/registry/blocklist`.
#[utoipa::path(
    post,
    path = "/api/admin/registry/blocklist",
    tag = "admin",
    operation_id = "block_hash",
    summary = "Block a file hash: uploads holding the file are quarantined",
    request_body = NewBlockedHash,
    responses(
        (status = 201, description = "Blocked", body = BlockedHash),
        Platform,
        JsonBody,
    )
)]
pub async fn block(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewBlockedHash>,
) -> ApiResult<(StatusCode, Json<BlockedHash>)> {
    platform(&caller, Action::ModerateCatalogue)?;
    let record = state
        .registry
        .block(&body.sha512, &body.reason, &caller.0.person_id)
        .await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct HashPath {
    pub sha512: String,
}

/// `DELETE /api/admin/registry/blocklist/{sha512}`.
#[utoipa::path(
    delete,
    path = "/api/admin/registry/blocklist/{sha512}",
    tag = "admin",
    operation_id = "unblock_hash",
    summary = "Remove a file hash from the blocklist",
    params(HashPath),
    responses(
        (status = 200, description = "Removed: the blocklist now", body = Blocklist),
        (status = 404, response = NotFound),
        Platform,
    )
)]
pub async fn unblock(
    State(state): State<AppState>,
    caller: Caller,
    Path(HashPath { sha512 }): Path<HashPath>,
) -> ApiResult<Json<Blocklist>> {
    platform(&caller, Action::ModerateCatalogue)?;
    state.registry.unblock(&sha512, &caller.0.person_id).await?;
    blocklist(State(state), caller).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NamespacePath {
    #[param(example = "@acme")]
    pub namespace: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "note": "The npm org acme lists ada@acme.example, who holds @acme here" }))]
pub struct NamespaceNote {
    /// What shows the npm namespace is the plughub publisher's: 1 to 2,000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub note: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NamespaceDecision {
    pub namespace: String,
    pub note: String,
    pub decided_by: String,
    pub decided_at: String,
}

impl From<NamespaceDecisionRecord> for NamespaceDecision {
    fn from(r: NamespaceDecisionRecord) -> NamespaceDecision {
        NamespaceDecision {
            namespace: r.namespace,
            note: r.note,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
        }
    }
}

/// `PUT /api/admin/registry/namespaces/{namespace}/decision`.
#[utoipa::path(
    put,
    path = "/api/admin/registry/namespaces/{namespace}/decision",
    tag = "admin",
    operation_id = "decide_namespace",
    summary = "Record that a namespace npm also has is its plughub publisher's, so it may be published to",
    params(NamespacePath),
    request_body = NamespaceNote,
    responses(
        (status = 200, description = "The decision", body = NamespaceDecision),
        (status = 400, response = BadRequest),
        Platform,
        JsonBody,
    )
)]
pub async fn decide_namespace(
    State(state): State<AppState>,
    caller: Caller,
    Path(NamespacePath { namespace }): Path<NamespacePath>,
    ApiJson(body): ApiJson<NamespaceNote>,
) -> ApiResult<Json<NamespaceDecision>> {
    platform(&caller, Action::ModerateCatalogue)?;
    let record = state
        .registry
        .decide_namespace(&namespace, &body.note, &caller.0.person_id)
        .await?;
    Ok(Json(record.into()))
}
