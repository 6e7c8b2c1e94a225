//! Changing an organisation's installed plugins: install (from a registry), configure, grant and revoke
//! permissions, uninstall. Each checks the caller's role in the organisation first, and records the
//! caller as the actor of its events. A plugin's name goes in the path percent-encoded
//! (`@acme%2Fplugin-x`).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::state::{AppState, Lifecycle};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use plughub_domain::access::Action;
use plughub_domain::permissions::{Permission, Permissions};
use plughub_lifecycle::{ConfigView, InstallOptions, InstanceRecord, PermissionsView};
use serde::Deserialize;
use std::collections::BTreeMap;

pub(crate) fn lifecycle(state: &AppState) -> Result<&Lifecycle, ApiError> {
    state.lifecycle.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_lifecycle",
            "this server serves the catalogue only",
        )
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Install {
    /// A registry name with an optional version or range: `@elizaos/plugin-openai@^1`, or a name the
    /// catalogue resolves (`openai@^1`) as `GET /api/plugins/{name}` does.
    pub plugin: String,
    /// v0, v1 or v2.
    pub core: Option<String>,
    /// Grant the permissions it asks for (needs the right to grant).
    #[serde(default)]
    pub grant: bool,
    /// Install the name as written, although the catalogue does not hold it and its package.json does
    /// not look like an elizaOS plugin's (a private plugin); without it such a name answers 422
    /// `not_a_plugin`.
    #[serde(default)]
    pub not_in_catalogue: bool,
}

/// `POST /api/orgs/{org}/plugins`.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/plugins",
    tag = "plugins",
    summary = "Install a plugin from the registry",
    params(("org" = String, Path, description = "The organisation's name")),
    request_body = Install,
    responses((status = 201, description = "Installed"), (status = 422, description = "Not a package name, or a package neither in the catalogue nor shaped like an elizaOS plugin (`not_a_plugin`)", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn install(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<Install>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let group = caller
        .group_for(&state, &org, Action::ManagePlugins)
        .await?;
    if body.grant {
        caller.authorize(&group, Action::Grant)?;
    }
    let spec = body.plugin.trim();
    from_registry(spec)?;
    let core = match body.core.as_deref() {
        None => None,
        Some(c) => Some(plughub_domain::CoreMajor::parse(c).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("core '{c}' is not a core major (v0, v1 or v2)"),
            )
        })?),
    };
    let options = InstallOptions {
        core,
        accept_risk_by: None,
        actor: caller.0.email.clone(),
        grant: body.grant,
        not_in_catalogue: body.not_in_catalogue,
    };
    let installed = lifecycle(&state)?
        .runner
        .installer()
        .install(&group.name, spec, &options)
        .await;
    state.metrics.install("install", &installed, |_| "ok");
    Ok((StatusCode::CREATED, Json(summary(&installed?))))
}

/// Refuses what is not a registry name (with an optional version): a folder or tarball on the server's
/// disk is for its command line, never for a caller. The installer's own reading of specs decides.
pub(crate) fn from_registry(spec: &str) -> Result<(), ApiError> {
    match plughub_install::PackageSpec::parse(spec) {
        Ok(plughub_install::PackageSpec::Npm { .. }) => Ok(()),
        Ok(_) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "install from a registry name (e.g. @elizaos/plugin-openai); folders and tarballs on the server's disk are for its command line",
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            e.to_string(),
        )),
    }
}

/// What the API shows of an installed plugin: never its settings' sealed values.
pub(crate) fn summary(record: &InstanceRecord) -> serde_json::Value {
    serde_json::json!({
        "plugin": record.plugin, "version": record.version(), "state": record.state,
        "integrity": record.current.integrity, "risk_score": record.current.risk_score,
        "permissions": { "requested": record.current.requested, "granted": record.granted,
                         "missing": record.ungranted() },
    })
}

