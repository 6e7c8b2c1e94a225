//! The platform's administration, for platform owners: organisations and their plans, people and their
//! roles, every API token, and catalogue syncs. Everyone else is refused (403), whatever their roles in
//! organisations. The command line (`plughub admin …`) calls the same functions of plughub_accounts.

use crate::auth::Caller;
use crate::catalog_sync::SyncState;
use crate::error::{ApiError, ApiResult};
use crate::handlers::me::{CreatedToken, TokenList, TokenView, revoked};
use crate::json::ApiJson;
use crate::openapi::{Conflict, JsonBody, NotFound, Platform, Unavailable};
use crate::params::{OrgPath, PersonRolePath, TokenPath};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plughub_domain::access::{Action, Denial};
use plughub_domain::{Plan, Role};
use serde::{Deserialize, Serialize};

/// The caller may do `action` on the platform (a platform owner), or is refused with 403.
pub(crate) fn platform(caller: &Caller, action: Action) -> Result<(), ApiError> {
    match caller.0.may(action, None) {
        Ok(()) => Ok(()),
        Err(Denial::NotFound | Denial::Forbidden { .. }) => Err(ApiError {
            details: serde_json::json!({ "role": null, "action": action }),
            ..ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "only a platform owner may do this",
            )
        }),
    }
}

/// An organisation as the platform sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrgSummary {
    pub name: String,
    pub plan: Plan,
    /// The organisation it is a sub-group of, by id.
    pub parent_id: Option<String>,
    pub created_at: String,
    /// People with a role in it.
    pub members: i64,
    /// Plugins installed in it.
    pub plugins: i64,
}

impl From<plughub_store::GroupSummary> for OrgSummary {
    fn from(g: plughub_store::GroupSummary) -> OrgSummary {
        OrgSummary {
            name: g.name,
            plan: g.plan,
            parent_id: g.parent_id,
            created_at: g.created_at,
            members: g.members,
            plugins: g.plugins,
        }
    }
}

/// Every organisation, the platform's own group included.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrgList {
    pub orgs: Vec<OrgSummary>,
}

async fn summary_of(state: &AppState, name: &str) -> ApiResult<OrgSummary> {
    state
        .accounts
        .orgs()
        .await?
        .into_iter()
        .find(|g| g.name == name)
        .map(OrgSummary::from)
        .ok_or_else(|| plughub_accounts::AccountError::UnknownOrg(name.to_string()).into())
}

/// `GET /api/admin/orgs`.
#[utoipa::path(
    get,
    path = "/api/admin/orgs",
    tag = "admin",
    operation_id = "admin_orgs",
    summary = "Every organisation, with its plan, members and installed plugins counted",
    responses(
        (status = 200, description = "The organisations, by name", body = OrgList),
        Platform,
    )
)]
pub async fn orgs(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<OrgList>> {
    platform(&caller, Action::ManageOrganisations)?;
    let orgs = state.accounts.orgs().await?;
    Ok(Json(OrgList {
        orgs: orgs.into_iter().map(OrgSummary::from).collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "globex", "plan": "pro" }))]
pub struct NewOrg {
    /// 1 to 64 letters, digits, `-`, `_` or `.`.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub name: String,
    pub plan: Plan,
    /// The organisation to make it a sub-group of, by name.
    pub parent: Option<String>,
}

/// `POST /api/admin/orgs`.
#[utoipa::path(
    post,
    path = "/api/admin/orgs",
    tag = "admin",
    operation_id = "admin_create_org",
    summary = "Create an organisation",
    request_body = NewOrg,
    responses(
        (status = 201, description = "Created", body = OrgSummary),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        Platform,
        JsonBody,
    )
)]
pub async fn create_org(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewOrg>,
) -> ApiResult<(StatusCode, Json<OrgSummary>)> {
    platform(&caller, Action::ManageOrganisations)?;
    let group = state
        .accounts
        .create_org(
            &body.name,
            body.plan,
            body.parent.as_deref(),
            &caller.0.email,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(summary_of(&state, &group.name).await?),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "plan": "enterprise" }))]
pub struct PlanChange {
    pub plan: Plan,
}

/// `PUT /api/admin/orgs/{org}/plan`: quotas and resource tiers change from the organisation's next
/// execution on (on other servers sharing the store within seconds).
#[utoipa::path(
    put,
    path = "/api/admin/orgs/{org}/plan",
    tag = "admin",
    operation_id = "admin_set_plan",
    summary = "Change an organisation's plan",
    params(OrgPath),
    request_body = PlanChange,
    responses(
        (status = 200, description = "Changed", body = OrgSummary),
        (status = 404, response = NotFound),
        Platform,
        JsonBody,
    )
)]
pub async fn set_plan(
    State(state): State<AppState>,
    caller: Caller,
    Path(OrgPath { org }): Path<OrgPath>,
    ApiJson(body): ApiJson<PlanChange>,
) -> ApiResult<Json<OrgSummary>> {
    platform(&caller, Action::ManageOrganisations)?;
    let group = state
        .accounts
        .set_plan(&org, body.plan, &caller.0.email)
        .await?;
    Ok(Json(summary_of(&state, &group.name).await?))
}

