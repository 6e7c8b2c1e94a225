//! The six dimensions of the product spec: groups, people, things, connections, events and knowledge.
//! Kinds are closed enums so that a typo in a kind is a compile error, and each has the exact string the
//! store writes, so the database stays readable by hand.

use serde::{Deserialize, Serialize};

/// Declares a string-valued enum with `as_str`, `FromStr` and `ALL`, all from one list.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        // Written out rather than derived: the derive does not read the renames of a macro's variants.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} '{}' (expected one of: {})",
                        stringify!($name),
                        other,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// The plan of an organisation; it sets quotas and resource tiers.
    Plan { Free => "free", Pro => "pro", Enterprise => "enterprise" }
);

string_enum!(
    /// What a person may do in a group.
    Role {
        PlatformOwner => "platform_owner",
        OrgOwner => "org_owner",
        OrgUser => "org_user",
        Customer => "customer",
    }
);

string_enum!(
    /// The type of a thing. `elizaos_plugin` things are global (no group); the others belong to a group.
    ThingKind {
        ElizaosPlugin => "elizaos_plugin",
        PluginInstance => "plugin_instance",
        PluginAction => "plugin_action",
        PluginProvider => "plugin_provider",
        PluginEvaluator => "plugin_evaluator",
        PluginClient => "plugin_client",
        PluginAdapter => "plugin_adapter",
        PluginService => "plugin_service",
        PluginReview => "plugin_review",
        Agent => "agent",
        Publisher => "publisher",
        Collection => "collection",
        Webhook => "webhook",
    }
);

string_enum!(
    /// The type of a connection between two things.
    ConnectionKind {
        PluginDependsOn => "plugin_depends_on",
        PluginPowers => "plugin_powers",
        PluginProvides => "plugin_provides",
        PluginInstalledIn => "plugin_installed_in",
        PluginCreatedBy => "plugin_created_by",
        PluginUses => "plugin_uses",
        // A review (`plugin_review`) of a catalogue plugin (`elizaos_plugin`).
        ReviewOf => "review_of",
    }
);

string_enum!(
    /// The type of an event. Events are append-only: the store never changes one, and deletes them only
    /// with the organisation they belong to, or past the retention age for executions.
    EventType {
        PluginDiscovered => "plugin_discovered",
        PluginInstalled => "plugin_installed",
        PluginConfigured => "plugin_configured",
        PluginActivated => "plugin_activated",
        PluginDeactivated => "plugin_deactivated",
        PluginUpdated => "plugin_updated",
        PluginUninstalled => "plugin_uninstalled",
        PluginActionExecuted => "plugin_action_executed",
        PluginErrorOccurred => "plugin_error_occurred",
        PluginAttemptFailed => "plugin_attempt_failed",
        GroupCreated => "group_created",
        // An organisation deleted with everything of it: kept on the platform's log (no group).
        GroupDeleted => "group_deleted",
        AgentCreated => "agent_created",
        PluginManifestRecorded => "plugin_manifest_recorded",
        PluginResumed => "plugin_resumed",
        PluginPermissionsGranted => "plugin_permissions_granted",
        PluginPermissionsRevoked => "plugin_permissions_revoked",
        PluginNetworkRequest => "plugin_network_request",
        PluginAccessDenied => "plugin_access_denied",
        PersonCreated => "person_created",
        MemberChanged => "member_changed",
        TokenCreated => "token_created",
        TokenRevoked => "token_revoked",
        SignedIn => "signed_in",
        SignInFailed => "sign_in_failed",
        SignInThrottled => "sign_in_throttled",
        PluginAnalysed => "plugin_analysed",
        MemberRemoved => "member_removed",
        PasswordChanged => "password_changed",
        PlanChanged => "plan_changed",
        InvitationCreated => "invitation_created",
        InvitationWithdrawn => "invitation_withdrawn",
        InvitationAccepted => "invitation_accepted",
        AgentChanged => "agent_changed",
        // The marketplace (issue 17): reviews.
        ReviewPosted => "review_posted",
        ReviewEdited => "review_edited",
        ReviewDeleted => "review_deleted",
        ReviewVoted => "review_voted",
        ReviewAnswered => "review_answered",
        ReviewReported => "review_reported",
        ReviewHidden => "review_hidden",
        ReviewRestored => "review_restored",
        ReviewerBanned => "reviewer_banned",
        ReviewerUnbanned => "reviewer_unbanned",
        // Publishers and what platform owners decide of the catalogue.
        PublisherClaimed => "publisher_claimed",
        PublisherClaimGranted => "publisher_claim_granted",
        PublisherClaimRefused => "publisher_claim_refused",
        PublisherVerified => "publisher_verified",
        PublisherVerificationRevoked => "publisher_verification_revoked",
        PluginDeprecated => "plugin_deprecated",
        PluginUndeprecated => "plugin_undeprecated",
        CollectionChanged => "collection_changed",
        CollectionDeleted => "collection_deleted",
        // Updates and notifications.
        PluginUpdateAvailable => "plugin_update_available",
        WebhookChanged => "webhook_changed",
        WebhookDeleted => "webhook_deleted",
        // plughub as a registry (issue 18): versions published to it, on their catalogue entry.
        VersionPublished => "version_published",
        VersionQuarantined => "version_quarantined",
        VersionReleased => "version_released",
        VersionRejected => "version_rejected",
        VersionUnpublished => "version_unpublished",
        DistTagChanged => "dist_tag_changed",
        BlocklistChanged => "blocklist_changed",
        PublishTokenCreated => "publish_token_created",
        PublishTokenRevoked => "publish_token_revoked",
        NamespaceOwnershipDecided => "namespace_ownership_decided",
        // Compatibility runs (issue 19): a trial recorded, on the catalogue entry when there is one.
        PluginTried => "plugin_tried",
    }
);