/// `DELETE /api/orgs/{org}/plugins/{plugin}`: what was uninstalled (with plugins only it needed).
#[utoipa::path(
    delete,
    path = "/api/orgs/{org}/plugins/{plugin}",
    tag = "plugins",
    summary = "Uninstall a plugin",
    params(("org" = String, Path, description = "The organisation's name"), ("plugin" = String, Path, description = "The plugin's package name, percent-encoded (@acme%2Fplugin-x)")),
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn uninstall(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, plugin)): Path<(String, String)>,
) -> ApiResult<Json<serde_json::Value>> {
    let group = caller
        .group_for(&state, &org, Action::ManagePlugins)
        .await?;
    let runner = &lifecycle(&state)?.runner;
    // Its warm workers end first: nothing of it runs here once it is gone.
    runner.forget(&group.name, &plugin).await;
    let removed = runner
        .installer()
        .uninstall(&group.name, &plugin, &caller.0.email)
        .await?;
    Ok(Json(serde_json::json!({ "uninstalled": removed })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Configure {
    pub settings: BTreeMap<String, String>,
}

/// `PUT /api/orgs/{org}/plugins/{plugin}/config`: secrets are sealed and never shown back.
#[utoipa::path(
    put,
    path = "/api/orgs/{org}/plugins/{plugin}/config",
    tag = "plugins",
    summary = "Set a plugin's settings (secrets sealed, never shown back)",
    params(("org" = String, Path, description = "The organisation's name"), ("plugin" = String, Path, description = "The plugin's package name, percent-encoded (@acme%2Fplugin-x)")),
    request_body = Configure,
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn configure(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, plugin)): Path<(String, String)>,
    ApiJson(body): ApiJson<Configure>,
) -> ApiResult<Json<ConfigView>> {
    let group = caller.group_for(&state, &org, Action::Configure).await?;
    let lifecycle = lifecycle(&state)?;
    let view = lifecycle
        .runner
        .installer()
        .configure(
            &group.name,
            &plugin,
            &body.settings,
            lifecycle.runner.keys(),
            &caller.0.email,
        )
        .await?;
    lifecycle.runner.forget(&group.name, &plugin).await;
    Ok(Json(view))
}

/// `GET /api/orgs/{org}/plugins/{plugin}/permissions`.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/plugins/{plugin}/permissions",
    tag = "permissions",
    summary = "What a plugin asks for, what is granted, what is missing",
    params(("org" = String, Path, description = "The organisation's name"), ("plugin" = String, Path, description = "The plugin's package name, percent-encoded (@acme%2Fplugin-x)")),
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn permissions(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, plugin)): Path<(String, String)>,
) -> ApiResult<Json<PermissionsView>> {
    let group = caller.group_for(&state, &org, Action::ViewGroup).await?;
    Ok(Json(
        lifecycle(&state)?
            .runner
            .installer()
            .permissions(&group.name, &plugin)
            .await?,
    ))
}

/// Permissions named in a grant or a revocation; none named means all.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Named {
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub secrets: Vec<String>,
    /// storage.read, storage.write, events.publish, knowledge.query.
    #[serde(default)]
    pub permissions: Vec<String>,
}

impl Named {
    fn set(&self) -> Result<Option<Permissions>, ApiError> {
        let invalid = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m);
        let mut set = Permissions::default();
        set.add_domains(self.domains.iter().cloned())
            .map_err(|e| invalid(e.to_string()))?;
        set.add_secrets(self.secrets.iter().cloned());
        for name in &self.permissions {
            match Permission::parse(name).map_err(|e| invalid(e.to_string()))? {
                Permission::NetworkExternal | Permission::SecretsAccess => {
                    return Err(invalid(format!(
                        "{name} is granted by naming them: use `domains` or `secrets`"
                    )));
                }
                permission => set.add(permission),
            }
        }
        Ok((!set.is_empty()).then_some(set))
    }
}

