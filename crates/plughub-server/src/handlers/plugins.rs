//! The catalogue: search, one plugin, and where the catalogue came from.

use crate::error::{ApiError, ApiResult};
use crate::openapi::{BadRequest, NotFound, Public};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use plughub_catalog::{CatalogStatus, PluginDetail, SearchRequest, SearchResults, SortOrder};
use plughub_domain::CoreMajor;
use serde::Deserialize;

/// Whether deprecated plugins are found: only them, none of them (the default), or both.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Deprecated {
    True,
    False,
    Any,
}

/// Query parameters of `GET /api/plugins`. Unknown parameters are refused, so a typo is not ignored.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Words to search for; all plugins when left out.
    pub q: Option<String>,
    pub topic: Option<String>,
    /// A core major the plugin must work with.
    #[param(inline)]
    pub compat: Option<CoreMajor>,
    /// With `compat`: only where a published version proves it.
    pub compat_verified: Option<bool>,
    /// action, provider, evaluator, service, model, client or adapter.
    pub kind: Option<String>,
    pub license: Option<String>,
    /// Only plugins whose package asks for this permission (`network.external`, `storage.read`,
    /// `storage.write`, `secrets.access`, `events.publish`, `knowledge.query`), or `none`.
    pub permission: Option<String>,
    /// Comma-separated permissions: only plugins known to ask for none of them
    /// (`network.external`: plugins that need no network).
    pub without_permission: Option<String>,
    /// Published under `@elizaos`.
    pub verified: Option<bool>,
    /// `false` when left out.
    #[param(inline)]
    pub deprecated: Option<Deprecated>,
    /// `relevance` when left out.
    #[param(inline)]
    pub sort: Option<SortOrder>,
    /// From 1; a page past the end is empty.
    #[param(format = Int64, minimum = 1, maximum = 18446744073709551615_u64, default = 1)]
    #[serde(default, deserialize_with = "crate::integers::optional_in_query")]
    pub page: Option<u64>,
    #[param(format = Int64, minimum = 1, maximum = 100, default = 20)]
    #[serde(default, deserialize_with = "crate::integers::optional_in_query")]
    pub per_page: Option<u32>,
    /// Count the hits by facet (topic, kind, license, compat, permission, verified, deprecated).
    pub facets: Option<bool>,
}

impl ListParams {
    pub fn into_request(self) -> Result<SearchRequest, ApiError> {
        // A form's empty field (`kind=`) leaves its filter open, as leaving it out does.
        let given = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        let mut request = SearchRequest::new(self.q.unwrap_or_default());
        request.topic = given(self.topic);
        request.compat = self.compat;
        request.verified_compat_only = self.compat_verified.unwrap_or(false);
        request.kind = given(self.kind);
        request.license = given(self.license);
        request.permission = given(self.permission);
        request.without_permissions = self
            .without_permission
            .as_deref()
            .map(SearchRequest::permission_list)
            .unwrap_or_default();
        request.check_filters().map_err(ApiError::bad_request)?;
        request.verified = self.verified;
        request.deprecated = match self.deprecated.unwrap_or(Deprecated::False) {
            Deprecated::False => Some(false),
            Deprecated::True => Some(true),
            Deprecated::Any => None,
        };
        request.sort = self.sort.unwrap_or_default();
        request.page = usize::try_from(self.page.unwrap_or(1)).unwrap_or(usize::MAX);
        if request.page == 0 {
            return Err(ApiError::bad_request("page starts at 1"));
        }
        request.per_page = self
            .per_page
            .map_or(SearchRequest::DEFAULT_PER_PAGE, |n| n as usize);
        if request.per_page == 0 || request.per_page > SearchRequest::MAX_PER_PAGE {
            return Err(ApiError::bad_request(format!(
                "per_page must be between 1 and {}",
                SearchRequest::MAX_PER_PAGE
            )));
        }
        request.facets = self.facets.unwrap_or(false);
        Ok(request)
    }
}

#[utoipa::path(
    get,
    path = "/api/plugins",
    tag = "catalogue",
    operation_id = "search_plugins",
    summary = "Search the catalogue",
    params(ListParams),
    security(()),
    responses(
        (status = 200, description = "A page of the plugins found", body = SearchResults),
        (status = 400, response = BadRequest),
        Public,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> ApiResult<Json<SearchResults>> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let request = params.into_request()?;
    Ok(Json(state.catalog.search(&request)?))
}

/// `GET /api/plugins/{name}`: the name may be scoped (`@elizaos/plugin-openai`) or short (`openai`).
#[utoipa::path(
    get,
    path = "/api/plugins/{name}",
    tag = "catalogue",
    operation_id = "show_plugin",
    summary = "One plugin of the catalogue",
    params(("name" = String, Path, description = "`openai`, `plugin-openai` or `@elizaos/plugin-openai`", example = "@elizaos/plugin-openai")),
    security(()),
    responses(
        (status = 200, description = "The plugin, with everything known of it", body = PluginDetail),
        (status = 404, response = NotFound),
        Public,
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<PluginDetail>> {
    Ok(Json(state.catalog.info(&name).await?))
}

#[utoipa::path(
    get,
    path = "/api/catalog/status",
    tag = "catalogue",
    operation_id = "catalog_status",
    summary = "Where the catalogue came from",
    security(()),
    responses(
        (status = 200, description = "What the catalogue holds and its recent syncs", body = CatalogStatus),
        Public,
    )
)]
pub async fn catalog_status(State(state): State<AppState>) -> ApiResult<Json<CatalogStatus>> {
    Ok(Json(state.catalog.status().await?))
}
