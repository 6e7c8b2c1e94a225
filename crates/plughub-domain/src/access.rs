//! Who may do what, as `product-spec.md` says: a platform_owner moderates the catalogue and keeps the
//! organisations; an org_owner installs, uninstalls, configures and grants; an org_user uses what is
//! installed and runs actions; a customer has no plugin access. Roles hold in the group they were given
//! in, and nothing of a group is reachable from another: to a person outside it, a group's things do not
//! exist (not found, never forbidden, so guessing ids tells nothing).

use crate::Role;
use serde::{Deserialize, Serialize};

/// Something a request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Search and read the catalogue (public).
    BrowseCatalogue,
    /// Sync the catalogue, moderate reviews and entries.
    ModerateCatalogue,
    /// Create organisations and list them all.
    ManageOrganisations,
    /// See a group's installed plugins, agents and their settings (secrets by name only).
    ViewGroup,
    /// Install, update, roll back, uninstall.
    ManagePlugins,
    /// Set a plugin's settings and secrets.
    Configure,
    /// Grant and revoke permissions.
    Grant,
    /// Activate and deactivate plugins for agents; create agents.
    ManageAgents,
    /// Run an action, provider, evaluator or route of an installed plugin.
    Run,
    /// Read execution logs, events and metrics of the group.
    ViewActivity,
    /// Add people to the group and change their roles.
    ManageMembers,
    /// See the group's analytics: executions, error rates, latency and cost (owners only, as the
    /// marketplace's issue says: cost is the owner's business).
    ViewAnalytics,
    /// Make and delete the group's webhooks, and read their deliveries.
    ManageWebhooks,
    /// Export all the group's data, and delete the group with everything of it (owners only).
    ExportOrDelete,
}

impl Action {
    pub const ALL: [Action; 14] = [
        Action::BrowseCatalogue,
        Action::ModerateCatalogue,
        Action::ManageOrganisations,
        Action::ViewGroup,
        Action::ManagePlugins,
        Action::Configure,
        Action::Grant,
        Action::ManageAgents,
        Action::Run,
        Action::ViewActivity,
        Action::ManageMembers,
        Action::ViewAnalytics,
        Action::ManageWebhooks,
        Action::ExportOrDelete,
    ];

    /// Whether the action is on one group's things (else on the platform).
    pub fn in_group(self) -> bool {
        !matches!(
            self,
            Action::BrowseCatalogue | Action::ModerateCatalogue | Action::ManageOrganisations
        )
    }
}

/// Whether `role` allows `action` (in the group the role is held in, for group actions).
pub fn role_allows(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::PlatformOwner => matches!(
            action,
            BrowseCatalogue | ModerateCatalogue | ManageOrganisations
        ),
        Role::OrgOwner => action != ModerateCatalogue && action != ManageOrganisations,
        Role::OrgUser => matches!(action, BrowseCatalogue | ViewGroup | Run | ViewActivity),
        Role::Customer => action == BrowseCatalogue,
    }
}

/// One role of a person in one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Membership {
    pub group_id: String,
    pub group: String,
    pub role: Role,
}

/// Who a request comes from: a person and the roles they hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Principal {
    pub person_id: String,
    pub email: String,
    pub memberships: Vec<Membership>,
}

/// Why a request may not go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The group is not the person's: it is as if it did not exist.
    NotFound,
    /// The person is in the group (or on the platform), without a role that allows this.
    Forbidden { role: Option<Role>, action: Action },
}

impl Principal {
    pub fn role_in(&self, group_id: &str) -> Option<Role> {
        self.memberships
            .iter()
            .find(|m| m.group_id == group_id)
            .map(|m| m.role)
    }

    pub fn is_platform_owner(&self) -> bool {
        self.memberships
            .iter()
            .any(|m| m.role == Role::PlatformOwner)
    }

    /// Checks `action`, in `group_id` for group actions.
    pub fn may(&self, action: Action, group_id: Option<&str>) -> Result<(), Denial> {
        if !action.in_group() {
            let allowed = action == Action::BrowseCatalogue
                || self.memberships.iter().any(|m| role_allows(m.role, action));
            return if allowed {
                Ok(())
            } else {
                Err(Denial::Forbidden { role: None, action })
            };
        }
        let Some(group_id) = group_id else {
            return Err(Denial::NotFound);
        };
        match self.role_in(group_id) {
            None => Err(Denial::NotFound),
            Some(role) if role_allows(role, action) => Ok(()),
            Some(role) => Err(Denial::Forbidden {
                role: Some(role),
                action,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(role: Role, group: &str) -> Principal {
        Principal {
            person_id: "p".into(),
            email: "p@example.org".into(),
            memberships: vec![Membership {
                group_id: group.into(),
                group: group.into(),
                role,
            }],
        }
    }

    #[test]
    fn the_spec_s_roles() {
        let owner = person(Role::OrgOwner, "acme");
        let user = person(Role::OrgUser, "acme");
        let customer = person(Role::Customer, "acme");
        let platform = person(Role::PlatformOwner, "platform");
        for action in [Action::ManagePlugins, Action::Configure, Action::Grant] {
            assert_eq!(owner.may(action, Some("acme")), Ok(()));
            assert!(matches!(
                user.may(action, Some("acme")),
                Err(Denial::Forbidden { .. })
            ));
        }
        assert_eq!(user.may(Action::Run, Some("acme")), Ok(()));
        assert_eq!(user.may(Action::ViewActivity, Some("acme")), Ok(()));
        assert!(customer.may(Action::Run, Some("acme")).is_err());
        assert!(customer.may(Action::ViewGroup, Some("acme")).is_err());
        assert_eq!(customer.may(Action::BrowseCatalogue, None), Ok(()));
        assert_eq!(platform.may(Action::ModerateCatalogue, None), Ok(()));
        assert!(owner.may(Action::ModerateCatalogue, None).is_err());
    }

    #[test]
    fn another_group_does_not_exist() {
        let owner = person(Role::OrgOwner, "acme");
        for action in Action::ALL.into_iter().filter(|a| a.in_group()) {
            assert_eq!(owner.may(action, Some("globex")), Err(Denial::NotFound));
        }
        // A platform owner is no member of the organisations it keeps.
        let platform = person(Role::PlatformOwner, "platform");
        assert_eq!(
            platform.may(Action::ViewGroup, Some("acme")),
            Err(Denial::NotFound)
        );
    }

    #[test]
    fn every_role_and_action_has_an_answer() {
        let allowed: usize = Role::ALL
            .iter()
            .map(|r| Action::ALL.iter().filter(|a| role_allows(*r, **a)).count())
            .sum();
        // platform_owner 3, org_owner 12, org_user 4, customer 1.
        assert_eq!(allowed, 20);
    }
}
