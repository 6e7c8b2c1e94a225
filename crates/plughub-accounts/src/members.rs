//! Organisations and who is in them: organisations made and their plans changed, roles given, changed
//! and taken back (never the last owner's), people made, and the lists the administration shows. The
//! command line and the API call these same functions.

use crate::MIN_PASSWORD_CHARS;
use crate::{AccountError, Accounts, PLATFORM_GROUP, hash_password, new_secret, normalise_email};
use plughub_domain::access::Membership;
use plughub_domain::{Group, Plan, Role};
use plughub_store::{GroupSummary, MemberRecord, PersonRecord, StoreError, StoreTx, TokenRecord};

/// A person just made, with the password made for them when none was given (shown this once).
#[derive(Debug, Clone)]
pub struct CreatedPerson {
    pub person: PersonRecord,
    pub made_password: Option<String>,
}

/// A person and every role they hold.
#[derive(Debug, Clone)]
pub struct PersonWithRoles {
    pub person: PersonRecord,
    pub roles: Vec<Membership>,
}

/// The role that keeps a group, of which one holder must stay: platform_owner in the platform group,
/// org_owner in an organisation.
pub fn owner_role(group: &Group) -> Role {
    if group.name == PLATFORM_GROUP {
        Role::PlatformOwner
    } else {
        Role::OrgOwner
    }
}

/// Whether `role` may be held in `group`: platform_owner in the platform group, and nothing else there.
fn role_fits(group: &Group, role: Role) -> Result<(), AccountError> {
    let platform = group.name == PLATFORM_GROUP;
    match (platform, role == Role::PlatformOwner) {
        (true, true) | (false, false) => Ok(()),
        (false, true) => Err(AccountError::RoleNotHere(format!(
            "platform_owner is held in the group '{PLATFORM_GROUP}' only; in {} give org_owner, org_user or customer",
            group.name
        ))),
        (true, false) => Err(AccountError::RoleNotHere(format!(
            "in the group '{PLATFORM_GROUP}' only platform_owner is held, not {role}"
        ))),
    }
}

impl Accounts {
    /// Makes an organisation (a sub-group of `parent`, when given).
    pub async fn create_org(
        &self,
        name: &str,
        plan: Plan,
        parent: Option<&str>,
        actor: &str,
    ) -> Result<Group, AccountError> {
        let name = name.trim();
        if !plughub_domain::names::is_usable_name(name) {
            return Err(AccountError::BadOrgName(name.to_string()));
        }
        let parent = match parent {
            Some(p) => Some(self.group(p).await?),
            None => None,
        };
        let mut tx = self.store.begin().await?;
        let group = tx
            .create_group(name, plan, parent.as_ref().map(|g| g.id.as_str()), actor)
            .await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Changes an organisation's plan (its quotas and resource tiers, from its next execution on).
    pub async fn set_plan(
        &self,
        org: &str,
        plan: Plan,
        actor: &str,
    ) -> Result<Group, AccountError> {
        let group = self.group(org).await?;
        let mut tx = self.store.begin().await?;
        if !tx.set_plan(&group.id, plan, actor).await? {
            return Err(AccountError::UnknownOrg(org.to_string()));
        }
        tx.commit().await?;
        self.store.forget_group(&group.name);
        Ok(Group { plan, ..group })
    }

    /// Every organisation (the platform's group too) with its members and installed plugins counted.
    pub async fn orgs(&self) -> Result<Vec<GroupSummary>, AccountError> {
        Ok(self.store.group_summaries().await?)
    }

    /// Every person with their roles, by email.
    pub async fn people(&self) -> Result<Vec<PersonWithRoles>, AccountError> {
        let mut roles = self.store.all_memberships().await?;
        Ok(self
            .store
            .people()
            .await?
            .into_iter()
            .map(|person| PersonWithRoles {
                roles: roles.remove(&person.id).unwrap_or_default(),
                person,
            })
            .collect())
    }

    /// The members of an organisation, with their roles.
    pub async fn members(&self, group: &Group) -> Result<Vec<MemberRecord>, AccountError> {
        Ok(self.store.members(&group.id).await?)
    }

    /// Makes a person with `password`, or with a password made for them (returned this once).
    pub async fn create_person_with_password(
        &self,
        email: &str,
        display_name: &str,
        password: Option<&str>,
        actor: &str,
    ) -> Result<CreatedPerson, AccountError> {
        let made = match password {
            Some(_) => None,
            None => {
                let (secret, _) = new_secret("pw")?;
                Some(secret.trim_start_matches("pw_").to_string())
            }
        };
        let person = self
            .create_person(
                email,
                display_name,
                Some(password.or(made.as_deref()).unwrap_or_default()),
                actor,
            )
            .await?;
        Ok(CreatedPerson {
            person,
            made_password: made,
        })
    }

    /// Gives a person a role in an organisation, replacing the one they had there. The last holder of
    /// the role that keeps it (org_owner; platform_owner on the platform) keeps it.
    pub async fn set_role(
        &self,
        email: &str,
        org: &str,
        role: Role,
        actor: &str,
    ) -> Result<(), AccountError> {
        self.put_role(email, org, Some(role), false, actor).await
    }

    /// Changes the role of a member of an organisation; someone who is not one is refused
    /// (`NotMember`).
    pub async fn change_role(
        &self,
        email: &str,
        org: &str,
        role: Role,
        actor: &str,
    ) -> Result<(), AccountError> {
        self.put_role(email, org, Some(role), true, actor).await
    }

    /// Takes a member's role in an organisation away (never the last owner's).
    pub async fn remove_member(
        &self,
        email: &str,
        org: &str,
        actor: &str,
    ) -> Result<(), AccountError> {
        self.put_role(email, org, None, true, actor).await
    }

    async fn put_role(
        &self,
        email: &str,
        org: &str,
        role: Option<Role>,
        members_only: bool,
        actor: &str,
    ) -> Result<(), AccountError> {
        let person = self.person(email).await?;
        let group = self.group(org).await?;
        let mut tx = self.store.begin().await?;
        put_role_in(&mut tx, &person, &group, role, members_only, actor).await?;
        tx.commit().await?;
        self.forget_recent();
        Ok(())
    }

    /// Revokes one of `person_id`'s own tokens; another person's token is as unknown as no token.
    pub async fn revoke_own_token(
        &self,
        person_id: &str,
        token_id: &str,
        actor: &str,
    ) -> Result<(), AccountError> {
        match self.store.token(token_id).await? {
            Some(token) if token.person_id == person_id => self.revoke_token(token_id, actor).await,
            _ => Err(AccountError::NoSuchToken(token_id.to_string())),
        }
    }

    /// A person's tokens, by their id (never their secrets).
    pub async fn tokens_of(&self, person_id: &str) -> Result<Vec<TokenRecord>, AccountError> {
        Ok(self.store.tokens_of(person_id).await?)
    }

    /// Every person's tokens, with whose each is (never their secrets).
    pub async fn all_tokens(&self) -> Result<Vec<(TokenRecord, String)>, AccountError> {
        Ok(self.store.all_tokens().await?)
    }

    pub(crate) async fn group(&self, org: &str) -> Result<Group, AccountError> {
        self.store
            .group_by_name(org)
            .await?
            .ok_or_else(|| AccountError::UnknownOrg(org.to_string()))
    }
}

/// A person to make, checked and with their password hashed: made before a transaction begins, so that
/// the slow hash holds no lock.
pub(crate) struct NewPerson {
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
}

impl NewPerson {
    pub(crate) fn new(
        email: &str,
        display_name: &str,
        password: &str,
    ) -> Result<NewPerson, AccountError> {
        let email = normalise_email(email)?;
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(AccountError::WeakPassword);
        }
        Ok(NewPerson {
            display_name: display_name_or_default(display_name, &email),
            password_hash: hash_password(password)?,
            email,
        })
    }

