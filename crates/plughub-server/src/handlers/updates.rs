//! Updates: the changelog between an installed version and a newer one, and the check for newer
//! versions that records update notices.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::handlers::admin::platform;
use crate::handlers::installed::lifecycle;
use crate::openapi::{BadRequest, InOrg, Platform, Plugins};
use crate::params::PluginPath;
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use plughub_domain::access::Action;
use plughub_notify::changelog::{self, Changelog};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangelogQuery {
    /// The newer version; left out, the newest for the core the plugin runs on (what an update picks).
    #[param(example = "1.1.0")]
    pub to: Option<String>,
}

/// `GET /api/orgs/{org}/plugins/{plugin}/changelog`.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/plugins/{plugin}/changelog",
    tag = "plugins",
    operation_id = "plugin_changelog",
    summary = "The changes between the installed version and a newer one",
    params(PluginPath, ChangelogQuery),
    responses(
        (status = 200, description = "From the package's changelog, else the versions and their dates", body = Changelog),
        (status = 400, response = BadRequest),
        (status = 502, response = crate::openapi::RegistryFailed),
        InOrg,
        Plugins,
    )
)]
pub async fn changelog(
    State(state): State<AppState>,
    caller: Caller,
    Path(PluginPath { org, plugin }): Path<PluginPath>,
    query: Result<Query<ChangelogQuery>, QueryRejection>,
) -> ApiResult<Json<Changelog>> {
    let q = crate::params::query(query)?;
    let group = caller.group_for(&state, &org, Action::ViewGroup).await?;
    let installer = lifecycle(&state)?.runner.installer();
    let (_, _, record) = installer.installed_instance(&group.name, &plugin).await?;
    let found = changelog::between(
        installer.sources(),
        &record.plugin,
        record.version(),
        q.to.as_deref(),
        record.core,
    )
    .await?;
    Ok(Json(found))
}

/// What an update check recorded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UpdateCheck {
    /// The update notices recorded now (a version is announced once per organisation).
    pub notices: Vec<plughub_domain::StoredEvent>,
}

/// `POST /api/admin/updates/check`: what the server does periodically, now.
#[utoipa::path(
    post,
    path = "/api/admin/updates/check",
    tag = "admin",
    operation_id = "check_updates",
    summary = "Look for newer versions of installed plugins now, and tell of them",
    responses(
        (status = 200, description = "Checked; the notices recorded", body = UpdateCheck),
        (status = 502, response = crate::openapi::RegistryFailed),
        Platform,
        Plugins,
    )
)]
pub async fn check(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<UpdateCheck>> {
    platform(&caller, Action::ModerateCatalogue)?;
    let installer = lifecycle(&state)?.runner.installer();
    let notices = plughub_notify::updates::check(installer).await?;
    // Told of at once, not at the notifier's next round.
    // Only the telling: deliveries go out in the notifier's own rounds, so the request answers fast.
    state.notifier.dispatch().await?;
    Ok(Json(UpdateCheck { notices }))
}

impl From<plughub_notify::NotifyError> for ApiError {
    fn from(e: plughub_notify::NotifyError) -> ApiError {
        use plughub_notify::NotifyError as E;
        match e {
            E::Store(e) => e.into(),
            E::Invalid(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m),
            E::Refused(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "target_refused", m),
            E::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            E::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            // A name or version the registry does not have: not found, as for an update.
            E::Install(
                e @ (plughub_install::InstallError::NotOnNpm { .. }
                | plughub_install::InstallError::NotPublished { .. }
                | plughub_install::InstallError::NoTarget { .. }
                | plughub_install::InstallError::NoCompatible { .. }),
            ) => ApiError::new(StatusCode::NOT_FOUND, "plugin_not_found", e.to_string()),
            E::Install(e) => ApiError::new(StatusCode::BAD_GATEWAY, "registry", e.to_string()),
            E::Lifecycle(e) => e.into(),
            E::NoKeyRing => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_lifecycle",
                E::NoKeyRing.to_string(),
            ),
            E::Secrets(e) => ApiError::internal(&e.to_string()),
            E::Local(m) => ApiError::internal(&m),
        }
    }
}
