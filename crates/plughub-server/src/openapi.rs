//! The OpenAPI document, generated from the handlers' own annotations and the types they answer with,
//! served at `/api/openapi.json`. A test checks that every route the router serves is in it, and CI runs a
//! contract check (`scripts/api-contract.sh`) that fuzzes every operation against it.
//!
//! Error answers are defined here once, as response components (`#/components/responses/…`) with the
//! one error body; operations refer to them, alone or in the sets below, instead of each describing its
//! own.

use crate::error::{ErrorBody, ErrorDetail};
use axum::Json;
use std::collections::BTreeMap;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi, ToResponse};

/// One error answer: its status, and what it means for any operation that answers it.
pub trait ErrorResponse {
    const STATUS: u16;
    const NAME: &'static str;
}

/// Declares each error response component once: its status, name and description, with the error body.
macro_rules! error_responses {
    ($($(#[doc = $doc:literal])+ $name:ident = $status:literal;)+) => {
        $(
            $(#[doc = $doc])+
            pub struct $name;

            impl ErrorResponse for $name {
                const STATUS: u16 = $status;
                const NAME: &'static str = stringify!($name);
            }

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), error_response(concat!($($doc),+).trim(), $status).into())
                }
            }
        )+
    };
}

error_responses! {
    /// The body is not JSON (`malformed_json`) or could not be read (`bad_body`), or a query parameter
    /// is not one this operation takes, not of its type or out of its bounds (`bad_request`); or an
    /// upload that is not a package that can be published (`invalid_package`: no readable
    /// package.json, a name other than the one in the path, no semantic version).
    BadRequest = 400;
    /// Not signed in, or with a token or session that no longer holds (`unauthenticated`,
    /// `bad_authorization`, `token_unknown`, `token_revoked`, `token_expired`, `session_ended`), or a
    /// wrong email or password (`bad_login`).
    Unauthenticated = 401;
    /// The caller's role in the organisation (or on the platform) does not allow this (`forbidden`;
    /// `details` name the role and the action); the current password given is wrong
    /// (`wrong_password`); the invitation names someone else (`invitation_not_yours`); or a change made
    /// with the session cookie that did not come from plughub's own pages: another site's origin
    /// (`cross_origin`), or without the session's `X-CSRF-Token` (`csrf_token_missing`,
    /// `csrf_token_wrong`); or a namespace one may not publish to or change: not held by the caller
    /// (`namespace_not_held`), elizaOS's or a scope of the official registry (`namespace_reserved`),
    /// one npm has that is not proven the publisher's (`namespace_on_npm`), or another than the publish
    /// token's (`wrong_namespace`).
    Forbidden = 403;
    /// No such organisation among the caller's (`org_not_found`: one the caller is not in answers the
    /// same), or no such installed plugin (`plugin_not_installed`), agent (`agent_not_found`), component
    /// of the plugin (`component_not_found`), package in the registry or version of it
    /// (`plugin_not_found`); no such member of the organisation (`member_not_found`), person
    /// (`person_not_found`), token of the caller's or not revoked yet (`token_not_found`), or open
    /// invitation (`invitation_not_found`: used, withdrawn or never made); no such publisher
    /// (`publisher_not_found`), claim on one (`claim_not_found`), collection the caller may see
    /// (`collection_not_found`: an organisation's answers the same to others), or platform deprecation
    /// to lift (`plugin_not_found`).
    /// (`person_not_found`), token of the caller's or not revoked yet (`token_not_found`), open
    /// invitation (`invitation_not_found`: used, withdrawn or never made), or webhook of the
    /// organisation (`not_found`).
    NotFound = 404;
    /// Not in a state that allows this: installed already, active already, not active, needed by
    /// others, nothing to roll back to, a name taken already, or changed by another request first
    /// (`conflict`); permissions to grant first (`needs_grant`), settings to give first
    /// (`needs_config`), suspended, failed or changing (`not_runnable`), or above the risk threshold
    /// (`too_risky`); the last owner of an organisation, who can be neither demoted nor removed
    /// (`last_owner`: make someone else owner first); an email that has a person already
    /// (`email_taken`: sign in first); a catalogue sync running already or too soon after the last
    /// (`sync_running`, `too_soon`); a publisher held or claimed by the caller already, a claim decided
    /// already, or a verification that is already as asked (`conflict`); a version published already
    /// (`version_exists`: versions are immutable), one published more than 72 hours ago
    /// (`unpublish_window_over`) or installed in an organisation (`installed`), or a version not in the
    /// state asked (`conflict`: releasing one that is not quarantined).
    Conflict = 409;
    /// The invitation has expired (`invitation_expired`): ask for a new one.
    Gone = 410;
    /// The body is over the limit of 1 MB (`body_too_large`); or an upload over the registry's limits
    /// of size or file count (`too_large`).
    PayloadTooLarge = 413;
    /// A WebSocket endpoint asked without a WebSocket handshake (`websocket_required`).
    UpgradeRequired = 426;
    /// The body is not sent as `application/json` (`not_json`).
    UnsupportedMediaType = 415;
    /// The body's fields are not this operation's, or not of their type (`invalid_body`, naming the
    /// field); or they are well formed but cannot be carried out: values the plugin's own settings
    /// refuse, a message the action declines (`invalid`, `declined`), a package that cannot be
    /// installed or whose dependencies cannot (`cannot_install`, `dependencies`), a package neither in
    /// the catalogue nor shaped like an elizaOS plugin (`not_a_plugin`, with suggestions; install it
    /// with `not_in_catalogue`); a password too short (`weak_password`), or a role, name, email or
    /// expiry that cannot be had (`invalid`); a webhook URL that is not an http(s) URL or events that
    /// are not among those sent (`invalid`), or a target the address policy refuses
    /// (`target_refused`: loopback, private and other non-public addresses, unless the operator
    /// allows them).
    Unprocessable = 422;
    /// Too many requests: failed sign-ins from this address, or for this account from it, unknown
    /// tokens included (`throttled`); the organisation's installs in the hour, its executions in the day
    /// or a plugin's in the minute (`rate_limited`). `Retry-After` says when to try again, where it is
    /// known.
    TooManyRequests = 429;
    /// The server failed to answer (`internal`); the error is in its log.
    Internal = 500;
    /// The plugin failed: it threw, timed out, ended, or did not start (`plugin_failed`).
    PluginFailed = 502;
    /// The npm registry could not be read, or does not have the version asked for, or could not be asked
    /// whether it has a namespace being published to (`registry`).
    RegistryFailed = 502;
    /// The upstream npm registry `/npm/` passes other names through from could not be read, refused,
    /// or sent a tarball larger than allowed (`upstream`).
    UpstreamFailed = 502;
    /// This server serves the catalogue only, not organisations' plugins (`no_lifecycle`), or has no
    /// catalogue sources to sync from (`no_sync_sources`); or the
    /// plugin failed so often in a row that its circuit is open (`circuit_open`, `details.half_opens_at`):
    /// runs are refused until `Retry-After` seconds have passed; or the server is not ready
    /// (`not_ready`, from `/readyz`: `details.checks` lists each check with what it found or why not).
    Unavailable = 503;
}

