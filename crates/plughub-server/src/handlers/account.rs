//! Signing in and out, and who one is.

use crate::auth::{Caller, ClientAddress, SESSION_COOKIE, session_cookies};
use crate::error::ApiResult;
use crate::json::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use plughub_domain::access::Principal;
use serde::Deserialize;
use serde_json::json;

#[utoipa::path(
    get,
    path = "/api/me",
    tag = "accounts",
    summary = "Who the caller is, with their roles",
    responses((status = 200, description = "Done"), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody))
)]
pub async fn me(caller: Caller) -> Json<Principal> {
    Json(caller.0)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: String,
    pub password: String,
}

/// A password login: the session goes in an HttpOnly, same-site cookie. Failures are throttled per
/// (account, client address) and per client address: 429 with `Retry-After` while a wait lasts.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "accounts",
    summary = "Log in with a password; sets the session cookie",
    request_body = Login,
    responses((status = 200, description = "Signed in"), (status = 401, description = "Wrong email or password", body = crate::openapi::ErrorBody), (status = 422, description = "Not the fields this takes", body = crate::openapi::ErrorBody))
)]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(from): ClientAddress,
    ApiJson(body): ApiJson<Login>,
) -> ApiResult<Response> {
    let (secret, expires_at) = state
        .accounts
        .login(&body.email, &body.password, from)
        .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        plughub_accounts::SESSION_HOURS * 3600
    );
    let mut response = Json(json!({ "email": body.email.trim().to_ascii_lowercase(),
                                    "expires_at": expires_at }))
    .into_response();
    response.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("a cookie of safe characters"),
    );
    Ok(response)
}

/// Ends the session of the cookie sent, if any; always clears the cookie.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "accounts",
    summary = "End the session of the cookie sent",
    responses((status = 200, description = "Signed out"))
)]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    for session in session_cookies(&headers) {
        state.accounts.logout(&session).await?;
    }
    let mut response = Json(json!({ "signed_out": true })).into_response();
    response.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("plughub_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(response)
}
