//! Invitations: an owner makes a link that gives a role in their organisation to whoever opens it (or
//! to the one email it names), once. The link's secret is random, shown once, and stored as its hash.
//! Accepting marks the invitation used and gives the role in one transaction; someone new is made a
//! person in that same transaction.

use crate::members::{NewPerson, put_role_in};
use crate::{AccountError, Accounts, hash_secret, is_past, new_secret, normalise_email, rfc3339};
use plughub_domain::{Group, Role};
use plughub_store::{InvitationRecord, PersonRecord};
use std::ops::RangeInclusive;
use time::OffsetDateTime;

/// Invitation links' secrets start `phi_`.
pub const INVITATION_PREFIX: &str = "phi";
/// How long an invitation may last, in days.
pub const INVITATION_DAYS: RangeInclusive<u32> = 1..=30;
pub const INVITATION_DEFAULT_DAYS: u32 = 7;

impl Accounts {
    /// A new invitation to `group` with `role`, for anyone with the link or for `email` only, lasting
    /// `days`; its secret is returned this once.
    pub async fn invite(
        &self,
        group: &Group,
        role: Role,
        email: Option<&str>,
        days: u32,
        actor: &str,
    ) -> Result<(InvitationRecord, String), AccountError> {
        if !INVITATION_DAYS.contains(&days) {
            return Err(AccountError::BadInvitationExpiry);
        }
        if role == Role::PlatformOwner || group.name == crate::PLATFORM_GROUP {
            return Err(AccountError::RoleNotHere(
                "invitations give org_owner, org_user or customer in an organisation; platform owners are made with PUT /api/admin/people/{email}/roles/platform".into(),
            ));
        }
        let email = email
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(normalise_email)
            .transpose()?;
        let (secret, hash) = new_secret(INVITATION_PREFIX)?;
        let expires = rfc3339(OffsetDateTime::now_utc() + time::Duration::days(i64::from(days)));
        let mut tx = self.store.begin().await?;
        let invitation = tx
            .create_invitation(
                &group.id,
                &group.name,
                role,
                email.as_deref(),
                &hash,
                &expires,
                actor,
            )
            .await?;
        tx.commit().await?;
        Ok((invitation, secret))
    }

    /// A group's invitations still open: not accepted, withdrawn or expired.
    pub async fn open_invitations(
        &self,
        group: &Group,
    ) -> Result<Vec<InvitationRecord>, AccountError> {
        Ok(self
            .store
            .open_invitations(&group.id, &plughub_store::now_rfc3339())
            .await?)
    }

    /// Withdraws an open invitation of `group`.
    pub async fn withdraw_invitation(
        &self,
        group: &Group,
        id: &str,
        actor: &str,
    ) -> Result<(), AccountError> {
        let mut tx = self.store.begin().await?;
        if !tx.withdraw_invitation(&group.id, id, actor).await? {
            return Err(AccountError::NoSuchInvitation {
                id: id.to_string(),
                org: group.name.clone(),
            });
        }
        tx.commit().await?;
        Ok(())
    }

    /// The open invitation of a link's secret: `UnknownInvitation` when there is none (or it was used
    /// or withdrawn), `InvitationExpired` past its expiry.
    pub async fn invitation(&self, secret: &str) -> Result<InvitationRecord, AccountError> {
        let invitation = self
            .store
            .invitation_by_hash(&hash_secret(secret.trim()))
            .await?
            .filter(InvitationRecord::open)
            .ok_or(AccountError::UnknownInvitation)?;
        if is_past(&invitation.expires_at) {
            return Err(AccountError::InvitationExpired(invitation.expires_at));
        }
        Ok(invitation)
    }

    /// A signed-in person accepts an invitation: they get its role in its organisation (replacing the
    /// one they had there, never leaving it without an owner). An invitation naming someone else is
    /// refused (`InvitationNotYours`).
    pub async fn accept_invitation(
        &self,
        secret: &str,
        person_id: &str,
    ) -> Result<InvitationRecord, AccountError> {
        let invitation = self.invitation(secret).await?;
        let person = self
            .store
            .person(person_id)
            .await?
            .ok_or(AccountError::SessionEnded)?;
        check_addressee(&invitation, &person.email)?;
        let group = self.group(&invitation.group).await?;
        let mut tx = self.store.begin().await?;
        if !tx
            .accept_invitation(&invitation, &person.id, &person.email)
            .await?
        {
            return Err(AccountError::UnknownInvitation);
        }
        put_role_in(
            &mut tx,
            &person,
            &group,
            Some(invitation.role),
            false,
            &person.email,
        )
        .await?;
        tx.commit().await?;
        self.forget_recent();
        Ok(invitation)
    }

    /// Someone new accepts an invitation: they are made a person with `password` (at least
    /// `MIN_PASSWORD_CHARS`) and get its role, in one transaction, and are signed in: the session's
    /// secret and its end are returned. An email that has a person already is refused (`EmailTaken`:
    /// they sign in first).
    pub async fn accept_invitation_as_new(
        &self,
        secret: &str,
        email: &str,
        password: &str,
        display_name: &str,
    ) -> Result<(InvitationRecord, PersonRecord, String, String), AccountError> {
        let invitation = self.invitation(secret).await?;
        let email = normalise_email(email)?;
        check_addressee(&invitation, &email)?;
        if self.store.person_by_email(&email).await?.is_some() {
            return Err(AccountError::EmailTaken(email));
        }
        let group = self.group(&invitation.group).await?;
        let new = NewPerson::new(&email, display_name, password)?;
        let mut tx = self.store.begin().await?;
        let person = new.create(&mut tx, &email).await?;
        if !tx
            .accept_invitation(&invitation, &person.id, &email)
            .await?
        {
            return Err(AccountError::UnknownInvitation);
        }
        put_role_in(
            &mut tx,
            &person,
            &group,
            Some(invitation.role),
            false,
            &email,
        )
        .await?;
        tx.commit().await?;
        let (session, expires_at) = self.start_session(&person.id).await?;
        Ok((invitation, person, session, expires_at))
    }
}

/// An invitation naming someone is theirs only.
fn check_addressee(invitation: &InvitationRecord, email: &str) -> Result<(), AccountError> {
    match &invitation.email {
        Some(meant) if !meant.eq_ignore_ascii_case(email) => {
            Err(AccountError::InvitationNotYours(meant.clone()))
        }
        _ => Ok(()),
    }
}
