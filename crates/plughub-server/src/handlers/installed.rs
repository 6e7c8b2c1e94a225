//! Changing an organisation's installed plugins: install (from a registry), configure, grant and revoke
//! permissions, uninstall. Each checks the caller's role in the organisation first, and records the
//! caller as the actor of its events. A plugin's name goes in the path percent-encoded
//! (`@acme%2Fplugin-x`).

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::openapi::{Conflict, InOrg, JsonBody, PluginFailed, Plugins, Unprocessable};
use crate::params::{OrgPath, PluginPath};
use crate::state::{AppState, Lifecycle};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use plughub_domain::CoreMajor;
use plughub_domain::access::Action;
use plughub_domain::lifecycle::State as InstanceState;
use plughub_domain::permissions::{Permission, Permissions};
use plughub_install::PackageSpec;
use plughub_lifecycle::{ConfigView, InstallOptions, InstanceRecord, PermissionsView};
use plughub_runner::Outcome;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AllOf, ObjectBuilder, OneOf, Schema, Type};

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
#[schema(example = json!({ "plugin": "@elizaos/plugin-bootstrap", "grant": true }))]
pub struct Install {
    /// A registry name, with a version, range or tag if wanted: `@elizaos/plugin-openai@^1`, or a name
    /// the catalogue resolves (`openai@^1`) as `GET /api/plugins/{name}` does. Folders and tarballs on
    /// the server's disk are for its command line.
    #[schema(
        pattern = r"^(@[A-Za-z0-9._~-]{1,100}/)?[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,100}(@[^@]{1,100})?$"
    )]
    pub plugin: String,
    /// The core major to pick the newest version for; updates stay on it.
    pub core: Option<CoreMajor>,
    /// Grant the permissions it asks for (needs the right to grant).
    #[serde(default)]
    pub grant: bool,
    /// Install the name as written, although the catalogue does not hold it and its package.json does
    /// not look like an elizaOS plugin's (a private plugin); without it such a name answers 422
    /// `not_a_plugin`.
    #[serde(default)]
    pub not_in_catalogue: bool,
}

/// What the API shows of an installed plugin: never its settings' sealed values.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstanceSummary {
    pub plugin: String,
    pub version: String,
    pub state: InstanceState,
    /// The registry's integrity of the package installed; none for a local folder.
    pub integrity: Option<String>,
    /// The static analysis's score, 0 to 100.
    pub risk_score: Option<u32>,
    pub permissions: PermissionSummary,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PermissionSummary {
    pub requested: Permissions,
    pub granted: Permissions,
    /// Requested and not granted: it does not run until this is empty.
    pub missing: Permissions,
}

impl InstanceSummary {
    pub(crate) fn of(record: &InstanceRecord) -> InstanceSummary {
        InstanceSummary {
            plugin: record.plugin.clone(),
            version: record.version().to_string(),
            state: record.state,
            integrity: record.current.integrity.clone(),
            risk_score: record.current.risk_score,
            permissions: PermissionSummary {
                requested: record.current.requested.clone(),
                granted: record.granted.clone(),
                missing: record.ungranted(),
            },
        }
    }
}

/// `POST /api/orgs/{org}/plugins`.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/plugins",
    tag = "plugins",
    operation_id = "install_plugin",
    summary = "Install a plugin from the registry",
    params(OrgPath),
    request_body = Install,
    responses(
        (status = 201, description = "Installed (with the plugins it depends on)", body = InstanceSummary),
        (status = 409, response = Conflict),
        InOrg,
        JsonBody,
        Plugins,
    )
)]
pub async fn install(
    State(state): State<AppState>,
    caller: Caller,
    Path(OrgPath { org }): Path<OrgPath>,
    ApiJson(body): ApiJson<Install>,
) -> ApiResult<(StatusCode, Json<InstanceSummary>)> {
    let group = caller
        .group_for(&state, &org, Action::ManagePlugins)
        .await?;
    if body.grant {
        caller.authorize(&group, Action::Grant)?;
    }
    let options = InstallOptions {
        core: body.core,
        accept_risk_by: None,
        actor: caller.0.email.clone(),
        grant: body.grant,
        not_in_catalogue: body.not_in_catalogue,
    };
    let installed = lifecycle(&state)?
        .runner
        .installer()
        .install_package(&group.name, &registry_spec(&body.plugin), &options)
        .await;
    state.metrics.install("install", &installed, |_| "ok");
    Ok((StatusCode::CREATED, Json(InstanceSummary::of(&installed?))))
}

