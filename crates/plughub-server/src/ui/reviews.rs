//! The reviews pages: a plugin's reviews (its rating with the distribution, reviews with their version,
//! helpful votes, the publisher's answer, the form to write or edit one's own where one may, reports),
//! and the moderators' queue for platform owners. Every change is a form sent to the JSON API.

use super::{Page, Viewer};
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use plughub_domain::ThingKind;
use plughub_market::reviews::{Reviewed, Reviews};
use serde::Serialize;

/// An organisation of the viewer whose install lets them review the plugin, and the version it gives.
#[derive(Serialize)]
struct Qualifying {
    org: String,
    version: String,
}

/// `/reviews/{*plugin}`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let asked = |key: &str| {
        query
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.clone())
    };
    let page = Page::new(&viewer, "catalog", &uri).in_org(asked("org").as_deref());
    let store = state.catalog.store();
    let found = match state.catalog.resolve_name(&name) {
        Some(found) => store
            .thing_by_name(ThingKind::ElizaosPlugin, None, &found)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let Some(plugin) = found else {
        return page.error(
            StatusCode::NOT_FOUND,
            "No such plugin",
            &format!("The catalogue has no plugin named {name}. Search the catalogue for it."),
        );
    };
    let reviews = Reviews::new(store.clone());
    let version = asked("version");
    let number = asked("page")
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let principal = viewer.principal.as_ref();
    let listed = reviews
        .list(
            Reviewed {
                id: &plugin.id,
                name: &plugin.name,
            },
            version.as_deref(),
            principal,
            number,
            20,
        )
        .await;
    let listed = match listed {
        Ok(l) => l,
        Err(e) => {
            // The cause goes to the log, not the page: it may name the store's internals.
            tracing::error!(error = %e, plugin = %plugin.name, "cannot list reviews");
            return page.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Reviews",
                "The reviews cannot be shown just now. Try again in a moment; if it lasts, tell the platform's operators.",
            );
        }
    };
    let mut qualifying = Vec::new();
    let mut publisher = false;
    let mut banned = None;
    if let Some(p) = principal {
        for m in viewer.orgs().filter(|m| viewer.abilities(m).view) {
            let Ok(Some(group)) = store.group_by_name(&m.group).await else {
                continue;
            };
            if let Ok(Some(version)) = reviews.version_used(&group, &plugin.name).await {
                qualifying.push(Qualifying {
                    org: m.group.clone(),
                    version,
                });
            }
        }
        publisher = plughub_market::publishers::Publishers::new(store.clone())
            .holds(
                &p.person_id,
                plughub_domain::names::namespace_of(&plugin.name),
            )
            .await
            .unwrap_or(false);
        banned = store
            .reviewer_ban(&p.person_id)
            .await
            .ok()
            .flatten()
            .map(|b| b.reason);
    }
    let pages = listed.total.div_ceil(listed.per_page).max(1);
    page.render(
        "reviews.html",
        &format!("Reviews of {}", plugin.name),
        context! {
            plugin => plugin.name,
            reviews => Serde(&listed),
            qualifying => Serde(&qualifying),
            publisher => publisher,
            moderator => principal.is_some_and(Reviews::moderates),
            banned => banned,
            pages => pages,
            largest => listed.summary.distribution.iter().copied().max().unwrap_or(0).max(1),
        },
    )
}

/// `/admin/reviews`: the moderators' queue.
pub async fn moderation(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> Response {
    let page = Page::new(&viewer, "admin", &uri);
    if let Some(sign_in) = page.sign_in_first(&uri) {
        return sign_in;
    }
    let Some(principal) = viewer.principal.as_ref().filter(|p| Reviews::moderates(p)) else {
        return page.error(
            StatusCode::FORBIDDEN,
            "Moderation",
            "Only platform owners moderate reviews.",
        );
    };
    let reviews = Reviews::new(state.catalog.store().clone());
    let (queue, bans) = match (reviews.queue(principal).await, reviews.bans().await) {
        (Ok(q), Ok(b)) => (q, b),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "cannot read the moderation queue");
            return page.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Moderation",
                "The moderation queue cannot be shown just now. Try again in a moment; if it lasts, look at the server's log.",
            );
        }
    };
    page.render(
        "moderation.html",
        "Review moderation",
        context! { queue => Serde(&queue), bans => Serde(&bans) },
    )
}
