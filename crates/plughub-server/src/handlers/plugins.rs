//! The catalogue: search, one plugin, and where the catalogue came from.

use crate::error::{ApiError, ApiResult};
use crate::openapi::{BadRequest, NotFound, Public};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use plughub_catalog::{
    CatalogStatus, CompatibilityReport, PluginDetail, Runs, SearchRequest, SearchResults, SortOrder,
};
use plughub_domain::CoreMajor;
use plughub_domain::PluginKind;
use plughub_domain::permissions::Permission;
use serde::Deserialize;

/// Whether deprecated plugins are found: only them, none of them (the default), or both.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Deprecated {
    True,
    False,
    Any,
}

/// What a plugin is, as the kind filter takes it: the kinds its package's components make it, or
/// `unknown` where plughub has not read its package and elizaOS's naming does not say.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KindParam {
    Action,
    Provider,
    Evaluator,
    Service,
    Model,
    Client,
    Adapter,
    Unknown,
}

impl KindParam {
    fn as_str(self) -> &'static str {
        let kind = match self {
            KindParam::Unknown => return "unknown",
            KindParam::Action => PluginKind::Action,
            KindParam::Provider => PluginKind::Provider,
            KindParam::Evaluator => PluginKind::Evaluator,
            KindParam::Service => PluginKind::Service,
            KindParam::Model => PluginKind::Model,
            KindParam::Client => PluginKind::Client,
            KindParam::Adapter => PluginKind::Adapter,
        };
        kind.as_str()
    }
}

/// A permission a package asks for, as the permission filter takes it, or `none`: asks for nothing.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
pub enum PermissionParam {
    #[serde(rename = "network.external")]
    NetworkExternal,
    #[serde(rename = "storage.read")]
    StorageRead,
    #[serde(rename = "storage.write")]
    StorageWrite,
    #[serde(rename = "secrets.access")]
    SecretsAccess,
    #[serde(rename = "events.publish")]
    EventsPublish,
    #[serde(rename = "knowledge.query")]
    KnowledgeQuery,
    #[serde(rename = "native.addons")]
    NativeAddons,
    #[serde(rename = "process.spawn")]
    ProcessSpawn,
    #[serde(rename = "none")]
    None,
}

impl PermissionParam {
    fn as_str(self) -> &'static str {
        let permission = match self {
            PermissionParam::None => return "none",
            PermissionParam::NetworkExternal => Permission::NetworkExternal,
            PermissionParam::StorageRead => Permission::StorageRead,
            PermissionParam::StorageWrite => Permission::StorageWrite,
            PermissionParam::SecretsAccess => Permission::SecretsAccess,
            PermissionParam::EventsPublish => Permission::EventsPublish,
            PermissionParam::KnowledgeQuery => Permission::KnowledgeQuery,
            PermissionParam::NativeAddons => Permission::NativeAddons,
            PermissionParam::ProcessSpawn => Permission::ProcessSpawn,
        };
        permission.as_str()
    }
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
    #[param(inline)]
    pub kind: Option<KindParam>,
    pub license: Option<String>,
    /// Only plugins whose package asks for this permission, or `none`: asks for nothing.
    #[param(inline)]
    pub permission: Option<PermissionParam>,
    /// Comma-separated permissions: only plugins whose package plughub read and that ask for none of
    /// them (`network.external`: plugins that need no network).
    #[param(
        pattern = r"^((network\.external|storage\.read|storage\.write|secrets\.access|events\.publish|knowledge\.query|native\.addons|process\.spawn)(,(network\.external|storage\.read|storage\.write|secrets\.access|events\.publish|knowledge\.query|native\.addons|process\.spawn))*)?$"
    )]
    pub without_permission: Option<String>,
    /// Published under `@elizaos`.
    pub verified: Option<bool>,
    /// `false` when left out.
    #[param(inline)]
    pub deprecated: Option<Deprecated>,
    /// Only plugins whose published reviews average at least this many stars (unreviewed ones have
    /// none).
    #[param(minimum = 1, maximum = 5)]
    pub min_rating: Option<f64>,
    /// Only plugins that run on plughub (the compatibility run's trial of their newest tried version
    /// inited), that do not, or that no run has tried.
    #[param(inline)]
    pub runs: Option<Runs>,
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
    /// Count the hits by facet (topic, kind, license, compat, permission, verified, deprecated, runs).
    pub facets: Option<bool>,
}

impl ListParams {
    pub fn into_request(self) -> Result<SearchRequest, ApiError> {
        // A form's empty text field (`topic=`) leaves its filter open, as leaving it out does.
        let given = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        let mut request = SearchRequest::new(self.q.unwrap_or_default());
        request.topic = given(self.topic);
        request.compat = self.compat;
        request.verified_compat_only = self.compat_verified.unwrap_or(false);
        request.kind = self.kind.map(|k| k.as_str().to_string());
        request.license = given(self.license);
        request.permission = self.permission.map(|p| p.as_str().to_string());
        // Exactly as the document's pattern says: names, each once separated by a comma.
        request.without_permissions = match self.without_permission.as_deref() {
            None | Some("") => vec![],
            Some(list) => list.split(',').map(String::from).collect(),
        };
        request.min_rating = self.min_rating;
        request.runs = self.runs;
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

/// Where the catalogue came from, its last sync, and this server's syncs.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CatalogStatusView {
    #[serde(flatten)]
    pub catalogue: CatalogStatus,
    /// The newest sync, of any server of the store (the first of `recent_syncs`); `null` before any.
    /// Its `report` says what each source read or failed to read.
    pub last_sync: Option<plughub_store::SyncRun>,
    /// What this server syncs from, and whether it is syncing now.
    pub sync: crate::catalog_sync::SyncState,
}

#[utoipa::path(
    get,
    path = "/api/catalog/status",
    tag = "catalogue",
    operation_id = "catalog_status",
    summary = "Where the catalogue came from",
    security(()),
    responses(
        (status = 200, description = "What the catalogue holds, its recent syncs and the one running", body = CatalogStatusView),
        Public,
    )
)]
pub async fn catalog_status(State(state): State<AppState>) -> ApiResult<Json<CatalogStatusView>> {
    let catalogue = state.catalog.status().await?;
    Ok(Json(CatalogStatusView {
        last_sync: catalogue.recent_syncs.first().cloned(),
        catalogue,
        sync: state.catalog_syncs.state(),
    }))
}

/// Query parameters of `GET /api/catalog/compatibility`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CompatibilityParams {
    /// Only the trials made against this npm registry (as the report's `registries` names it); every
    /// registry's when left out.
    pub registry: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/catalog/compatibility",
    tag = "catalogue",
    operation_id = "catalog_compatibility",
    summary = "What compatibility runs found: totals, failures by cause, and every trial",
    params(CompatibilityParams),
    security(()),
    responses(
        (status = 200, description = "Every trial of a catalogue plugin, summed up (trials belong to no organisation)", body = CompatibilityReport),
        (status = 400, response = BadRequest),
        Public,
    )
)]
pub async fn compatibility(
    State(state): State<AppState>,
    params: Result<Query<CompatibilityParams>, QueryRejection>,
) -> ApiResult<Json<CompatibilityReport>> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let registry = params.registry.filter(|r| !r.trim().is_empty());
    Ok(Json(
        state.catalog.compatibility(registry.as_deref()).await?,
    ))
}