/// A response component with the error body; `429` and `503` also say when to try again.
fn error_response(description: &str, status: u16) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
    );
    if status == 429 || status == 503 {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                ))
                .description(Some("Seconds to wait before trying again"))
                .build(),
        );
    }
    if status == 426 {
        response = response.header(
            "Upgrade",
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some("The protocol to switch to: `websocket`"))
                .build(),
        );
    }
    response.build()
}

/// Declares a set of error responses that operations share, by reference to the components above.
macro_rules! response_set {
    ($(#[doc = $doc:literal])+ $name:ident = [$($member:ident),+ $(,)?]) => {
        $(#[doc = $doc])+
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$(($member::STATUS, $member::NAME)),+]
                    .into_iter()
                    .map(|(status, name)| {
                        (status.to_string(), RefOr::Ref(Ref::from_response_name(name)))
                    })
                    .collect()
            }
        }
    };
}

response_set! {
    /// What an operation open to anyone may answer beside its own answers.
    Public = [Internal]
}
response_set! {
    /// What every signed-in operation may answer: not signed in, throttled, or a failure of the server.
    SignedIn = [Unauthenticated, TooManyRequests, Internal]
}
response_set! {
    /// What every operation on an organisation may answer: those of `SignedIn`, an organisation that is
    /// not the caller's, and a role that may not.
    InOrg = [Unauthenticated, Forbidden, NotFound, TooManyRequests, Internal]
}
response_set! {
    /// What every operation of the platform's administration may answer: not signed in, not a
    /// platform owner, throttled, or a failure of the server.
    Platform = [Unauthenticated, Forbidden, TooManyRequests, Internal]
}
response_set! {
    /// What every operation taking a JSON body may answer when the body is not what it takes.
    JsonBody = [BadRequest, PayloadTooLarge, UnsupportedMediaType, Unprocessable]
}
response_set! {
    /// What an operation on installed plugins may answer on a server that serves the catalogue only.
    Plugins = [Unavailable]
}

