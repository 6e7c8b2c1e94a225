//! An organisation's members and invitations: who is in it with which role, changes to that (an
//! org_owner's), and invitations made, listed, withdrawn, read and accepted.

use crate::auth::{Caller, session_cookies};
use crate::error::{ApiError, ApiResult};
use crate::handlers::account::with_session_cookie;
use crate::json::ApiJson;
use crate::openapi::{
    Conflict, Forbidden, Gone, InOrg, JsonBody, NotFound, Public, SignedIn, Unprocessable,
};
use crate::params::{InvitationPath, MemberPath, OrgPath, SecretPath};
use crate::state::AppState;
use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use plughub_domain::Role;
use plughub_domain::access::Action;
use plughub_store::InvitationRecord;
use serde::{Deserialize, Serialize};

/// A role in an organisation, as its owners give it (platform owners are made by the platform).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    OrgOwner,
    OrgUser,
    Customer,
}

impl From<OrgRole> for Role {
    fn from(role: OrgRole) -> Role {
        match role {
            OrgRole::OrgOwner => Role::OrgOwner,
            OrgRole::OrgUser => Role::OrgUser,
            OrgRole::Customer => Role::Customer,
        }
    }
}

/// One member of an organisation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// When they got the role they hold (RFC 3339).
    pub since: String,
}

/// An organisation's members.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberList {
    pub org: String,
    pub members: Vec<Member>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "role": "org_user" }))]
pub struct RoleChange {
    pub role: OrgRole,
}

/// `GET /api/orgs/{org}/members`.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/members",
    tag = "members",
    operation_id = "list_members",
    summary = "The organisation's members and their roles",
    params(OrgPath),
    responses(
        (status = 200, description = "Its members, by email", body = MemberList),
        InOrg,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(OrgPath { org }): Path<OrgPath>,
) -> ApiResult<Json<MemberList>> {
    let group = caller.group_for(&state, &org, Action::ViewGroup).await?;
    let members = state.accounts.members(&group).await?;
    Ok(Json(member_list(group.name, members)))
}

fn member_list(org: String, members: Vec<plughub_store::MemberRecord>) -> MemberList {
    MemberList {
        org,
        members: members.into_iter().map(Member::from).collect(),
    }
}

impl From<plughub_store::MemberRecord> for Member {
    fn from(m: plughub_store::MemberRecord) -> Member {
        Member {
            email: m.email,
            display_name: m.display_name,
            role: m.role,
            since: m.since,
        }
    }
}

/// `PUT /api/orgs/{org}/members/{email}`: a member's new role. The last org_owner keeps theirs.
#[utoipa::path(
    put,
    path = "/api/orgs/{org}/members/{email}",
    tag = "members",
    operation_id = "change_member",
    summary = "Change a member's role (never the last org_owner's)",
    params(MemberPath),
    request_body = RoleChange,
    responses(
        (status = 200, description = "Changed: the members now", body = MemberList),
        (status = 409, response = Conflict),
        InOrg,
        JsonBody,
    )
)]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    Path(MemberPath { org, email }): Path<MemberPath>,
    ApiJson(body): ApiJson<RoleChange>,
) -> ApiResult<Json<MemberList>> {
    let group = caller
        .group_for(&state, &org, Action::ManageMembers)
        .await?;
    state
        .accounts
        .change_role(&email, &group.name, body.role.into(), &caller.0.email)
        .await
        .map_err(not_a_member(&email, &group.name))?;
    let members = state.accounts.members(&group).await?;
    Ok(Json(member_list(group.name, members)))
}

/// `DELETE /api/orgs/{org}/members/{email}`: takes a member's role away (never the last org_owner's).
#[utoipa::path(
    delete,
    path = "/api/orgs/{org}/members/{email}",
    tag = "members",
    operation_id = "remove_member",
    summary = "Remove a member (never the last org_owner)",
    params(MemberPath),
    responses(
        (status = 200, description = "Removed: the members now", body = MemberList),
        (status = 409, response = Conflict),
        InOrg,
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(MemberPath { org, email }): Path<MemberPath>,
) -> ApiResult<Json<MemberList>> {
    let group = caller
        .group_for(&state, &org, Action::ManageMembers)
        .await?;
    state
        .accounts
        .remove_member(&email, &group.name, &caller.0.email)
        .await
        .map_err(not_a_member(&email, &group.name))?;
    let members = state.accounts.members(&group).await?;
    Ok(Json(member_list(group.name, members)))
}

/// Inside an organisation, an email with no person (or not a usable email) is not a member of it: the
/// members' operations do not tell who has an account elsewhere.
fn not_a_member(email: &str, org: &str) -> impl FnOnce(plughub_accounts::AccountError) -> ApiError {
    let (email, org) = (email.to_string(), org.to_string());
    move |e| {
        use plughub_accounts::AccountError as E;
        match e {
            E::UnknownPerson(_) | E::BadEmail(_) => E::NotMember { email, org }.into(),
            e => e.into(),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "role": "org_user", "email": "bo@acme.test", "days": 7 }))]
