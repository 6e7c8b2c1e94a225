//! What every signed-in person does for themselves: their password and their own API tokens.

use crate::auth::{Caller, ClientAddress};
use crate::error::ApiResult;
use crate::json::ApiJson;
use crate::openapi::{Forbidden, JsonBody, NotFound, SignedIn};
use crate::params::TokenPath;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plughub_store::TokenRecord;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub new_password: String,
}

/// A password changed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PasswordChanged {
    /// How many of the person's other web sessions ended (the one the change came from stays; API
    /// tokens stay too).
    pub sessions_ended: u64,
}

/// `PUT /api/me/password`: the current password is checked as a login checks it (and throttled with
/// the logins); the person's other sessions end.
#[utoipa::path(
    put,
    path = "/api/me/password",
    tag = "accounts",
    operation_id = "change_password",
    summary = "Change one's password; one's other sessions end",
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Changed", body = PasswordChanged),
        (status = 403, response = Forbidden),
        JsonBody,
        SignedIn,
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddress(from): ClientAddress,
    caller: Caller,
    ApiJson(body): ApiJson<PasswordChange>,
) -> ApiResult<Json<PasswordChanged>> {
    let sessions_ended = state
        .accounts
        .change_password(
            &caller.0.person_id,
            &body.current_password,
            &body.new_password,
            caller.session(),
            from,
        )
        .await?;
    Ok(Json(PasswordChanged { sessions_ended }))
}

/// An API token, never its secret. When it was last used is not recorded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    /// Whose it is.
    pub email: String,
    /// RFC 3339, as the other times.
    pub created_at: String,
    pub expires_at: String,
    /// When it was revoked; `null` while it holds.
    pub revoked_at: Option<String>,
}

impl TokenView {
    pub fn of(token: TokenRecord, email: String) -> TokenView {
        TokenView {
            id: token.id,
            name: token.name,
            email,
            created_at: token.created_at,
            expires_at: token.expires_at,
            revoked_at: token.revoked_at,
        }
    }
}

/// Tokens, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "ci", "days": 90 }))]
pub struct NewToken {
    /// What it is for, shown in lists.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Days until it expires.
    #[serde(deserialize_with = "crate::integers::required")]
    #[schema(minimum = 1, maximum = 365)]
    pub days: u32,
}

/// A token just made, with its secret: shown this once (only its hash is kept).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: TokenView,
    /// The secret to send as `Authorization: Bearer <token>`. Shown this once.
    #[schema(example = "phk_…")]
    pub secret: String,
}

/// `GET /api/me/tokens`.
#[utoipa::path(
    get,
    path = "/api/me/tokens",
    tag = "accounts",
    operation_id = "my_tokens",
    summary = "One's own API tokens (never their secrets)",
    responses(
        (status = 200, description = "One's tokens, revoked and expired ones too", body = TokenList),
        SignedIn,
    )
)]
pub async fn tokens(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<TokenList>> {
    let tokens = state.accounts.tokens_of(&caller.0.person_id).await?;
    Ok(Json(TokenList {
        tokens: tokens
            .into_iter()
            .map(|t| TokenView::of(t, caller.0.email.clone()))
            .collect(),
    }))
}

/// `POST /api/me/tokens`.
#[utoipa::path(
    post,
    path = "/api/me/tokens",
    tag = "accounts",
    operation_id = "create_my_token",
    summary = "Make oneself an API token; its secret is shown once",
    request_body = NewToken,
    responses(
        (status = 201, description = "Made, with its secret (shown this once)", body = CreatedToken),
        JsonBody,
        SignedIn,
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (token, secret) = state
        .accounts
        .create_token(&caller.0.email, &body.name, body.days, &caller.0.email)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: TokenView::of(token, caller.0.email),
            secret,
        }),
    ))
}

/// `DELETE /api/me/tokens/{id}`: one's own only; another person's token is not found.
#[utoipa::path(
    delete,
    path = "/api/me/tokens/{id}",
    tag = "accounts",
    operation_id = "revoke_my_token",
    summary = "Revoke one of one's own API tokens",
    params(TokenPath),
    responses(
        (status = 200, description = "Revoked", body = TokenView),
        (status = 404, response = NotFound),
        SignedIn,
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(TokenPath { id }): Path<TokenPath>,
) -> ApiResult<Json<TokenView>> {
    state
        .accounts
        .revoke_own_token(&caller.0.person_id, &id, &caller.0.email)
        .await?;
    let token = revoked(&state, &id).await?;
    Ok(Json(TokenView::of(token, caller.0.email)))
}

/// A token just revoked, as stored now.
pub(crate) async fn revoked(state: &AppState, id: &str) -> ApiResult<TokenRecord> {
    state
        .catalog
        .store()
        .token(id)
        .await?
        .ok_or_else(|| plughub_accounts::AccountError::NoSuchToken(id.to_string()).into())
}
