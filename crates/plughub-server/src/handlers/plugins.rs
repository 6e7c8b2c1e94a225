//! The catalogue: search, one plugin, and where the catalogue came from.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use plughub_catalog::{CatalogStatus, PluginDetail, SearchRequest, SearchResults, SortOrder};
use plughub_domain::CoreMajor;
use serde::Deserialize;

/// Query parameters of `GET /api/plugins`. Unknown parameters are refused, so a typo is not ignored.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub q: Option<String>,
    pub topic: Option<String>,
    pub compat: Option<String>,
    pub compat_verified: Option<bool>,
    pub kind: Option<String>,
    pub license: Option<String>,
    pub verified: Option<bool>,
    /// `true`, `false` (the default) or `any`.
    pub deprecated: Option<String>,
    pub sort: Option<String>,
    pub page: Option<usize>,
    pub per_page: Option<usize>,
    pub facets: Option<bool>,
}

impl ListParams {
    pub fn into_request(self) -> Result<SearchRequest, ApiError> {
        let mut request = SearchRequest::new(self.q.unwrap_or_default());
        request.topic = self.topic;
        request.compat = match self.compat {
            None => None,
            Some(c) => Some(CoreMajor::parse(&c).ok_or_else(|| {
                ApiError::bad_request(format!("compat '{c}' is not a core major (v0, v1 or v2)"))
            })?),
        };
        request.verified_compat_only = self.compat_verified.unwrap_or(false);
        request.kind = self.kind;
        request.license = self.license;
        request.verified = self.verified;
        request.deprecated = match self.deprecated.as_deref() {
            None | Some("false") => Some(false),
            Some("true") => Some(true),
            Some("any") => None,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "deprecated '{other}' must be true, false or any"
                )));
            }
        };
        request.sort = match self.sort {
            None => SortOrder::Relevance,
            Some(s) => s.parse().map_err(ApiError::bad_request)?,
        };
        request.page = self.page.unwrap_or(1);
        if request.page == 0 {
            return Err(ApiError::bad_request("page starts at 1"));
        }
        request.per_page = self.per_page.unwrap_or(SearchRequest::DEFAULT_PER_PAGE);
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
    responses((status = 200, description = "Done"), (status = 400, description = "A parameter that is not understood", body = crate::openapi::ErrorBody))
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
    params(("name" = String, Path, description = "openai, plugin-openai or @elizaos/plugin-openai")),
    responses((status = 200, description = "Done"), (status = 404, description = "Not in the catalogue", body = crate::openapi::ErrorBody))
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
    summary = "Where the catalogue came from",
    responses((status = 200, description = "Done"))
)]
pub async fn catalog_status(State(state): State<AppState>) -> ApiResult<Json<CatalogStatus>> {
    Ok(Json(state.catalog.status().await?))
}