/// `POST /api/orgs/{org}/plugins/{plugin}/permissions`: grants what it asks for, or what is named.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/plugins/{plugin}/permissions",
    tag = "permissions",
    summary = "Grant what it asks for, or what is named",
    params(("org" = String, Path, description = "The organisation's name"), ("plugin" = String, Path, description = "The plugin's package name, percent-encoded (@acme%2Fplugin-x)")),
    request_body = Named,
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, plugin)): Path<(String, String)>,
    ApiJson(body): ApiJson<Named>,
) -> ApiResult<Json<PermissionsView>> {
    let group = caller.group_for(&state, &org, Action::Grant).await?;
    let named = body.set()?;
    let runner = &lifecycle(&state)?.runner;
    let view = runner
        .installer()
        .grant(
            &group.name,
            &plugin,
            named.is_none(),
            &named.unwrap_or_default(),
            &caller.0.email,
        )
        .await?;
    runner.forget(&group.name, &plugin).await;
    Ok(Json(view))
}

/// `DELETE /api/orgs/{org}/plugins/{plugin}/permissions`: takes back everything granted.
#[utoipa::path(
    delete,
    path = "/api/orgs/{org}/plugins/{plugin}/permissions",
    tag = "permissions",
    summary = "Take back everything granted",
    params(("org" = String, Path, description = "The organisation's name"), ("plugin" = String, Path, description = "The plugin's package name, percent-encoded (@acme%2Fplugin-x)")),
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody))
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, plugin)): Path<(String, String)>,
) -> ApiResult<Json<PermissionsView>> {
    let group = caller.group_for(&state, &org, Action::Grant).await?;
    let runner = &lifecycle(&state)?.runner;
    let view = runner
        .installer()
        .revoke(&group.name, &plugin, None, &caller.0.email)
        .await?;
    // Workers started with the old grants (egress domains, secrets) end now.
    runner.forget(&group.name, &plugin).await;
    Ok(Json(view))
}

/// What to run: exactly one of an action, a provider or an evaluator, on a message.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Run {
    pub action: Option<String>,
    pub provider: Option<String>,
    pub evaluator: Option<String>,
    #[serde(default)]
    pub text: String,
    /// The agent it runs for (`default` when not given).
    pub agent: Option<String>,
    /// Seconds, within the plan's bounds.
    pub timeout: Option<u64>,
}

/// `POST /api/orgs/{org}/plugins/{plugin}/run`: the component's answer and its callbacks, recorded as
/// an execution by the caller.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/plugins/{plugin}/run",
    tag = "runs",
    summary = "Run an action, provider or evaluator on a message",
    params(("org" = String, Path, description = "The organisation's name"), ("plugin" = String, Path, description = "The plugin's package name, percent-encoded (@acme%2Fplugin-x)")),
    request_body = Run,
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "The caller's role does not allow this", body = crate::openapi::ErrorBody), (status = 404, description = "No such organisation among the caller's (or no such plugin)", body = crate::openapi::ErrorBody), (status = 502, description = "The plugin failed", body = crate::openapi::ErrorBody))
)]
pub async fn run(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, plugin)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Run>,
) -> ApiResult<Response> {
    let group = caller.group_for(&state, &org, Action::Run).await?;
    let component = match (body.action, body.provider, body.evaluator) {
        (Some(a), None, None) => plughub_runner::Component::Action(a),
        (None, Some(p), None) => plughub_runner::Component::Provider(p),
        (None, None, Some(e)) => plughub_runner::Component::Evaluator(e),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "name exactly one of `action`, `provider` or `evaluator`",
            ));
        }
    };
    let runner = lifecycle(&state)?.runner.clone();
    let request = plughub_runner::ExecutionRequest {
        group,
        plugin,
        agent: body.agent.unwrap_or_else(|| "default".into()),
        component,
        text: body.text,
        timeout: body.timeout.map(std::time::Duration::from_secs),
        stream: None,
        actor: caller.0.email.clone(),
    };
    if crate::live::wants_events(&headers) {
        let grant = caller.grant(&state, request.group.clone(), Action::Run);
        return Ok(crate::live::run_streamed(runner, request, grant).into_response());
    }
    // In a task of its own: a client that leaves does not cut the execution short, which would leave
    // it unrecorded and its request outstanding on the warm worker.
    let ran = tokio::spawn(async move { runner.execute(request).await })
        .await
        .map_err(|e| ApiError::internal(&e))??;
    Ok(Json(ran).into_response())
}