/// One role of a person.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoleIn {
    pub org: String,
    pub role: Role,
}

/// A person as the platform sees them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonView {
    pub email: String,
    pub display_name: String,
    pub created_at: String,
    /// Whether they can log in with a password.
    pub has_password: bool,
    pub roles: Vec<RoleIn>,
}

impl From<plughub_accounts::PersonWithRoles> for PersonView {
    fn from(p: plughub_accounts::PersonWithRoles) -> PersonView {
        PersonView {
            has_password: p.person.password_hash.is_some(),
            email: p.person.email,
            display_name: p.person.display_name,
            created_at: p.person.created_at,
            roles: p
                .roles
                .into_iter()
                .map(|m| RoleIn {
                    org: m.group,
                    role: m.role,
                })
                .collect(),
        }
    }
}

/// Every person.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PeopleList {
    pub people: Vec<PersonView>,
}

async fn person_view(state: &AppState, email: &str) -> ApiResult<PersonView> {
    let email = email.trim().to_ascii_lowercase();
    state
        .accounts
        .people()
        .await?
        .into_iter()
        .find(|p| p.person.email == email)
        .map(PersonView::from)
        .ok_or_else(|| plughub_accounts::AccountError::UnknownPerson(email).into())
}

/// `GET /api/admin/people`.
#[utoipa::path(
    get,
    path = "/api/admin/people",
    tag = "admin",
    operation_id = "admin_people",
    summary = "Every person, with their roles in each organisation",
    responses(
        (status = 200, description = "The people, by email", body = PeopleList),
        Platform,
    )
)]
pub async fn people(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<PeopleList>> {
    platform(&caller, Action::ManageOrganisations)?;
    let people = state.accounts.people().await?;
    Ok(Json(PeopleList {
        people: people.into_iter().map(PersonView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "email": "bo@acme.test", "display_name": "Bo" }))]
pub struct NewPerson {
    /// Letters, digits and `._%+-` before the `@`, a domain with a dot.
    #[schema(
        pattern = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
        max_length = 254
    )]
    pub email: String,
    /// The name shown; the part of the email before `@` when left out.
    #[schema(max_length = 200)]
    pub display_name: Option<String>,
    /// At least 12 characters; one is made (and shown once) when left out.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: Option<String>,
}

/// A person just made, with the password made for them when none was given (shown this once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedPerson {
    #[serde(flatten)]
    pub person: PersonView,
    /// The password made for them; `null` when one was given. Shown this once.
    pub password: Option<String>,
}

/// `POST /api/admin/people`.
#[utoipa::path(
    post,
    path = "/api/admin/people",
    tag = "admin",
    operation_id = "admin_create_person",
    summary = "Create a person (a password is made and shown once when none is given)",
    request_body = NewPerson,
    responses(
        (status = 201, description = "Created", body = CreatedPerson),
        (status = 409, response = Conflict),
        Platform,
        JsonBody,
    )
)]
pub async fn create_person(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewPerson>,
) -> ApiResult<(StatusCode, Json<CreatedPerson>)> {
    platform(&caller, Action::ManageOrganisations)?;
    let created = state
        .accounts
        .create_person_with_password(
            &body.email,
            body.display_name.as_deref().unwrap_or_default(),
            body.password.as_deref(),
            &caller.0.email,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedPerson {
            person: person_view(&state, &created.person.email).await?,
            password: created.made_password,
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "role": "org_owner" }))]
pub struct RoleGiven {
    /// platform_owner in `platform` only; org_owner, org_user or customer in an organisation.
    pub role: Role,
}

/// `PUT /api/admin/people/{email}/roles/{org}`: gives the role, or changes the one held there.
#[utoipa::path(
    put,
    path = "/api/admin/people/{email}/roles/{org}",
    tag = "admin",
    operation_id = "admin_set_role",
    summary = "Give a person a role in an organisation (never demoting its last owner)",
    params(PersonRolePath),
    request_body = RoleGiven,
    responses(
        (status = 200, description = "Given: the person now", body = PersonView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        Platform,
        JsonBody,
    )
)]
pub async fn set_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(PersonRolePath { email, org }): Path<PersonRolePath>,
    ApiJson(body): ApiJson<RoleGiven>,
) -> ApiResult<Json<PersonView>> {
    platform(&caller, Action::ManageOrganisations)?;
    state
        .accounts
        .set_role(&email, &org, body.role, &caller.0.email)
        .await
        .map_err(unknown_person)?;
    Ok(Json(person_view(&state, &email).await?))
}