/// The registry package `spec` names (`name`, `name@version`, `@scope/name@range`), as the pattern of
/// `Install::plugin` admits it: built here, never read as a folder or tarball on the server's disk.
fn registry_spec(spec: &str) -> PackageSpec {
    // Past a scope's leading `@`, the only `@` is the version's.
    let (name, wanted) = match spec[1.min(spec.len())..].find('@') {
        Some(i) => (&spec[..i + 1], Some(spec[i + 2..].to_string())),
        None => (spec, None),
    };
    PackageSpec::Npm {
        name: name.to_string(),
        wanted,
    }
}

/// What an uninstall removed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Uninstalled {
    /// The package folders no installed plugin uses any more, collected from this server's package
    /// store (the plugin's, and those of plugins only it needed).
    pub uninstalled: Vec<String>,
}

/// `DELETE /api/orgs/{org}/plugins/{plugin}`: what was uninstalled (with plugins only it needed).
#[utoipa::path(
    delete,
    path = "/api/orgs/{org}/plugins/{plugin}",
    tag = "plugins",
    operation_id = "uninstall_plugin",
    summary = "Uninstall a plugin",
    params(PluginPath),
    responses(
        (status = 200, description = "Uninstalled", body = Uninstalled),
        (status = 409, response = Conflict),
        InOrg,
        Plugins,
    )
)]
pub async fn uninstall(
    State(state): State<AppState>,
    caller: Caller,
    Path(PluginPath { org, plugin }): Path<PluginPath>,
) -> ApiResult<Json<Uninstalled>> {
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
    Ok(Json(Uninstalled {
        uninstalled: removed,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "settings": { "OPENAI_API_KEY": "sk-…" } }))]
pub struct Configure {
    /// Setting name → value, as text; checked against the settings the plugin declares.
    pub settings: BTreeMap<String, String>,
}

