//! Who a request comes from: an API token (`Authorization: Bearer phk_…`) or a web session (the
//! `plughub_session` cookie a password login sets). A request with neither, or with one that no longer
//! holds, is refused in the one error shape, saying how to sign in. An unknown token counts as a failed
//! sign-in of the client's address (see `plughub_accounts`), so guessing tokens is throttled as passwords
//! are; the address is the connection's peer, or what the operator's trusted proxies say it is.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use plughub_domain::Group;
use plughub_domain::access::{Action, Denial, Principal};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub const SESSION_COOKIE: &str = "plughub_session";

/// The signed-in caller of a request, and what they signed in with (to check again later).
pub struct Caller(pub Principal, Credential);

/// What a caller presented.
#[derive(Clone)]
enum Credential {
    Token(String),
    Session(String),
}

/// The address a request comes from: the connection's peer, or, when the peer is one of the operator's
/// trusted proxies, the right-most address of `X-Forwarded-For` that is not one of them
/// (`plughub_domain::sign_in::client_address`). A router served without connection information (driven
/// in-process) sees every request from 0.0.0.0.
pub struct ClientAddress(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ClientAddress, Infallible> {
        Ok(ClientAddress(client_address(parts, state)))
    }
}

fn client_address(parts: &Parts, state: &AppState) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let trusted = &state.access.trusted_proxies;
    if trusted.is_empty() {
        return peer;
    }
    // Bytes that are not text become entries that are not addresses, where the reading stops.
    let forwarded: Vec<String> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let forwarded: Vec<&str> = forwarded.iter().map(String::as_str).collect();
    plughub_domain::sign_in::client_address(peer, &forwarded, trusted)
}

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
            let from = client_address(parts, state);
            let principal = state.accounts.authenticate_token_from(token, from).await?;
            return Ok(Caller(principal, Credential::Token(token.to_string())));
        }
        // A browser may hold more than one session cookie (set for other paths or hosts): the first that
        // holds signs the request in, as it signs in the pages; none holding answers the last refusal.
        let mut refused = None;
        for secret in session_cookies(&parts.headers) {
            match state.accounts.authenticate_session(&secret).await {
                Ok(principal) => return Ok(Caller(principal, Credential::Session(secret))),
                Err(e) => refused = Some(e),
            }
        }
        match refused {
            Some(e) => Err(e.into()),
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

    /// The secret of the session the caller signed in with; `None` for a token.
    pub fn session(&self) -> Option<&str> {
        match &self.1 {
            Credential::Session(secret) => Some(secret),
            Credential::Token(_) => None,
        }
    }

    /// Checks a further action in a group already found with `group_for`.
    pub fn authorize(&self, group: &Group, action: Action) -> Result<(), ApiError> {
        authorize(&self.0, group, action)
    }

    /// What a stream opened by this caller for `action` in `group` checks again while it is open.
    pub fn grant(self, state: &AppState, group: Group, action: Action) -> Grant {
        Grant {
            state: state.clone(),
            credential: self.1,
            group,
            action,
        }
    }
}

/// A caller's leave to do `action` in `group`, as a stream holds it: checked again, it fails once the
/// token is revoked or expired, the session ended, or the role no longer allows the action.
pub struct Grant {
    state: AppState,
    credential: Credential,
    group: Group,
    action: Action,
}

impl Grant {
    /// How often its stream checks it again.
    pub fn recheck_every(&self) -> std::time::Duration {
        self.state.access.stream_recheck
    }

    /// Whether it still holds; the refusal, in the error shape, when not.
    pub async fn still_holds(&self) -> Result<(), ApiError> {
        let accounts = &self.state.accounts;
        // A check, not a sign-in: the credential was accepted when the stream opened.
        let principal = match &self.credential {
            Credential::Token(token) => accounts.authenticate_token(token).await?,
            Credential::Session(secret) => accounts.authenticate_session(secret).await?,
        };
        authorize(&principal, &self.group, self.action)
    }
}

/// The one answer to what `principal` may not do in `group`.
fn authorize(principal: &Principal, group: &Group, action: Action) -> Result<(), ApiError> {
    let org = group.name.as_str();
    match principal.may(action, Some(&group.id)) {
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

/// A caller who may also be nobody: for operations open to everyone that show a signed-in person more
/// (an organisation's collections). Sending a credential that does not hold is still refused, so that
/// a stale token is not silently read as no one.
impl axum::extract::OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Caller>, ApiError> {
        if parts.headers.get(AUTHORIZATION).is_none()
            && session_cookies(&parts.headers).next().is_none()
        {
            return Ok(None);
        }
        <Caller as FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}