/// `DELETE /api/admin/people/{email}/roles/{org}`.
#[utoipa::path(
    delete,
    path = "/api/admin/people/{email}/roles/{org}",
    tag = "admin",
    operation_id = "admin_remove_role",
    summary = "Take a person's role in an organisation away (never its last owner's)",
    params(PersonRolePath),
    responses(
        (status = 200, description = "Taken away: the person now", body = PersonView),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        Platform,
    )
)]
pub async fn remove_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(PersonRolePath { email, org }): Path<PersonRolePath>,
) -> ApiResult<Json<PersonView>> {
    platform(&caller, Action::ManageOrganisations)?;
    state
        .accounts
        .remove_member(&email, &org, &caller.0.email)
        .await
        .map_err(unknown_person)?;
    Ok(Json(person_view(&state, &email).await?))
}

/// A path's email that is not an email names nobody: not found, as an unknown one.
fn unknown_person(e: plughub_accounts::AccountError) -> ApiError {
    use plughub_accounts::AccountError as E;
    match e {
        E::BadEmail(email) => E::UnknownPerson(email).into(),
        e => e.into(),
    }
}

/// `GET /api/admin/tokens`.
#[utoipa::path(
    get,
    path = "/api/admin/tokens",
    tag = "admin",
    operation_id = "admin_tokens",
    summary = "Every person's API tokens (never their secrets)",
    responses(
        (status = 200, description = "Every token, oldest first", body = TokenList),
        Platform,
    )
)]
pub async fn tokens(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<TokenList>> {
    platform(&caller, Action::ManageOrganisations)?;
    let tokens = state.accounts.all_tokens().await?;
    Ok(Json(TokenList {
        tokens: tokens
            .into_iter()
            .map(|(t, email)| TokenView::of(t, email))
            .collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "email": "ada@acme.test", "name": "ci", "days": 90 }))]
pub struct NewTokenFor {
    /// Whose token it is.
    #[schema(
        pattern = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
        max_length = 254
    )]
    pub email: String,
    /// What it is for, shown in lists.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Days until it expires.
    #[serde(deserialize_with = "crate::integers::required")]
    #[schema(minimum = 1, maximum = 365)]
    pub days: u32,
}

/// `POST /api/admin/tokens`.
#[utoipa::path(
    post,
    path = "/api/admin/tokens",
    tag = "admin",
    operation_id = "admin_create_token",
    summary = "Make a person an API token; its secret is shown once",
    request_body = NewTokenFor,
    responses(
        (status = 201, description = "Made, with its secret (shown this once)", body = CreatedToken),
        (status = 404, response = NotFound),
        Platform,
        JsonBody,
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewTokenFor>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    platform(&caller, Action::ManageOrganisations)?;
    let (token, secret) = state
        .accounts
        .create_token(&body.email, &body.name, body.days, &caller.0.email)
        .await?;
    let email = body.email.trim().to_ascii_lowercase();
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: TokenView::of(token, email),
            secret,
        }),
    ))
}

/// `DELETE /api/admin/tokens/{id}`.
#[utoipa::path(
    delete,
    path = "/api/admin/tokens/{id}",
    tag = "admin",
    operation_id = "admin_revoke_token",
    summary = "Revoke anyone's API token",
    params(TokenPath),
    responses(
        (status = 200, description = "Revoked", body = TokenView),
        (status = 404, response = NotFound),
        Platform,
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(TokenPath { id }): Path<TokenPath>,
) -> ApiResult<Json<TokenView>> {
    platform(&caller, Action::ManageOrganisations)?;
    state.accounts.revoke_token(&id, &caller.0.email).await?;
    let token = revoked(&state, &id).await?;
    let email = state
        .catalog
        .store()
        .person(&token.person_id)
        .await?
        .map(|p| p.email)
        .unwrap_or_default();
    Ok(Json(TokenView::of(token, email)))
}

/// `POST /api/admin/catalog/sync`: in the background; `GET /api/catalog/status` follows it.
#[utoipa::path(
    post,
    path = "/api/admin/catalog/sync",
    tag = "admin",
    operation_id = "admin_sync_catalog",
    summary = "Start a catalogue sync in the background",
    responses(
        (status = 202, description = "Started: GET /api/catalog/status says when it ends and what it read", body = SyncState),
        (status = 409, response = Conflict),
        (status = 503, response = Unavailable),
        Platform,
    )
)]
pub async fn sync_catalog(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<(StatusCode, Json<SyncState>)> {
    platform(&caller, Action::ModerateCatalogue)?;
    let started = state
        .catalog_syncs
        .start(state.catalog.clone(), &caller.0.email)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(started)))
}