pub struct NewInvitation {
    pub role: OrgRole,
    /// Whom it is for: only they may accept it. Anyone with the link when left out. Letters, digits and
    /// `._%+-` before the `@`, a domain with a dot.
    #[schema(
        pattern = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
        max_length = 254
    )]
    pub email: Option<String>,
    /// How long it is open, in days (7 when left out).
    #[serde(default, deserialize_with = "crate::integers::optional")]
    #[schema(minimum = 1, maximum = 30, default = 7)]
    pub days: Option<u32>,
}

/// An invitation just made, with its link (shown this once: only its hash is kept).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedInvitation {
    pub id: String,
    pub org: String,
    pub role: Role,
    pub email: Option<String>,
    /// RFC 3339.
    pub expires_at: String,
    /// The path to give the invitee: `/invitations/{secret}`. Shown this once.
    #[schema(example = "/invitations/phi_…")]
    pub link: String,
}

/// An open invitation, without its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub id: String,
    pub role: Role,
    /// Whom it is for; anyone with the link when `null`.
    pub email: Option<String>,
    /// Who made it.
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
}

impl From<InvitationRecord> for Invitation {
    fn from(i: InvitationRecord) -> Invitation {
        Invitation {
            id: i.id,
            role: i.role,
            email: i.email,
            created_by: i.created_by,
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

/// An organisation's open invitations.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationList {
    pub org: String,
    pub invitations: Vec<Invitation>,
}

/// `POST /api/orgs/{org}/invitations`.
#[utoipa::path(
    post,
    path = "/api/orgs/{org}/invitations",
    tag = "members",
    operation_id = "create_invitation",
    summary = "Invite someone to the organisation with a role; the link is shown once",
    params(OrgPath),
    request_body = NewInvitation,
    responses(
        (status = 201, description = "Made: its link, shown this once", body = CreatedInvitation),
        InOrg,
        JsonBody,
    )
)]
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    Path(OrgPath { org }): Path<OrgPath>,
    ApiJson(body): ApiJson<NewInvitation>,
) -> ApiResult<(StatusCode, Json<CreatedInvitation>)> {
    let group = caller
        .group_for(&state, &org, Action::ManageMembers)
        .await?;
    let days = body
        .days
        .unwrap_or(plughub_accounts::INVITATION_DEFAULT_DAYS);
    let (invitation, secret) = state
        .accounts
        .invite(
            &group,
            body.role.into(),
            body.email.as_deref(),
            days,
            &caller.0.email,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedInvitation {
            id: invitation.id,
            org: invitation.group,
            role: invitation.role,
            email: invitation.email,
            expires_at: invitation.expires_at,
            link: format!("/invitations/{secret}"),
        }),
    ))
}

/// `GET /api/orgs/{org}/invitations`: the open ones (not accepted, withdrawn or expired).
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/invitations",
    tag = "members",
    operation_id = "list_invitations",
    summary = "The organisation's open invitations (never their links)",
    params(OrgPath),
    responses(
        (status = 200, description = "Its open invitations, oldest first", body = InvitationList),
        InOrg,
    )
)]
pub async fn invitations(
    State(state): State<AppState>,
    caller: Caller,
    Path(OrgPath { org }): Path<OrgPath>,
) -> ApiResult<Json<InvitationList>> {
    let group = caller
        .group_for(&state, &org, Action::ManageMembers)
        .await?;
    let invitations = state.accounts.open_invitations(&group).await?;
    Ok(Json(InvitationList {
        org: group.name,
        invitations: invitations.into_iter().map(Invitation::from).collect(),
    }))
}

/// `DELETE /api/orgs/{org}/invitations/{id}`: the link admits nobody from now on.
#[utoipa::path(
    delete,
    path = "/api/orgs/{org}/invitations/{id}",
    tag = "members",
    operation_id = "withdraw_invitation",
    summary = "Withdraw an open invitation",
    params(InvitationPath),
    responses(
        (status = 200, description = "Withdrawn: the open invitations now", body = InvitationList),
        InOrg,
    )
)]
pub async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path(InvitationPath { org, id }): Path<InvitationPath>,
) -> ApiResult<Json<InvitationList>> {
    let group = caller
        .group_for(&state, &org, Action::ManageMembers)
        .await?;
    state
        .accounts
        .withdraw_invitation(&group, &id, &caller.0.email)
        .await?;
    let invitations = state.accounts.open_invitations(&group).await?;
    Ok(Json(InvitationList {
        org: group.name,
        invitations: invitations.into_iter().map(Invitation::from).collect(),
    }))
}