/// The ways to sign in: an API token, or the session cookie a password login sets. Every operation
/// needs one unless it says otherwise.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`phk_…`); an admin makes one with `plughub admin create-token`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "The session `POST /api/auth/login` sets",
            ))),
        );
    }
}

/// What the types' derived schemas cannot say: a run names exactly one component.
struct Shapes;

impl Modify for Shapes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let schemas = &mut openapi
            .components
            .get_or_insert_with(Default::default)
            .schemas;
        if let Some(run) = schemas.remove("Run") {
            schemas.insert(
                "Run".into(),
                crate::handlers::installed::Run::exactly_one(run),
            );
        }
    }
}

/// Links from the operations that name things to the operations on them, so that a client (or a test
/// generator) can go from who it is to its organisations, and from a list of plugins to each plugin.
struct Links;

/// The operations on one installed plugin, which take `org` and `plugin` in their path.
const ON_A_PLUGIN: [&str; 12] = [
    "uninstall_plugin",
    "configure_plugin",
    "run_plugin",
    "plugin_permissions",
    "grant_permissions",
    "revoke_permissions",
    "activate_plugin",
    "deactivate_plugin",
    "update_plugin",
    "rollback_plugin",
    "resume_plugin",
    "plugin_changelog",
];

/// The operations on one organisation, which take `org` alone in their path.
const ON_AN_ORG: [&str; 12] = [
    "list_installed",
    "list_members",
    "list_invitations",
    "create_invitation",
    "install_plugin",
    "list_agents",
    "create_agent",
    "list_events",
    "list_executions",
    "live_executions",
    "list_webhooks",
    "create_webhook",
];

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // Who the caller is → each operation on their first organisation.
        let org = ("org", "$response.body#/memberships/0/group");
        for target in ON_AN_ORG {
            add_link(openapi, "me", "200", target, &[org]);
        }
        // A list of installed plugins, or one just installed → the operations on it.
        let org = ("org", "$request.path.org");
        for target in ON_A_PLUGIN {
            let listed = ("plugin", "$response.body#/plugins/0/plugin");
            add_link(openapi, "list_installed", "200", target, &[org, listed]);
            let installed = ("plugin", "$response.body#/plugin");
            add_link(openapi, "install_plugin", "201", target, &[org, installed]);
        }
        // An uninstalled plugin → its permissions, which are gone with it (404).
        let same = [org, ("plugin", "$request.path.plugin")];
        add_link(
            openapi,
            "uninstall_plugin",
            "200",
            "plugin_permissions",
            &same,
        );
        // Grants taken back → granted again.
        add_link(
            openapi,
            "revoke_permissions",
            "200",
            "grant_permissions",
            &same,
        );
        // An invitation made → withdrawn. (No link from the members list to changing or removing one:
        // its first member may be the organisation's owner.)
        add_link(
            openapi,
            "create_invitation",
            "201",
            "withdraw_invitation",
            &[org, ("id", "$response.body#/id")],
        );
        // A claim made → decided (by the platform owner); a collection saved → read and deleted.
        let claim = [("id", "$response.body#/id")];
        add_link(
            openapi,
            "claim_publisher",
            "201",
            "admin_grant_claim",
            &claim,
        );
        add_link(
            openapi,
            "claim_publisher",
            "201",
            "admin_refuse_claim",
            &claim,
        );
        let slug = [("slug", "$response.body#/slug")];
        add_link(
            openapi,
            "admin_put_collection",
            "200",
            "show_collection",
            &slug,
        );
        add_link(
            openapi,
            "admin_put_collection",
            "200",
            "admin_delete_collection",
            &slug,
        );
        // A webhook made → its deliveries, and deleted.
        for target in ["webhook_deliveries", "delete_webhook"] {
            add_link(
                openapi,
                "create_webhook",
                "201",
                target,
                &[org, ("id", "$response.body#/id")],
            );
        }
        // No link from a search to the plugin it found first: a search may find nothing, and a link
        // must hold for every answer. The contract check names real plugins for `show_plugin` instead.
    }
}

