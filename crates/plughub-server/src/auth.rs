//! Who a request comes from: an API token (`Authorization: Bearer phk_…`) or a web session (the
//! `plughub_session` cookie a password login sets). A request with neither, or with one that no longer
//! holds, is refused in the one error shape, saying how to sign in.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use plughub_domain::Group;
use plughub_domain::access::{Action, Denial, Principal};

pub const SESSION_COOKIE: &str = "plughub_session";

/// The signed-in caller of a request.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        if let Some(value) = parts.headers.get(AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(|| {
                    ApiError::unauthenticated(
                        "bad_authorization",
                        "the Authorization header must be `Bearer <token>`",
                    )
                })?;
            return Ok(Caller(state.accounts.authenticate_token(token).await?));
        }
        match session_cookies(&parts.headers).next() {
            Some(secret) => Ok(Caller(state.accounts.authenticate_session(&secret).await?)),
            None => Err(ApiError::unauthenticated(
                "unauthenticated",
                "sign in: send `Authorization: Bearer <token>` (an admin makes one with `plughub admin create-token`) or log in with POST /api/auth/login",
            )),
        }
    }
}

/// The session secrets in a request's cookies.
pub fn session_cookies(headers: &HeaderMap) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| {
            c.trim()
                .strip_prefix(SESSION_COOKIE)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_string)
        })
}

impl Caller {
    /// The organisation `org` when the caller may do `action` in it. Not a member: not found, exactly as
    /// when there is no such organisation. A member whose role does not allow it: forbidden.
    pub async fn group_for(
        &self,
        state: &AppState,
        org: &str,
        action: Action,
    ) -> Result<Group, ApiError> {
        let group = state
            .catalog
            .store()
            .group_by_name(org)
            .await?
            .ok_or_else(|| ApiError::org_not_found(org))?;
        self.authorize(&group, action)?;
        Ok(group)
    }

    /// Checks a further action in a group already found with `group_for`.
    pub fn authorize(&self, group: &Group, action: Action) -> Result<(), ApiError> {
        let org = group.name.as_str();
        match self.0.may(action, Some(&group.id)) {
            Ok(()) => Ok(()),
            Err(Denial::NotFound) => Err(ApiError::org_not_found(org)),
            Err(Denial::Forbidden { role, action }) => Err(ApiError {
                details: serde_json::json!({ "role": role, "action": action }),
                ..ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "forbidden",
                    format!(
                        "your role in {org} ({}) does not allow this",
                        role.map(|r| r.as_str()).unwrap_or("none")
                    ),
                )
            }),
        }
    }
}