/// `PUT /api/orgs/{org}/plugins/{plugin}/config`: secrets are sealed and never shown back.
#[utoipa::path(
    put,
    path = "/api/orgs/{org}/plugins/{plugin}/config",
    tag = "plugins",
    operation_id = "configure_plugin",
    summary = "Set a plugin's settings (secrets sealed, never shown back)",
    params(PluginPath),
    request_body = Configure,
    responses(
        (status = 200, description = "Its settings now: values of ordinary ones, names of secrets", body = ConfigView),
        (status = 409, response = Conflict),
        InOrg,
        JsonBody,
        Plugins,
    )
)]
pub async fn configure(
    State(state): State<AppState>,
    caller: Caller,
    Path(PluginPath { org, plugin }): Path<PluginPath>,
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
    operation_id = "plugin_permissions",
    summary = "What a plugin asks for, what is granted, what is missing",
    params(PluginPath),
    responses(
        (status = 200, description = "Its permissions", body = PermissionsView),
        InOrg,
        Plugins,
    )
)]
pub async fn permissions(
    State(state): State<AppState>,
    caller: Caller,
    Path(PluginPath { org, plugin }): Path<PluginPath>,
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

/// The permissions granted without an argument; the network, secrets and programs are granted by naming
/// the domains, the secrets and the programs.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
pub enum Grantable {
    #[serde(rename = "storage.read")]
    StorageRead,
    #[serde(rename = "storage.write")]
    StorageWrite,
    #[serde(rename = "events.publish")]
    EventsPublish,
    #[serde(rename = "knowledge.query")]
    KnowledgeQuery,
    /// Lifts Node's addon gate for the plugin; its OS sandbox stays.
    #[serde(rename = "native.addons")]
    NativeAddons,
}

impl From<Grantable> for Permission {
    fn from(g: Grantable) -> Permission {
        match g {
            Grantable::StorageRead => Permission::StorageRead,
            Grantable::StorageWrite => Permission::StorageWrite,
            Grantable::EventsPublish => Permission::EventsPublish,
            Grantable::KnowledgeQuery => Permission::KnowledgeQuery,
            Grantable::NativeAddons => Permission::NativeAddons,
        }
    }
}

/// Permissions named in a grant; none named means all it asks for.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "domains": ["api.openai.com"], "secrets": ["OPENAI_API_KEY"] }))]
pub struct Named {
    /// Domains it may reach (`*.example.com` covers the subdomains).
    #[serde(default)]
    #[schema(inline, value_type = Vec<DomainName>)]
    pub domains: Vec<String>,
    /// Secret settings `getSetting` may give it.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Programs it may execute (process.spawn): names found on the server's PATH or absolute paths,
    /// each fixed to its real path when granted.
    #[serde(default)]
    #[schema(inline, value_type = Vec<ProgramName>)]
    pub programs: Vec<String>,
    #[serde(default)]
    pub permissions: Vec<Grantable>,
}

/// A program: a file name (`chromium`) or an absolute path (`/usr/lib/chromium/chromium`).
#[derive(utoipa::ToSchema)]
#[schema(pattern = r"^(/[^/]+)+$|^[A-Za-z0-9._+-]{1,255}$")]
#[allow(dead_code)]
pub struct ProgramName(String);

/// A domain name (`api.example.com`, `*.example.com`) or `localhost`.
#[derive(utoipa::ToSchema)]
#[schema(
    pattern = r"^(\*\.)?([A-Za-z0-9-]{1,63}\.)+[A-Za-z][A-Za-z0-9-]{0,62}$|^localhost$",
    max_length = 253
)]
#[allow(dead_code)]
pub struct DomainName(String);

impl Named {
    fn set(&self) -> Result<Option<Permissions>, ApiError> {
        let invalid = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m);
        let mut set = Permissions::default();
        set.add_domains(self.domains.iter().cloned())
            .map_err(|e| invalid(e.to_string()))?;
        set.add_secrets(self.secrets.iter().cloned());
        set.add_programs(self.programs.iter().cloned())
            .map_err(|e| invalid(e.to_string()))?;
        for permission in &self.permissions {
            set.add(Permission::from(*permission));
        }
        Ok((!set.is_empty()).then_some(set))
    }
}

/// `POST /api/orgs/{org}/plugins/{plugin}/permissions`: grants what it asks for, or what is named.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/plugins/{plugin}/permissions",
    tag = "permissions",
    operation_id = "grant_permissions",
    summary = "Grant what it asks for, or what is named",
    params(PluginPath),
    request_body = Named,
    responses(
        (status = 200, description = "Its permissions now", body = PermissionsView),
        (status = 409, response = Conflict),
        // A program named that cannot be granted (not on this machine, not executable, a script).
        (status = 422, response = Unprocessable),
        InOrg,
        JsonBody,
        Plugins,
    )
)]
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(PluginPath { org, plugin }): Path<PluginPath>,
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
    operation_id = "revoke_permissions",
    summary = "Take back everything granted",
    params(PluginPath),
    responses(
        (status = 200, description = "Its permissions now", body = PermissionsView),
        (status = 409, response = Conflict),
        InOrg,
        Plugins,
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(PluginPath { org, plugin }): Path<PluginPath>,
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
#[schema(example = json!({ "action": "NONE", "text": "hi" }))]
pub struct Run {
    // Not null when given: exactly one of the three is given, which null would make unclear.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    pub action: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    pub provider: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    pub evaluator: Option<String>,
    /// The message.
    #[serde(default)]
    pub text: String,
    /// The agent it runs for (`default` when not given).
    pub agent: Option<String>,
    /// Seconds, within the plan's bounds (shorter or longer is taken as the nearest bound).
    #[schema(format = Int64, maximum = 4294967295_u64)]
    #[serde(default, deserialize_with = "crate::integers::optional")]
    pub timeout: Option<u32>,
}

/// A string field that may be left out, and is not null when given.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    String::deserialize(deserializer).map(Some)
}