/// Adds to `from`'s `status` response a link to the operation `to`, its parameters taken as `parameters`
/// say (runtime expressions).
fn add_link(
    openapi: &mut utoipa::openapi::OpenApi,
    from: &str,
    status: &str,
    to: &str,
    parameters: &[(&str, &str)],
) {
    let operation = openapi
        .paths
        .paths
        .values_mut()
        .flat_map(|item| {
            [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ]
        })
        .filter_map(Option::as_mut)
        .find(|operation| operation.operation_id.as_deref() == Some(from))
        .unwrap_or_else(|| panic!("a link from {from}, which is not an operation"));
    let Some(RefOr::T(response)) = operation.responses.responses.get_mut(status) else {
        panic!("a link from {from} {status}, which it does not answer");
    };
    let link = parameters
        .iter()
        .fold(
            LinkBuilder::new().operation_id(to),
            |link, (name, value)| link.parameter(*name, *value),
        )
        .build();
    response.links.insert(to.to_string(), RefOr::T(link));
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "plughub",
        description = "The plugin platform for elizaOS agents. Every operation needs a signed-in caller \
                       (an API token, or the session cookie of a password login) unless it says otherwise; \
                       errors have one shape, `ErrorBody`."
    ),
    paths(
        crate::handlers::account::me,
        crate::handlers::account::login,
        crate::handlers::account::logout,
        crate::handlers::me::change_password,
        crate::handlers::me::tokens,
        crate::handlers::me::create_token,
        crate::handlers::me::revoke_token,
        crate::handlers::members::list,
        crate::handlers::members::change,
        crate::handlers::members::remove,
        crate::handlers::members::invite,
        crate::handlers::members::invitations,
        crate::handlers::members::withdraw,
        crate::handlers::members::show_invitation,
        crate::handlers::members::accept_invitation,
        crate::handlers::admin::orgs,
        crate::handlers::admin::create_org,
        crate::handlers::admin::set_plan,
        crate::handlers::admin::people,
        crate::handlers::admin::create_person,
        crate::handlers::admin::set_role,
        crate::handlers::admin::remove_role,
        crate::handlers::admin::tokens,
        crate::handlers::admin::create_token,
        crate::handlers::admin::revoke_token,
        crate::handlers::admin::sync_catalog,
        crate::handlers::agents::list,
        crate::handlers::agents::create,
        crate::handlers::agents::activate,
        crate::handlers::agents::deactivate,
        crate::handlers::agents::update,
        crate::handlers::agents::rollback,
        crate::handlers::agents::resume,
        crate::handlers::agent_bridge::components,
        crate::handlers::agent_bridge::set_models,
        crate::handlers::agent_bridge::run_channel,
        crate::handlers::installed::install,
        crate::handlers::installed::uninstall,
        crate::handlers::installed::configure,
        crate::handlers::installed::permissions,
        crate::handlers::installed::grant,
        crate::handlers::installed::revoke,
        crate::handlers::installed::run,
        crate::handlers::orgs::installed,
        crate::handlers::orgs::events,
        crate::handlers::orgs::executions,
        crate::handlers::orgs::live_executions,
        crate::handlers::plugins::list,
        crate::handlers::plugins::show,
        crate::handlers::plugins::catalog_status,
        crate::handlers::plugins::compatibility,
        crate::handlers::reviews::list,
        crate::handlers::reviews::put_mine,
        crate::handlers::reviews::delete_mine,
        crate::handlers::reviews::history,
        crate::handlers::reviews::vote,
        crate::handlers::reviews::unvote,
        crate::handlers::reviews::respond,
        crate::handlers::reviews::report,
        crate::handlers::reviews::queue,
        crate::handlers::reviews::hide,
        crate::handlers::reviews::restore,
        crate::handlers::reviews::ban,
        crate::handlers::reviews::unban,
        crate::handlers::health::healthz,
        crate::handlers::health::readyz,
        crate::handlers::org_data::export,
        crate::handlers::org_data::delete,
        crate::handlers::health::metrics,
        crate::handlers::analytics::org,
        crate::handlers::analytics::platform_report,
        crate::handlers::reputation::show,
        crate::handlers::analytics::publisher,
        crate::handlers::publishers::list,
        crate::handlers::publishers::show,
        crate::handlers::publishers::claim,
        crate::handlers::publishers::claims,
        crate::handlers::publishers::grant,
        crate::handlers::publishers::refuse,
        crate::handlers::publishers::verify,
        crate::handlers::publishers::unverify,
        crate::handlers::collections::list,
        crate::handlers::collections::show,
        crate::handlers::collections::put,
        crate::handlers::collections::delete,
        crate::handlers::compare::compare,
        crate::handlers::deprecations::put,
        crate::handlers::deprecations::delete,
        crate::handlers::notifications::list,
        crate::handlers::notifications::mark_read,
        crate::handlers::webhooks::list,
        crate::handlers::webhooks::create,
        crate::handlers::webhooks::delete,
        crate::handlers::webhooks::deliveries,
        crate::handlers::updates::changelog,
        crate::handlers::updates::check,
        crate::handlers::npm::document_doc,
        crate::handlers::npm::tarball_doc,
        crate::handlers::registry::publish,
        crate::handlers::registry::show,
        crate::handlers::registry::unpublish,
        crate::handlers::registry::set_tag,
        crate::handlers::registry::remove_tag,
        crate::handlers::registry::create_token,
        crate::handlers::registry::tokens,
        crate::handlers::registry::revoke_token,
        crate::handlers::registry::quarantine,
        crate::handlers::registry::release,
        crate::handlers::registry::reject,
        crate::handlers::registry::blocklist,
        crate::handlers::registry::block,
        crate::handlers::registry::unblock,
        crate::handlers::registry::decide_namespace,
    ),
    components(
        schemas(ErrorBody, ErrorDetail),
        responses(
            BadRequest,
            Unauthenticated,
            Forbidden,
            NotFound,
            Conflict,
            Gone,
            PayloadTooLarge,
            UpgradeRequired,
            UnsupportedMediaType,
            Unprocessable,
            TooManyRequests,
            Internal,
            PluginFailed,
            RegistryFailed,
            UpstreamFailed,
            Unavailable,
        )
    ),
    security(("token" = []), ("session" = [])),
    modifiers(&Security, &Shapes, &Links)
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`: built once.
pub async fn document() -> Json<&'static utoipa::openapi::OpenApi> {
    static DOCUMENT: std::sync::LazyLock<utoipa::openapi::OpenApi> =
        std::sync::LazyLock::new(ApiDoc::openapi);
    Json(&DOCUMENT)
}
