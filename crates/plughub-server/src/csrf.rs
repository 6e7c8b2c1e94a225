//! Cross-site request forgery. A browser attaches the session cookie to any request a page sends, also
//! from another site; a request that changes something (any method but GET, HEAD and OPTIONS) with the
//! cookie must therefore show that it comes from one of plughub's own pages, twice over:
//! - its `Origin` (or, where a browser sends none, its `Sec-Fetch-Site`) is this server's own;
//! - it carries the session's token in `X-CSRF-Token`: the pages hold it (`<meta name="csrf-token">`),
//!   and another site cannot read it.
//!
//! A request with `Authorization: Bearer` carries no cookie's authority (a browser never adds that
//! header by itself) and is left alone. Signing in has no session yet: only its origin is checked.

use crate::auth::session_cookies;
use crate::error::ApiError;
use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The header a page's script sends the session's token in.
pub const TOKEN_HEADER: &str = "x-csrf-token";

/// The token of the session whose secret is `session`: derived from the secret (which never leaves the
/// HttpOnly cookie), so it needs no storage, holds exactly as long as the session, and tells nothing of
/// the secret or of what the store keeps of it.
pub fn token_for(session: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"plughub csrf token\0")
        .chain_update(session.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Refuses a state-changing request that a page of another site could have made with the cookie.
pub async fn protect(request: Request, next: Next) -> Response {
    if let Err(refusal) = check(request.method(), request.uri().path(), request.headers()) {
        return refusal.into_response();
    }
    next.run(request).await
}

fn check(method: &Method, path: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    // A WebSocket opens with a GET that a page of any site may send, the cookie attached: a run channel
    // opened with the session must come from plughub's own pages.
    if is_websocket(headers)
        && !headers.contains_key(AUTHORIZATION)
        && session_cookies(headers).next().is_some()
    {
        same_origin(headers)?;
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || headers.contains_key(AUTHORIZATION)
    {
        return Ok(());
    }
    same_origin(headers)?;
    // Signing in starts a session, and so does accepting an invitation as someone new: a stale cookie
    // the browser still holds must not stand in their way (their pages have no token for it). The
    // origin was checked; an invitation accepted with a live session takes that session's person, who
    // could only be made to accept one by a page of this origin.
    if path == "/api/auth/login"
        || (path.starts_with("/api/invitations/") && path.ends_with("/accept"))
    {
        return Ok(());
    }
    let mut sessions = session_cookies(headers).peekable();
    if sessions.peek().is_none() {
        return Ok(());
    }
    let sent = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok());
    let Some(sent) = sent else {
        return Err(refused(
            "csrf_token_missing",
            "a change made with the session cookie needs the page's token in the X-CSRF-Token header: reload the page and try again",
        ));
    };
    if sessions.any(|session| token_for(&session) == sent) {
        Ok(())
    } else {
        Err(refused(
            "csrf_token_wrong",
            "the X-CSRF-Token header does not belong to this session (it ended, or you signed in again elsewhere): reload the page and try again",
        ))
    }
}

/// The request's `Origin` names this server: the `Host` it was sent to, or the `X-Forwarded-Host` a
/// reverse proxy that rewrites `Host` says the browser used (a page of another site cannot set that
/// header on a cross-site request without a preflight this server never allows). Without an `Origin`,
/// the browser's `Sec-Fetch-Site` says it came from this site or from the user; a request with neither
/// comes from no browser page at all.
fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let hosts: Vec<&str> = [headers.get(HOST), headers.get("x-forwarded-host")]
        .into_iter()
        .flatten()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if let Some(origin) = headers.get(ORIGIN) {
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest);
        return match origin_host {
            Some(from) if hosts.iter().any(|h| from.eq_ignore_ascii_case(h)) => Ok(()),
            _ => Err(refused(
                "cross_origin",
                format!(
                    "a change made with the session cookie must come from plughub's own pages, not from {}",
                    origin.to_str().unwrap_or("an unreadable origin")
                ),
            )),
        };
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None | Some("same-origin") | Some("none") => Ok(()),
        Some(site) => Err(refused(
            "cross_origin",
            format!(
                "a change made with the session cookie must come from plughub's own pages (Sec-Fetch-Site: {site})"
            ),
        )),
    }
}

/// Whether the request opens a WebSocket.
fn is_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

fn refused(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, message.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn code(r: Result<(), ApiError>) -> &'static str {
        match r {
            Ok(()) => "ok",
            Err(e) => e.code,
        }
    }

    #[test]
    fn a_session_change_needs_its_own_origin_and_its_token() {
        let token = token_for("phs_secret");
        let post = Method::POST;
        let cookie = ("cookie", "plughub_session=phs_secret");
        let host = ("host", "127.0.0.1:8080");
        let own = ("origin", "http://127.0.0.1:8080");
        let ok = headers(&[cookie, host, own, (TOKEN_HEADER, &token)]);
        assert_eq!(code(check(&post, "/api/x", &ok)), "ok");
        let other = headers(&[
            cookie,
            host,
            ("origin", "http://127.0.0.2:9"),
            (TOKEN_HEADER, &token),
        ]);
        assert_eq!(code(check(&post, "/api/x", &other)), "cross_origin");
        let missing = headers(&[cookie, host, own]);
        assert_eq!(code(check(&post, "/api/x", &missing)), "csrf_token_missing");
        let wrong = headers(&[cookie, host, own, (TOKEN_HEADER, &token_for("phs_other"))]);
        assert_eq!(code(check(&post, "/api/x", &wrong)), "csrf_token_wrong");
        let cross_site = headers(&[
            cookie,
            host,
            ("sec-fetch-site", "cross-site"),
            (TOKEN_HEADER, &token),
        ]);
        assert_eq!(code(check(&post, "/api/x", &cross_site)), "cross_origin");
        // Reading is never refused; a bearer token is not the cookie's authority.
        assert_eq!(code(check(&Method::GET, "/api/x", &missing)), "ok");
        let bearer = headers(&[cookie, host, ("authorization", "Bearer phk_x")]);
        assert_eq!(code(check(&post, "/api/x", &bearer)), "ok");
        // Signing in checks the origin only.
        assert_eq!(code(check(&post, "/api/auth/login", &missing)), "ok");
        // A WebSocket opened with the cookie (an agent's run channel) must come from this origin.
        let upgrade = ("upgrade", "websocket");
        let run = "/api/orgs/acme/agents/eliza/run";
        let get = Method::GET;
        let foreign = headers(&[cookie, host, upgrade, ("origin", "http://127.0.0.2:9")]);
        assert_eq!(code(check(&get, run, &foreign)), "cross_origin");
        assert_eq!(
            code(check(&get, run, &headers(&[cookie, host, upgrade, own]))),
            "ok"
        );
        let with_token = headers(&[
            host,
            upgrade,
            ("origin", "http://127.0.0.2:9"),
            ("authorization", "Bearer phk_x"),
        ]);
        assert_eq!(code(check(&get, run, &with_token)), "ok");
        // Behind a proxy that rewrites Host, the host the browser used is in X-Forwarded-Host.
        let proxied = headers(&[
            cookie,
            ("host", "backend:8080"),
            ("x-forwarded-host", "plughub.example"),
            ("origin", "https://plughub.example"),
            (TOKEN_HEADER, &token),
        ]);
        assert_eq!(code(check(&post, "/api/x", &proxied)), "ok");
        let login_elsewhere = headers(&[host, ("origin", "http://127.0.0.2:9")]);
        assert_eq!(
            code(check(&post, "/api/auth/login", &login_elsewhere)),
            "cross_origin"
        );
    }
}