/// An organisation (or a sub-group of one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub plan: Plan,
    pub created_at: String,
}

/// A typed thing. `properties` holds the kind-specific data as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thing {
    pub id: String,
    pub kind: ThingKind,
    pub name: String,
    pub group_id: Option<String>,
    pub status: String,
    pub properties: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
}

/// A typed link from one thing to another, with its metadata (a version range, enabled actions, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub id: String,
    pub kind: ConnectionKind,
    pub from_id: String,
    pub to_id: String,
    pub group_id: Option<String>,
    pub metadata: serde_json::Value,
    pub created_at: String,
}

/// An event to append, written in the same transaction as the change it records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub event_type: EventType,
    /// Who caused it: a person id, or a system actor such as `sync:registry:main`.
    pub actor: String,
    /// The thing it is about.
    pub target: Option<String>,
    pub group_id: Option<String>,
    pub metadata: serde_json::Value,
}

/// An event as stored, with its position in the log and its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub event_type: EventType,
    pub actor: String,
    pub target: Option<String>,
    pub group_id: Option<String>,
    pub time: String,
    /// What the event records; its fields depend on `event_type`.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
}

impl StoredEvent {
    /// Whether it records an execution: a run of a component, a failed one, or a plugin that did not
    /// start for one (failed installs share the error type, and are not executions).
    pub fn is_execution(&self) -> bool {
        is_execution(self.event_type, &self.metadata)
    }
}

/// Whether an event of `event_type` with `metadata` records an execution: a run of a component, a
/// failed one, or a plugin that did not start for one (failed installs share the error type, and are not
/// executions; nor is a failed attempt that was retried, `plugin_attempt_failed`: a run counts once).
/// The store's SQL (`executions_condition`) is the one other statement of this rule.
pub fn is_execution(event_type: EventType, metadata: &serde_json::Value) -> bool {
    event_type == EventType::PluginActionExecuted
        || (event_type == EventType::PluginErrorOccurred
            && (metadata.get("kind").is_some() || metadata["operation"] == "init"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_strings() {
        for kind in ThingKind::ALL {
            assert_eq!(kind.as_str().parse::<ThingKind>().unwrap(), *kind);
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        let err = "plugin".parse::<ThingKind>().unwrap_err();
        assert!(err.contains("elizaos_plugin"), "{err}");
    }
}
