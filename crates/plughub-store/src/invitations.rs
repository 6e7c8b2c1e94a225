//! Invitations to join a group with a role. The secret of an invitation's link is never stored: only the
//! SHA-256 it must match, as for tokens. An invitation is used once: accepting marks it used in the
//! transaction that gives the role, and only one transaction can mark it.

use crate::clock::now_rfc3339;
use crate::events::insert_event;
use crate::{Result, Store, StoreError, StoreTx};
use plughub_domain::{EventType, NewEvent, Role};
use sqlx::Row;
use sqlx::any::AnyRow;

/// An invitation as stored (never its secret), with its group's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRecord {
    pub id: String,
    pub group_id: String,
    pub group: String,
    pub role: Role,
    /// Whom it is meant for, when it names someone.
    pub email: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub accepted_at: Option<String>,
    pub withdrawn_at: Option<String>,
}

impl InvitationRecord {
    /// Neither accepted nor withdrawn (it may have expired).
    pub fn open(&self) -> bool {
        self.accepted_at.is_none() && self.withdrawn_at.is_none()
    }
}

const COLUMNS: &str = "i.id, i.group_id, g.name AS group_name, i.role, i.email, i.created_by, \
                       i.created_at, i.expires_at, i.accepted_at, i.withdrawn_at";

impl StoreTx<'_> {
    /// Records an invitation to `group_id` with `role`, its link's secret kept as `secret_hash`.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_invitation(
        &mut self,
        group_id: &str,
        group: &str,
        role: Role,
        email: Option<&str>,
        secret_hash: &str,
        expires_at: &str,
        actor: &str,
    ) -> Result<InvitationRecord> {
        let invitation = InvitationRecord {
            id: uuid::Uuid::now_v7().to_string(),
            group_id: group_id.to_string(),
            group: group.to_string(),
            role,
            email: email.map(str::to_string),
            created_by: actor.to_string(),
            created_at: now_rfc3339(),
            expires_at: expires_at.to_string(),
            accepted_at: None,
            withdrawn_at: None,
        };
        sqlx::query(
            "INSERT INTO invitations (id, group_id, role, email, secret_hash, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&invitation.id)
        .bind(group_id)
        .bind(role.as_str())
        .bind(email)
        .bind(secret_hash)
        .bind(actor)
        .bind(&invitation.created_at)
        .bind(expires_at)
        .execute(self.conn())
        .await?;
        let event = NewEvent {
            event_type: EventType::InvitationCreated,
            actor: actor.to_string(),
            target: Some(invitation.id.clone()),
            group_id: Some(group_id.to_string()),
            metadata: serde_json::json!({ "role": role, "email": email, "expires_at": expires_at }),
        };
        insert_event(&mut self.tx, &self.metrics, &event).await?;
        Ok(invitation)
    }

    /// Withdraws an open invitation of a group; false when the group has no such invitation still open.
    pub async fn withdraw_invitation(
        &mut self,
        group_id: &str,
        id: &str,
        actor: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE invitations SET withdrawn_at = $1 WHERE id = $2 AND group_id = $3 \
             AND accepted_at IS NULL AND withdrawn_at IS NULL",
        )
        .bind(now_rfc3339())
        .bind(id)
        .bind(group_id)
        .execute(self.conn())
        .await?
        .rows_affected()
            == 1;
        if done {
            let event = NewEvent {
                event_type: EventType::InvitationWithdrawn,
                actor: actor.to_string(),
                target: Some(id.to_string()),
                group_id: Some(group_id.to_string()),
                metadata: serde_json::json!({}),
            };
            insert_event(&mut self.tx, &self.metrics, &event).await?;
        }
        Ok(done)
    }

    /// Marks an open invitation used by `person_id`; false when it is not open any more (another
    /// request used or withdrew it first). The role it gives is the caller's to set, in this transaction.
    pub async fn accept_invitation(
        &mut self,
        invitation: &InvitationRecord,
        person_id: &str,
        actor: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE invitations SET accepted_at = $1, accepted_by = $2 WHERE id = $3 \
             AND accepted_at IS NULL AND withdrawn_at IS NULL",
        )
        .bind(now_rfc3339())
        .bind(person_id)
        .bind(&invitation.id)
        .execute(self.conn())
        .await?
        .rows_affected()
            == 1;
        if done {
            let event = NewEvent {
                event_type: EventType::InvitationAccepted,
                actor: actor.to_string(),
                target: Some(invitation.id.clone()),
                group_id: Some(invitation.group_id.clone()),
                metadata: serde_json::json!({ "person": person_id, "role": invitation.role }),
            };
            insert_event(&mut self.tx, &self.metrics, &event).await?;
        }
        Ok(done)
    }
}

impl Store {
    /// The invitation whose link's secret has this hash, whatever became of it.
    pub async fn invitation_by_hash(&self, secret_hash: &str) -> Result<Option<InvitationRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM invitations i JOIN groups g ON g.id = i.group_id WHERE i.secret_hash = $1"
        );
        let row = sqlx::query(&sql)
            .bind(secret_hash)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(invitation_from_row).transpose()
    }

    /// A group's invitations neither accepted nor withdrawn nor expired at `now`, oldest first.
    pub async fn open_invitations(
        &self,
        group_id: &str,
        now: &str,
    ) -> Result<Vec<InvitationRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM invitations i JOIN groups g ON g.id = i.group_id \
             WHERE i.group_id = $1 AND i.accepted_at IS NULL AND i.withdrawn_at IS NULL \
             AND i.expires_at > $2 ORDER BY i.created_at, i.id"
        );
        let rows = sqlx::query(&sql)
            .bind(group_id)
            .bind(now)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(invitation_from_row).collect()
    }
}

fn invitation_from_row(row: &AnyRow) -> Result<InvitationRecord> {
    let role: String = row.try_get("role")?;
    Ok(InvitationRecord {
        id: row.try_get("id")?,
        group_id: row.try_get("group_id")?,
        group: row.try_get("group_name")?,
        role: role
            .parse()
            .map_err(|e| StoreError::corrupt("invitations.role", e))?,
        email: row.try_get("email")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        accepted_at: row.try_get("accepted_at")?,
        withdrawn_at: row.try_get("withdrawn_at")?,
    })
}