/// What an invitation's link offers, to whoever holds it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationOffer {
    pub org: String,
    pub role: Role,
    pub expires_at: String,
    /// Whom it is for; anyone with the link when `null`.
    pub email: Option<String>,
}

/// `GET /api/invitations/{secret}`: public; the link is the proof.
#[utoipa::path(
    get,
    path = "/api/invitations/{secret}",
    tag = "members",
    operation_id = "show_invitation",
    summary = "What an invitation's link offers (no sign-in needed)",
    params(SecretPath),
    security(()),
    responses(
        (status = 200, description = "The invitation, open", body = InvitationOffer),
        (status = 404, response = NotFound),
        (status = 410, response = Gone),
        Public,
    )
)]
pub async fn show_invitation(
    State(state): State<AppState>,
    Path(SecretPath { secret }): Path<SecretPath>,
) -> ApiResult<Json<InvitationOffer>> {
    let invitation = state.accounts.invitation(&secret).await?;
    Ok(Json(InvitationOffer {
        org: invitation.group,
        role: invitation.role,
        expires_at: invitation.expires_at,
        email: invitation.email,
    }))
}

/// Someone new accepting an invitation: the person to make, who is then signed in.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "email": "bo@acme.test", "password": "a long enough password", "display_name": "Bo" }))]
pub struct NewAccount {
    #[schema(
        pattern = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
        max_length = 254
    )]
    pub email: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
    /// The name shown; the part of the email before `@` when left out.
    #[schema(max_length = 200)]
    pub display_name: Option<String>,
}

/// An invitation accepted: who holds which role where now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationAccepted {
    pub org: String,
    pub role: Role,
    /// Who accepted it.
    pub email: String,
    /// Whether a person was made (and signed in with the session cookie).
    pub new_person: bool,
    /// When the new session ends (RFC 3339), when one began.
    pub session_expires_at: Option<String>,
}

/// `POST /api/invitations/{secret}/accept`: the caller, when signed in, takes the invitation's role;
/// otherwise the body makes them a person, who is signed in as a password login signs in.
#[utoipa::path(
    post,
    path = "/api/invitations/{secret}/accept",
    tag = "members",
    operation_id = "accept_invitation",
    summary = "Accept an invitation: signed in, or as someone new (email and password)",
    params(SecretPath),
    request_body(content = Option<NewAccount>, description = "For someone not signed in: the person to make. Signed-in callers send none."),
    security((), ("token" = []), ("session" = [])),
    responses(
        (status = 200, description = "Accepted; someone new is signed in with the session cookie", body = InvitationAccepted,
         headers(("Set-Cookie" = String, description = "For someone new: the session, HttpOnly, SameSite=Strict"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
        (status = 422, response = Unprocessable),
        JsonBody,
        SignedIn,
    )
)]
pub async fn accept_invitation(
    State(state): State<AppState>,
    Path(SecretPath { secret }): Path<SecretPath>,
    request: Request,
) -> ApiResult<Response> {
    let (mut parts, body) = request.into_parts();
    let has_token = parts.headers.contains_key(AUTHORIZATION);
    let has_session = session_cookies(&parts.headers).next().is_some();
    if has_token || has_session {
        match Caller::from_request_parts(&mut parts, &state).await {
            Ok(caller) => {
                let invitation = state
                    .accounts
                    .accept_invitation(&secret, &caller.0.person_id)
                    .await?;
                return Ok(Json(InvitationAccepted {
                    org: invitation.group,
                    role: invitation.role,
                    email: caller.0.email,
                    new_person: false,
                    session_expires_at: None,
                })
                .into_response());
            }
            // A cookie of a session that ended is no sign-in: the body may make the person.
            Err(e) if has_token || !parts.headers.contains_key(CONTENT_TYPE) => return Err(e),
            Err(_) => {}
        }
    }
    // Found before the body is read: a link that admits nobody says so first.
    state.accounts.invitation(&secret).await?;
    if !parts.headers.contains_key(CONTENT_TYPE) {
        return Err(ApiError::unauthenticated(
            "unauthenticated",
            "sign in to accept this invitation (POST /api/auth/login, or a token), or send {\"email\", \"password\"} to make your account with it",
        ));
    }
    let ApiJson(body) =
        ApiJson::<NewAccount>::from_request(Request::from_parts(parts, body), &state).await?;
    let (invitation, person, session, expires_at) = state
        .accounts
        .accept_invitation_as_new(
            &secret,
            &body.email,
            &body.password,
            body.display_name.as_deref().unwrap_or_default(),
        )
        .await?;
    let response = Json(InvitationAccepted {
        org: invitation.group,
        role: invitation.role,
        email: person.email,
        new_person: true,
        session_expires_at: Some(expires_at),
    })
    .into_response();
    Ok(with_session_cookie(response, &session))
}
