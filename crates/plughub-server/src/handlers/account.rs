//! Signing in and out, and who one is.

use crate::auth::{Caller, SESSION_COOKIE, session_cookies};
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

pub async fn me(Caller(principal): Caller) -> Json<Principal> {
    Json(principal)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: String,
    pub password: String,
}

/// A password login: the session goes in an HttpOnly, same-site cookie.
pub async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Login>,
) -> ApiResult<Response> {
    let (secret, expires_at) = state.accounts.login(&body.email, &body.password).await?;
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
