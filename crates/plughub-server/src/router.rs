//! Every route of the server, in one place.

use crate::handlers::{
    account, admin, agent_bridge, agents, analytics, collections, compare, deprecations, health,
    installed, me, members, notifications, npm, org_data, orgs, plugins, publishers, registry,
    reputation, reviews, updates, webhooks,
};
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};

/// The largest request body accepted (a plugin's settings, a run's input): 1 MB.
pub const MAX_BODY_BYTES: usize = 1 << 20;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/openapi.json", get(crate::openapi::document))
        .route("/api/me", get(account::me))
        .route("/api/auth/login", post(account::login))
        .route("/api/auth/logout", post(account::logout))
        .route("/api/me/password", put(me::change_password))
        .route("/api/me/tokens", get(me::tokens).post(me::create_token))
        .route("/api/me/tokens/{id}", delete(me::revoke_token))
        .route("/api/me/notifications", get(notifications::list))
        .route("/api/me/notifications/read", post(notifications::mark_read))
        .route(
            "/api/orgs/{org}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route("/api/orgs/{org}/webhooks/{id}", delete(webhooks::delete))
        .route(
            "/api/orgs/{org}/webhooks/{id}/deliveries",
            get(webhooks::deliveries),
        )
        .route(
            "/api/orgs/{org}/plugins/{plugin}/changelog",
            get(updates::changelog),
        )
        .route("/api/admin/updates/check", post(updates::check))
        .route("/api/orgs/{org}/members", get(members::list))
        .route(
            "/api/orgs/{org}/members/{email}",
            put(members::change).delete(members::remove),
        )
        .route(
            "/api/orgs/{org}/invitations",
            get(members::invitations).post(members::invite),
        )
        .route(
            "/api/orgs/{org}/invitations/{id}",
            delete(members::withdraw),
        )
        .route("/api/invitations/{secret}", get(members::show_invitation))
        .route(
            "/api/invitations/{secret}/accept",
            post(members::accept_invitation),
        )
        .route("/api/admin/orgs", get(admin::orgs).post(admin::create_org))
        .route("/api/admin/orgs/{org}/plan", put(admin::set_plan))
        .route(
            "/api/admin/people",
            get(admin::people).post(admin::create_person),
        )
        .route(
            "/api/admin/people/{email}/roles/{org}",
            put(admin::set_role).delete(admin::remove_role),
        )
        .route(
            "/api/admin/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route("/api/admin/tokens/{id}", delete(admin::revoke_token))
        .route("/api/admin/catalog/sync", post(admin::sync_catalog))
        .route("/api/admin/analytics", get(analytics::platform_report))
        .route("/api/orgs/{org}/analytics", get(analytics::org))
        .route(
            "/api/orgs/{org}/plugins",
            get(orgs::installed).post(installed::install),
        )
        .route(
            "/api/orgs/{org}/plugins/{plugin}",
            delete(installed::uninstall),
        )
        .route(
            "/api/orgs/{org}/plugins/{plugin}/config",
            put(installed::configure),
        )
        .route("/api/orgs/{org}/plugins/{plugin}/run", post(installed::run))
        .route(
            "/api/orgs/{org}/plugins/{plugin}/permissions",
            get(installed::permissions)
                .post(installed::grant)
                .delete(installed::revoke),
        )
        .route("/api/orgs/{org}/events", get(orgs::events))
        .route("/api/orgs/{org}/executions", get(orgs::executions))
        .route(
            "/api/orgs/{org}/executions/live",
            get(orgs::live_executions),
        )
        .route(
            "/api/orgs/{org}/agents",
            get(agents::list).post(agents::create),
        )
        .route(
            "/api/orgs/{org}/agents/{agent}/components",
            get(agent_bridge::components),
        )
        .route(
            "/api/orgs/{org}/agents/{agent}/models",
            put(agent_bridge::set_models),
        )
        .route(
            "/api/orgs/{org}/agents/{agent}/run",
            get(agent_bridge::run_channel),
        )
        .route(
            "/api/orgs/{org}/plugins/{plugin}/activate",
            post(agents::activate),
        )
        .route(
            "/api/orgs/{org}/plugins/{plugin}/deactivate",
            post(agents::deactivate),
        )
        .route(
            "/api/orgs/{org}/plugins/{plugin}/update",
            post(agents::update),
        )
        .route(
            "/api/orgs/{org}/plugins/{plugin}/rollback",
            post(agents::rollback),
        )
        .route("/api/orgs/{org}", delete(org_data::delete))
        .route("/api/orgs/{org}/export", get(org_data::export))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        // npm clients: one route, the handler tells a document from a tarball (`…/-/file`) and takes
        // a scoped name with its slash encoded or not.
        .route("/npm/{*path}", get(npm::serve))
        .route("/metrics", get(health::metrics))
        .route("/api/plugins", get(plugins::list))
        .route("/api/plugins/{*name}", get(plugins::show))
        .route("/api/catalog/status", get(plugins::catalog_status))
        .route("/api/catalog/compatibility", get(plugins::compatibility))
        .route("/api/reputation/{*name}", get(reputation::show))
        .route("/api/publishers", get(publishers::list))
        .route("/api/publishers/{publisher}", get(publishers::show))
        .route(
            "/api/publishers/{publisher}/analytics",
            get(analytics::publisher),
        )
        .route(
            "/api/publishers/{publisher}/claims",
            post(publishers::claim),
        )
        .route("/api/admin/publisher-claims", get(publishers::claims))
        .route(
            "/api/admin/publisher-claims/{id}/grant",
            post(publishers::grant),
        )
        .route(
            "/api/admin/publisher-claims/{id}/refuse",
            post(publishers::refuse),
        )
        .route(
            "/api/admin/publishers/{publisher}/verification",
            put(publishers::verify).delete(publishers::unverify),
        )
        .route("/api/collections", get(collections::list))
        .route("/api/collections/{slug}", get(collections::show))
        .route(
            "/api/admin/collections/{slug}",
            put(collections::put).delete(collections::delete),
        )
        .route("/api/compare", get(compare::compare))
        .route(
            "/api/admin/deprecations",
            put(deprecations::put).delete(deprecations::delete),
        )
        .route("/api/reviews", get(reviews::list))
        .route(
            "/api/reviews/mine",
            put(reviews::put_mine).delete(reviews::delete_mine),
        )
        .route("/api/reviews/{id}/history", get(reviews::history))
        .route(
            "/api/reviews/{id}/vote",
            put(reviews::vote).delete(reviews::unvote),
        )
        .route("/api/reviews/{id}/response", put(reviews::respond))
        .route("/api/reviews/{id}/reports", post(reviews::report))
        .route("/api/admin/reviews", get(reviews::queue))
        .route("/api/admin/reviews/{id}/hide", post(reviews::hide))
        .route("/api/admin/reviews/{id}/restore", post(reviews::restore))
        .route(
            "/api/admin/reviewers/{email}/ban",
            put(reviews::ban).delete(reviews::unban),
        )
        .route(
            "/api/orgs/{org}/plugins/{plugin}/resume",
            post(agents::resume),
        )
        .route(
            "/api/registry/packages/{name}",
            get(registry::show).put(registry::publish),
        )
        .route(
            "/api/registry/packages/{name}/versions/{version}",
            delete(registry::unpublish),
        )
        .route(
            "/api/registry/packages/{name}/dist-tags/{tag}",
            put(registry::set_tag).delete(registry::remove_tag),
        )
        .route(
            "/api/me/publish-tokens",
            get(registry::tokens).post(registry::create_token),
        )
        .route(
            "/api/me/publish-tokens/{id}",
            delete(registry::revoke_token),
        )
        .route("/api/admin/registry/quarantine", get(registry::quarantine))
        .route(
            "/api/admin/registry/packages/{name}/versions/{version}/release",
            post(registry::release),
        )
        .route(
            "/api/admin/registry/packages/{name}/versions/{version}/reject",
            post(registry::reject),
        )
        .route(
            "/api/admin/registry/blocklist",
            get(registry::blocklist).post(registry::block),
        )
        .route(
            "/api/admin/registry/blocklist/{sha512}",
            delete(registry::unblock),
        )
        .route(
            "/api/admin/registry/namespaces/{namespace}/decision",
            put(registry::decide_namespace),
        )
        .merge(crate::ui::routes())
        .fallback(health::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(crate::csrf::protect))
        .layer(axum::middleware::from_fn(crate::headers::secure))
        .layer(axum::middleware::from_fn(crate::request_id::trace))
        .route_layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::track,
        ))
        .with_state(state)
}
