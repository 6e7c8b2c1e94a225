//! Pages of people: signing in, one's own account (password, API tokens), an organisation's members and
//! invitations, accepting an invitation, and the platform's administration.

use super::console::OrgQuery;
use super::{Page, Viewer};
use crate::handlers::admin::{OrgSummary, PersonView};
use crate::handlers::me::TokenView;
use crate::handlers::members::{Invitation, Member};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use plughub_domain::{Plan, Role};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Where to go after signing in: a path of this site only, never another site's address. Browsers drop
/// tabs and line breaks from addresses and read `\\` as `/`, so `/\t/elsewhere` is `//elsewhere`: a path
/// with any of them, or with a second slash first, goes to the catalogue instead.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n
                    .chars()
                    .any(|c| c == '\\' || c.is_whitespace() || c.is_control()) =>
        {
            n.to_string()
        }
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
pub async fn account(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Query(q): Query<OrgQuery>,
) -> Response {
    let page = Page::new(&viewer, "account", &uri).in_org(q.org());
    if let Some(sign_in) = page.sign_in_first(&uri) {
        return sign_in;
    }
    let person = viewer
        .principal
        .as_ref()
        .map(|p| p.person_id.clone())
        .unwrap_or_default();
    let tokens = state.accounts.tokens_of(&person).await.unwrap_or_default();
    // Publish tokens, and the namespaces the person holds (those a publish token can be made for).
    let publish_tokens = state
        .catalog
        .store()
        .publish_tokens_of(&person)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(crate::handlers::registry::PublishTokenView::from)
        .collect::<Vec<_>>();
    let publishers = plughub_market::publishers::Publishers::new(state.catalog.store().clone());
    let mut held = Vec::new();
    for claim in publishers.claims_of(&person).await.unwrap_or_default() {
        if !held.contains(&claim.namespace)
            && publishers
                .holds(&person, &claim.namespace)
                .await
                .unwrap_or(false)
        {
            held.push(claim.namespace);
        }
    }
    page.render(
        "account.html",
        "Your account",
        context! {
            tokens => Serde(&tokens),
            memberships => Serde(&viewer.principal.as_ref().map(|p| p.memberships.clone())),
            publish_tokens => Serde(&publish_tokens),
            held => held,
        },
    )
}

/// `GET /members`: an organisation's people and their roles, and its open invitations, for its owners.
pub async fn members(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Query(q): Query<OrgQuery>,
) -> Response {
    let page = Page::new(&viewer, "members", &uri).in_org(q.org());
    if let Some(sign_in) = page.sign_in_first(&uri) {
        return sign_in;
    }
    let Some(membership) = page.org() else {
        return page.no_org();
    };
    if !page.may().members {
        return page.error(
            StatusCode::FORBIDDEN,
            "Members",
            &format!(
                "Your role in {} ({}) does not allow managing its members: ask an owner.",
                membership.group,
                membership.role.as_str()
            ),
        );
    }
    let group = match state.catalog.store().group_by_name(&membership.group).await {
        Ok(Some(g)) => g,
        _ => return page.no_org(),
    };
    let members: Vec<Member> = state
        .accounts
        .members(&group)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(Member::from)
        .collect();
    let invitations: Vec<Invitation> = state
        .accounts
        .open_invitations(&group)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(Invitation::from)
        .collect();
    page.render(
        "members.html",
        "Members",
        context! { members => Serde(&members), invitations => Serde(&invitations), roles => org_roles() },
    )
}

/// The roles an organisation's owner gives: all but the platform's own.
fn org_roles() -> Vec<&'static str> {
    Role::ALL
        .iter()
        .filter(|r| **r != Role::PlatformOwner)
        .map(|r| r.as_str())
        .collect()
}

/// `GET /invitations/{secret}`: what the link offers, and how to take it (signed in, or as someone new).
pub async fn invitation(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(secret): Path<String>,
) -> Response {
    let page = Page::new(&viewer, "invitation", &uri);
    match state.accounts.invitation(&secret).await {
        Ok(invitation) => page.render(
            "invitation.html",
            "Invitation",
            context! {
                secret => secret,
                invited_to => invitation.group,
                role => invitation.role.as_str(),
                email => invitation.email,
                expires_at => invitation.expires_at,
            },
        ),
        Err(e) => {
            let error = crate::error::ApiError::from(e);
            page.error(
                error.status,
                "Invitation",
                &format!("{} Ask whoever sent it for a new link.", error.message),
            )
        }
    }
}

/// `GET /admin`: organisations and plans, people and roles, every token, and the catalogue's sources
/// and syncs, for platform owners.
pub async fn admin(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Query(q): Query<OrgQuery>,
) -> Response {
    let page = Page::new(&viewer, "admin", &uri).in_org(q.org());
    if let Some(sign_in) = page.sign_in_first(&uri) {
        return sign_in;
    }
    if !viewer.is_platform_owner() {
        return page.error(
            StatusCode::FORBIDDEN,
            "Administration",
            "Only platform owners administer plughub.",
        );
    }
    let orgs: Vec<OrgSummary> = state
        .accounts
        .orgs()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(OrgSummary::from)
        .collect();
    let people: Vec<PersonView> = state
        .accounts
        .people()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(PersonView::from)
        .collect();
    let tokens: Vec<TokenView> = state
        .accounts
        .all_tokens()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(t, email)| TokenView::of(t, email))
        .collect();
    let status = state.catalog.status().await.ok();
    page.render(
        "admin.html",
        "Administration",
        context! {
            orgs => Serde(&orgs),
            people => Serde(&people),
            tokens => Serde(&tokens),
            catalog => Serde(&status),
            sync => Serde(&state.catalog_syncs.state()),
            plans => Plan::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            platform_group => plughub_accounts::PLATFORM_GROUP,
            roles => org_roles(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn after_signing_in_only_a_path_of_this_site_is_followed() {
        assert_eq!(
            safe_next(Some("/plugins/installed?org=acme")),
            "/plugins/installed?org=acme"
        );
        for elsewhere in [
            "//evil.test",
            "/\t/evil.test",
            "/\n/evil.test",
            "/\\evil.test",
            "https://evil.test",
            "evil",
        ] {
            assert_eq!(safe_next(Some(elsewhere)), "/plugins", "{elsewhere:?}");
        }
        assert_eq!(safe_next(None), "/plugins");
    }
}