    /// Makes the person in `tx`; an email taken already is `EmailTaken`.
    pub(crate) async fn create(
        &self,
        tx: &mut StoreTx<'_>,
        actor: &str,
    ) -> Result<PersonRecord, AccountError> {
        tx.create_person(
            &self.email,
            &self.display_name,
            Some(&self.password_hash),
            actor,
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => AccountError::EmailTaken(self.email.clone()),
            e => e.into(),
        })
    }
}

/// The name shown for a person: the one given, else the part of the email before `@`.
pub(crate) fn display_name_or_default(display_name: &str, email: &str) -> String {
    if display_name.trim().is_empty() {
        email.split('@').next().unwrap_or_default().to_string()
    } else {
        display_name.trim().to_string()
    }
}

/// Sets (`Some`) or takes away (`None`) a person's role in a group, in `tx`: the group's memberships
/// are locked first, and the change is refused when it would leave the group without the role that
/// keeps it. `members_only`: the person must hold a role there already.
pub(crate) async fn put_role_in(
    tx: &mut StoreTx<'_>,
    person: &PersonRecord,
    group: &Group,
    role: Option<Role>,
    members_only: bool,
    actor: &str,
) -> Result<(), AccountError> {
    if let Some(role) = role {
        role_fits(group, role)?;
    }
    tx.lock_members(&group.id).await?;
    let before = tx.role_in(&person.id, &group.id).await?;
    if before.is_none() && (members_only || role.is_none()) {
        return Err(AccountError::NotMember {
            email: person.email.clone(),
            org: group.name.clone(),
        });
    }
    match role {
        Some(role) => {
            tx.set_membership(&person.id, &group.id, role, actor)
                .await?
        }
        None => {
            tx.remove_membership(&person.id, &group.id, actor).await?;
        }
    }
    let owner = owner_role(group);
    if before == Some(owner) && role != Some(owner) && tx.count_role(&group.id, owner).await? == 0 {
        return Err(AccountError::LastOwner {
            email: person.email.clone(),
            org: group.name.clone(),
            role: owner,
        });
    }
    Ok(())
}