impl Run {
    /// The document's `Run`: its fields, and exactly one of `action`, `provider` or `evaluator` given
    /// (and not null), as the handler checks.
    pub(crate) fn exactly_one(fields: RefOr<Schema>) -> RefOr<Schema> {
        let one = |name: &str| -> Schema {
            ObjectBuilder::new()
                .required(name)
                .property(name, ObjectBuilder::new().schema_type(Type::String))
                .into()
        };
        let branches: OneOf = OneOf::builder()
            .item(one("action"))
            .item(one("provider"))
            .item(one("evaluator"))
            .build();
        let mut all = AllOf::new();
        all.items = vec![fields, Schema::OneOf(branches).into()];
        Schema::AllOf(all).into()
    }

    fn component(&self) -> Option<plughub_runner::Component> {
        match (&self.action, &self.provider, &self.evaluator) {
            (Some(a), None, None) => Some(plughub_runner::Component::Action(a.clone())),
            (None, Some(p), None) => Some(plughub_runner::Component::Provider(p.clone())),
            (None, None, Some(e)) => Some(plughub_runner::Component::Evaluator(e.clone())),
            _ => None,
        }
    }
}

/// `POST /api/orgs/{org}/plugins/{plugin}/run`: the component's answer and its callbacks, recorded as
/// an execution by the caller.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/plugins/{plugin}/run",
    tag = "runs",
    operation_id = "run_plugin",
    summary = "Run an action, provider or evaluator on a message",
    description = "Recorded as an execution, whatever its outcome. With `Accept: text/event-stream`, the \
                   answer is an event stream instead: a `callback` event for each callback as the action \
                   sends it, `log` events (a line of the worker's log each, as it is logged), then one `result` event (the `Outcome`) or one `error` event (an `ErrorBody`).",
    params(PluginPath),
    request_body = Run,
    responses(
        (status = 200, description = "What it answered, with its callbacks",
         content((Outcome = "application/json"), (String = "text/event-stream"))),
        (status = 409, response = Conflict),
        (status = 502, response = PluginFailed),
        InOrg,
        JsonBody,
        Plugins,
    )
)]
pub async fn run(
    State(state): State<AppState>,
    caller: Caller,
    Path(PluginPath { org, plugin }): Path<PluginPath>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Run>,
) -> ApiResult<Response> {
    let group = caller.group_for(&state, &org, Action::Run).await?;
    let Some(component) = body.component() else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "name exactly one of `action`, `provider` or `evaluator`",
        ));
    };
    let runner = lifecycle(&state)?.runner.clone();
    let request = plughub_runner::ExecutionRequest {
        group,
        plugin,
        agent: body.agent.unwrap_or_else(|| "default".into()),
        component,
        text: body.text,
        timeout: body
            .timeout
            .map(|s| std::time::Duration::from_secs(s.into())),
        stream: None,
        log_stream: None,
        actor: caller.0.email.clone(),
        caller: None,
    };
    if crate::live::wants_events(&headers) {
        let grant = caller.grant(&state, request.group.clone(), Action::Run);
        return Ok(crate::live::run_streamed(runner, request, grant).into_response());
    }
    // In a task of its own: a client that leaves does not cut the execution short, which would leave
    // it unrecorded and its request outstanding on the warm worker.
    // Its log lines keep the request's id.
    let ran: Outcome = tokio::spawn(tracing::Instrument::in_current_span(async move {
        runner.execute(request).await
    }))
    .await
    .map_err(|e| ApiError::internal(&e))??;
    Ok(Json(ran).into_response())
}
