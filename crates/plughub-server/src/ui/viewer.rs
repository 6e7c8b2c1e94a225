//! Who is looking at a page: the person of the session cookie, if it still holds, and the organisation
//! they are looking at. A page never refuses a stale cookie: it shows what a visitor may see, and the
//! pages that need a person send the browser to sign in.

use crate::auth::session_cookies;
use crate::csrf;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use plughub_accounts::PLATFORM_GROUP;
use plughub_domain::access::{Action, Membership, Principal};
use serde::Serialize;
use std::convert::Infallible;

pub struct Viewer {
    pub principal: Option<Principal>,
    /// The session's token for changes (see `csrf`).
    pub csrf: Option<String>,
    /// How many of the person's notifications are unread, for the header.
    pub unread: i64,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Infallible> {
        for secret in session_cookies(&parts.headers) {
            if let Ok(principal) = state.accounts.authenticate_session(&secret).await {
                // A count the header shows; a store that cannot say leaves it out, not the page.
                let unread = state
                    .catalog
                    .store()
                    .unread_notifications(&principal.person_id)
                    .await
                    .unwrap_or(0);
                return Ok(Viewer {
                    principal: Some(principal),
                    csrf: Some(csrf::token_for(&secret)),
                    unread,
                });
            }
        }
        Ok(Viewer {
            principal: None,
            csrf: None,
            unread: 0,
        })
    }
}

/// What the current organisation lets the viewer do, for the pages to show only that.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Abilities {
    pub view: bool,
    pub install: bool,
    pub configure: bool,
    pub grant: bool,
    pub agents: bool,
    pub run: bool,
    pub activity: bool,
    pub members: bool,
    pub analytics: bool,
    pub webhooks: bool,
}

impl Viewer {
    pub fn signed_in(&self) -> bool {
        self.principal.is_some()
    }

    pub fn is_platform_owner(&self) -> bool {
        self.principal
            .as_ref()
            .is_some_and(Principal::is_platform_owner)
    }

    /// The organisations the viewer belongs to (the platform's own group is not one).
    pub fn orgs(&self) -> impl Iterator<Item = &Membership> {
        self.principal
            .iter()
            .flat_map(|p| p.memberships.iter())
            .filter(|m| m.group != PLATFORM_GROUP)
    }

    /// The organisation named `wanted`, if the viewer is in it; else their first.
    pub fn org(&self, wanted: Option<&str>) -> Option<&Membership> {
        match wanted.filter(|w| !w.is_empty()) {
            Some(name) => self.orgs().find(|m| m.group == name),
            None => self.orgs().next(),
        }
    }

    pub fn abilities(&self, org: &Membership) -> Abilities {
        let Some(p) = &self.principal else {
            return Abilities::default();
        };
        let may = |a: Action| p.may(a, Some(&org.group_id)).is_ok();
        Abilities {
            view: may(Action::ViewGroup),
            install: may(Action::ManagePlugins),
            configure: may(Action::Configure),
            grant: may(Action::Grant),
            agents: may(Action::ManageAgents),
            run: may(Action::Run),
            activity: may(Action::ViewActivity),
            members: may(Action::ManageMembers),
            analytics: may(Action::ViewAnalytics),
            webhooks: may(Action::ManageWebhooks),
        }
    }
}
