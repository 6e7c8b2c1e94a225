//! Signing in and out, and who one is.

use crate::auth::{Caller, ClientAddress, SESSION_COOKIE, session_cookies};
use crate::error::ApiResult;
use crate::json::ApiJson;
use crate::openapi::{Forbidden, JsonBody, Public, SignedIn, TooManyRequests, Unauthenticated};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use plughub_domain::access::Principal;
use serde::{Deserialize, Serialize};

#[utoipa::path(
    get,
    path = "/api/me",
    tag = "accounts",
    operation_id = "me",
    summary = "Who the caller is, with their roles",
    responses(
        (status = 200, description = "The caller and their roles in each organisation", body = Principal),
        SignedIn,
    )
)]
pub async fn me(caller: Caller) -> Json<Principal> {
    Json(caller.0)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    #[schema(example = "ada@acme.test")]
    pub email: String,
    pub password: String,
}

/// A session begun: whose, and until when (the secret is in the cookie only).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoggedIn {
    pub email: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// A session ended, or none to end.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoggedOut {
    /// Always true: the cookie is cleared either way.
    pub signed_out: bool,
}

/// A password login: the session goes in an HttpOnly, same-site cookie. Failures are throttled per
/// (account, client address) and per client address: 429 with `Retry-After` while a wait lasts.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "accounts",
    operation_id = "login",
    summary = "Log in with a password; sets the session cookie",
    request_body = Login,
    security(()),
    responses(
        (status = 200, description = "Signed in: the session is in the `plughub_session` cookie", body = LoggedIn,
         headers(("Set-Cookie" = String, description = "The session: HttpOnly, SameSite=Strict"))),
        (status = 401, response = Unauthenticated),
        (status = 403, response = Forbidden),
        (status = 429, response = TooManyRequests),
        JsonBody,
        Public,
    )
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
    let response = Json(LoggedIn {
        email: body.email.trim().to_ascii_lowercase(),
        expires_at,
    })
    .into_response();
    Ok(with_session_cookie(response, &secret))
}

/// `response` with the session `secret` set in the session cookie: HttpOnly, same-site, for the
/// session's length. Every way of signing in (a login, an invitation accepted by someone new) sets it so.
pub(crate) fn with_session_cookie(mut response: Response, secret: &str) -> Response {
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        plughub_accounts::SESSION_HOURS * 3600
    );
    response.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("a cookie of safe characters"),
    );
    response
}

/// Ends the session of the cookie sent, if any; always clears the cookie.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "accounts",
    operation_id = "logout",
    summary = "End the session of the cookie sent",
    security(()),
    responses(
        (status = 200, description = "Signed out; the cookie is cleared", body = LoggedOut,
         headers(("Set-Cookie" = String, description = "The session cookie, expired"))),
        (status = 403, response = Forbidden),
        Public,
    )
)]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    for session in session_cookies(&headers) {
        state.accounts.logout(&session).await?;
    }
    let mut response = Json(LoggedOut { signed_out: true }).into_response();
    response.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("plughub_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(response)
}
