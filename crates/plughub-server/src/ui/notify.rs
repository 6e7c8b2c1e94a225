//! The pages of notifications: one's own list, an organisation's webhooks (its owners'), and the
//! changelog an installed plugin's update badge opens, with its one-click update and rollback. Every
//! change goes to the API, as on the other pages.

use super::markdown;
use super::{Page, Viewer};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use plughub_notify::NotifyKind;
use plughub_notify::webhooks;
use serde::{Deserialize, Serialize};

/// The query of these pages: the organisation, and (changelog) the plugin.
#[derive(Debug, Default, Deserialize)]
pub struct NotifyQuery {
    org: Option<String>,
    plugin: Option<String>,
}

/// `GET /notifications`.
pub async fn notifications(State(state): State<AppState>, viewer: Viewer, uri: Uri) -> Response {
    let page = Page::new(&viewer, "notifications", &uri);
    if let Some(sign_in) = page.sign_in_first(&uri) {
        return sign_in;
    }
    let principal = viewer.principal.as_ref().expect("signed in");
    match crate::handlers::notifications::view(&state, principal, false, 200).await {
        Ok(list) => page.render(
            "notifications.html",
            "Notifications",
            context! { list => Serde(&list) },
        ),
        Err(e) => page.error(e.status, "Notifications", &e.message),
    }
}

/// One delivery as the webhooks page shows it.
#[derive(Serialize)]
struct DeliveryRow {
    event: String,
    status: String,
    created_at: String,
    next_attempt_at: Option<String>,
    attempts: Vec<AttemptRow>,
}

#[derive(Serialize)]
struct AttemptRow {
    attempted_at: String,
    status: Option<i64>,
    duration_ms: i64,
    error: Option<String>,
}

#[derive(Serialize)]
struct WebhookRow {
    webhook: webhooks::Webhook,
    deliveries: Vec<DeliveryRow>,
}

/// `GET /webhooks?org=`.
pub async fn webhooks(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Query(q): Query<NotifyQuery>,
) -> Response {
    let page = Page::new(&viewer, "webhooks", &uri).in_org(q.org.as_deref());
    if let Some(sign_in) = page.sign_in_first(&uri) {
        return sign_in;
    }
    let Some(membership) = page.org() else {
        return page.no_org();
    };
    if !page.may().webhooks {
        return page.error(
            StatusCode::FORBIDDEN,
            "Webhooks",
            &format!(
                "Your role in {} ({}) does not allow managing its webhooks: ask one of its owners.",
                membership.group,
                membership.role.as_str()
            ),
        );
    }
    let store = state.catalog.store();
    let rows = async {
        let mut rows = Vec::new();
        for webhook in webhooks::list(store, &membership.group_id).await? {
            let mut deliveries = Vec::new();
            for d in store.deliveries(&webhook.id, 10).await? {
                deliveries.push(DeliveryRow {
                    attempts: store
                        .delivery_attempts(&d.id)
                        .await?
                        .into_iter()
                        .map(|a| AttemptRow {
                            attempted_at: a.attempted_at,
                            status: a.status_code,
                            duration_ms: a.duration_ms,
                            error: a.error,
                        })
                        .collect(),
                    event: d.event_type,
                    status: d.status,
                    created_at: d.created_at,
                    next_attempt_at: d.next_attempt_at,
                });
            }
            rows.push(WebhookRow {
                webhook,
                deliveries,
            });
        }
        Ok::<_, plughub_notify::NotifyError>(rows)
    }
    .await;
    match rows {
        Ok(rows) => {
            let kinds: Vec<&str> = NotifyKind::ALL.iter().map(|k| k.as_str()).collect();
            page.render(
                "webhooks.html",
                "Webhooks",
                context! { rows => Serde(&rows), kinds => kinds },
            )
        }
        Err(e) => page.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Webhooks",
            &e.to_string(),
        ),
    }
}

/// `GET /plugins/changelog?org=&plugin=`: what changed between the installed version and the newest
/// for its core, with the update and the rollback.
pub async fn changelog(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    Query(q): Query<NotifyQuery>,
) -> Response {
    let page = Page::new(&viewer, "installed", &uri).in_org(q.org.as_deref());
    if let Some(sign_in) = page.sign_in_first(&uri) {
        return sign_in;
    }
    let Some(membership) = page.org() else {
        return page.no_org();
    };
    let title = "What changed";
    if !page.may().view {
        return page.error(
            StatusCode::FORBIDDEN,
            title,
            &format!(
                "Your role in {} does not allow seeing its installed plugins.",
                membership.group
            ),
        );
    }
    let Some(plugin) = q.plugin.as_deref().filter(|p| !p.is_empty()) else {
        return page.error(
            StatusCode::BAD_REQUEST,
            title,
            "Say which plugin: open this page from an update badge on the Installed page.",
        );
    };
    let Some(lifecycle) = &state.lifecycle else {
        return page.error(
            StatusCode::SERVICE_UNAVAILABLE,
            title,
            "This server serves the catalogue only.",
        );
    };
    let installer = lifecycle.runner.installer();
    let record = match installer
        .installed_instance(&membership.group, plugin)
        .await
    {
        Ok((_, _, record)) => record,
        Err(e) => {
            let e = crate::error::ApiError::from(e);
            return page.error(e.status, title, &e.message);
        }
    };
    let found = plughub_notify::changelog::between(
        installer.sources(),
        &record.plugin,
        record.version(),
        None,
        record.core,
    )
    .await;
    let log = match found {
        Ok(log) => log,
        Err(e) => {
            let e = crate::error::ApiError::from(e);
            return page.error(e.status, title, &e.message);
        }
    };
    let html = log.markdown.as_deref().map(|md| markdown::render(md, None));
    let newer = plughub_domain::core_range::compare_versions(&log.to, &log.from).is_gt();
    page.render(
        "changelog.html",
        title,
        context! {
            log => Serde(&log),
            html => html,
            newer => newer,
            previous => record.previous.as_ref().map(|p| p.version.clone()),
        },
    )
}
