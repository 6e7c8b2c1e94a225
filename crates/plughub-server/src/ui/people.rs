//! Pages of people: signing in, and one's own account (password, API tokens).

use super::{Page, Viewer};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Where to go after signing in: a path of this site only, never another site's address.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/plugins".to_string(),
    }
}

/// `GET /login`: the form posts to `/api/auth/login`, whose session cookie then signs in every page and
/// API call of this browser.
pub async fn login(viewer: Viewer, uri: Uri, Query(q): Query<Next>) -> Response {
    let page = Page::new(&viewer, "login", &uri);
    page.render(
        "login.html",
        "Sign in",
        context! { next => safe_next(q.next.as_deref()) },
    )
}

/// `GET /account`: who one is, one's organisations and roles, the password form and one's API tokens.
pub async fn account(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> Response {
    let page = Page::new(&viewer, "account", &uri).in_org(None);
    if let Some(sign_in) = page.sign_in_first(&uri) {
        return sign_in;
    }
    let email = viewer
        .principal
        .as_ref()
        .map(|p| p.email.clone())
        .unwrap_or_default();
    let tokens = state.accounts.tokens(&email).await.unwrap_or_default();
    page.render(
        "account.html",
        "Your account",
        context! { tokens => Serde(&tokens), memberships => Serde(&viewer.principal.as_ref().map(|p| p.memberships.clone())) },
    )
}
