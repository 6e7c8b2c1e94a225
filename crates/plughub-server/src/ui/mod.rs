//! The web UI: pages rendered on the server from templates, in one layout, with one small script for
//! what needs it (sending changes to the API, streaming a run). Every change a page makes goes through
//! the JSON API with the session cookie and the page's CSRF token, so the server checks the role for the
//! UI exactly as for any client; the pages only leave out what the role may not do.

mod analytics;
mod api_docs;
mod assets;
mod catalog;
mod compatibility;
mod console;
pub mod markdown;
mod market;
mod notify;
mod people;
mod permissions;
mod reviews;
mod templates;
mod viewer;

use crate::state::AppState;
use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use minijinja::Value;
use minijinja::value::Serde;
use serde::Serialize;
use viewer::Abilities;
pub use viewer::Viewer;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/api/docs", get(api_docs::page))
        .route("/assets/{file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .route("/login", get(people::login))
        .route("/account", get(people::account))
        .route("/members", get(people::members))
        .route("/admin", get(people::admin))
        .route("/admin/publishers", get(market::admin))
        .route("/admin/registry", get(market::admin_registry))
        .route("/publishers/{name}", get(market::publisher))
        .route("/collections", get(market::collections))
        .route("/collections/{slug}", get(market::collection))
        .route("/compare", get(market::compare))
        .route("/admin/reviews", get(reviews::moderation))
        .route("/reviews/{*plugin}", get(reviews::page))
        .route("/invitations/{secret}", get(people::invitation))
        .route("/plugins", get(catalog::search))
        .route("/plugins/compatibility", get(compatibility::page))
        .route("/plugins/installed", get(console::installed))
        .route("/plugins/playground", get(console::playground))
        .route("/plugins/activity", get(console::activity))
        .route("/plugins/security", get(console::security))
        .route("/plugins/analytics", get(analytics::page))
        .route("/plugins/changelog", get(notify::changelog))
        .route("/notifications", get(notify::notifications))
        .route("/webhooks", get(notify::webhooks))
        .route("/plugins/{*name}", get(catalog::plugin))
}

async fn home() -> Redirect {
    Redirect::to("/plugins")
}

/// What every page's layout shows: who is signed in, their organisations, the current one and what it
/// lets them do.
#[derive(Serialize)]
struct Base<'a> {
    me: Option<Me<'a>>,
    org: Option<OrgView<'a>>,
    csrf: Option<&'a str>,
    /// The part of the UI the page belongs to, for the navigation.
    section: &'a str,
    /// The page's path, for the organisation switcher to come back to.
    path: &'a str,
    title: &'a str,
}

#[derive(Serialize)]
struct Me<'a> {
    email: &'a str,
    /// Notifications not read yet.
    unread: i64,
    platform_owner: bool,
    orgs: Vec<OrgChoice<'a>>,
}

#[derive(Serialize)]
struct OrgChoice<'a> {
    name: &'a str,
    role: &'a str,
}

#[derive(Serialize)]
struct OrgView<'a> {
    name: &'a str,
    role: &'a str,
    may: Abilities,
}

/// A page being made: its viewer, where it is, and the organisation it shows.
pub struct Page<'a> {
    viewer: &'a Viewer,
    section: &'static str,
    path: String,
    org: Option<&'a plughub_domain::access::Membership>,
}

impl<'a> Page<'a> {
    pub fn new(viewer: &'a Viewer, section: &'static str, uri: &Uri) -> Page<'a> {
        Page {
            viewer,
            section,
            path: uri.path().to_string(),
            org: None,
        }
    }

    /// The page shows the organisation `wanted` (or the viewer's first).
    pub fn in_org(mut self, wanted: Option<&str>) -> Page<'a> {
        self.org = self.viewer.org(wanted);
        self
    }

    pub fn org(&self) -> Option<&'a plughub_domain::access::Membership> {
        self.org
    }

    pub fn may(&self) -> Abilities {
        self.org
            .map(|o| self.viewer.abilities(o))
            .unwrap_or_default()
    }

    fn base<'b>(&'b self, title: &'b str) -> Base<'b> {
        Base {
            me: self.viewer.principal.as_ref().map(|p| Me {
                email: &p.email,
                unread: self.viewer.unread,
                platform_owner: p.is_platform_owner(),
                orgs: self
                    .viewer
                    .orgs()
                    .map(|m| OrgChoice {
                        name: &m.group,
                        role: m.role.as_str(),
                    })
                    .collect(),
            }),
            org: self.org.map(|m| OrgView {
                name: &m.group,
                role: m.role.as_str(),
                may: self.viewer.abilities(m),
            }),
            csrf: self.viewer.csrf.as_deref(),
            section: self.section,
            path: &self.path,
            title,
        }
    }

    /// The page from `template` with `context` (and the layout's own).
    pub fn render(&self, template: &str, title: &str, context: Value) -> Response {
        self.render_with(StatusCode::OK, template, title, context)
    }

    pub fn render_with(
        &self,
        status: StatusCode,
        template: &str,
        title: &str,
        context: Value,
    ) -> Response {
        // The layout's values come first, so a page's own cannot stand in for them (`me`, `org`, `csrf`).
        let context = minijinja::context! { ..Value::from(Serde(self.base(title))), ..context };
        match templates::TEMPLATES_ENV
            .get_template(template)
            .and_then(|t| t.render(context))
        {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(
                    template,
                    error = format!("{e:#}"),
                    "a page failed to render"
                );
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "this page failed to render; the server's log says why",
                )
                    .into_response()
            }
        }
    }

    /// A page that says what went wrong and what to do, in the layout.
    pub fn error(&self, status: StatusCode, title: &str, message: &str) -> Response {
        self.render_with(
            status,
            "error.html",
            title,
            minijinja::context! { message => message, status => status.as_u16() },
        )
    }

    /// For pages only a signed-in person sees: the sign-in page, coming back here after.
    pub fn sign_in_first(&self, uri: &Uri) -> Option<Response> {
        if self.viewer.signed_in() {
            return None;
        }
        let back = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string());
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &back)
            .finish();
        Some(Redirect::to(&format!("/login?{query}")).into_response())
    }

    /// For pages of an organisation: the page saying the viewer has none to show.
    pub fn no_org(&self) -> Response {
        self.error(
            StatusCode::NOT_FOUND,
            "No organisation",
            "You belong to no organisation (or not to the one asked for). Ask an owner of one to invite you, or choose one of yours in the menu.",
        )
    }
}
