//! Deleting an organisation with everything of it, in one transaction: what it installed and ran, its
//! agents, webhooks, memories and cache, its members' roles in it, its invitations, its events; and the
//! one event that says it was deleted, on the platform's log.

use crate::{Result, Store, StoreError};
use plughub_domain::{EventType, NewEvent};
use serde::Serialize;

/// What the deletion removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroupRemoval {
    pub things: u64,
    pub events: u64,
    pub memberships: u64,
    pub memories: u64,
    pub invitations: u64,
}

/// The group's things, as a subquery of the statements below.
const THINGS: &str = "SELECT id FROM things WHERE group_id = $1";

impl Store {
    /// Deletes the group `group_id` (named `name`) and everything of it, and records `group_deleted`
    /// by `actor` with what was removed. A group with sub-groups is refused: they go first.
    pub async fn delete_group(
        &self,
        group_id: &str,
        name: &str,
        actor: &str,
    ) -> Result<GroupRemoval> {
        let children: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM groups WHERE parent_id = $1")
            .bind(group_id)
            .fetch_one(self.pool())
            .await?;
        if children > 0 {
            return Err(StoreError::Conflict(format!(
                "'{name}' has {children} sub-organisations: delete them first"
            )));
        }
        let mut tx = self.begin().await?;
        tx.permit_event_deletion("an organisation deleted").await?;
        let mut removed = GroupRemoval::default();
        // Children of the group's things before the things, the things before the group (the foreign
        // keys say so on both databases).
        let statements: [(&str, Option<&mut u64>); 18] = [
            (
                &format!(
                    "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE webhook_id IN ({THINGS}))"
                ),
                None,
            ),
            (
                &format!("DELETE FROM webhook_deliveries WHERE webhook_id IN ({THINGS})"),
                None,
            ),
            (
                &format!("DELETE FROM webhook_secrets WHERE webhook_id IN ({THINGS})"),
                None,
            ),
            (
                &format!("DELETE FROM review_votes WHERE review_id IN ({THINGS})"),
                None,
            ),
            (
                &format!("DELETE FROM review_reports WHERE review_id IN ({THINGS})"),
                None,
            ),
            (
                &format!("DELETE FROM runtime_cache WHERE instance_id IN ({THINGS})"),
                None,
            ),
            (
                &format!("DELETE FROM runtime_usage WHERE instance_id IN ({THINGS})"),
                None,
            ),
            (
                &format!("DELETE FROM memories WHERE group_id = $1 OR instance_id IN ({THINGS})"),
                Some(&mut removed.memories),
            ),
            (
                &format!("DELETE FROM knowledge WHERE thing_id IN ({THINGS})"),
                None,
            ),
            (
                &format!(
                    "DELETE FROM connections WHERE group_id = $1 OR from_id IN ({THINGS}) OR to_id IN ({THINGS})"
                ),
                None,
            ),
            ("DELETE FROM notifications WHERE group_id = $1", None),
            ("DELETE FROM update_notices WHERE group_id = $1", None),
            (
                "DELETE FROM invitations WHERE group_id = $1",
                Some(&mut removed.invitations),
            ),
            ("DELETE FROM execution_leases WHERE group_id = $1", None),
            // The platform's rollups (`*`) keep the executions counted: they name no organisation.
            ("DELETE FROM execution_rollups WHERE group_id = $1", None),
            (
                "DELETE FROM events WHERE group_id = $1",
                Some(&mut removed.events),
            ),
            (
                "DELETE FROM things WHERE group_id = $1",
                Some(&mut removed.things),
            ),
            (
                "DELETE FROM memberships WHERE group_id = $1",
                Some(&mut removed.memberships),
            ),
        ];
        for (sql, count) in statements {
            let done = sqlx::query(sql).bind(group_id).execute(tx.conn()).await?;
            if let Some(count) = count {
                *count = done.rows_affected();
            }
        }
        sqlx::query("DELETE FROM groups WHERE id = $1")
            .bind(group_id)
            .execute(tx.conn())
            .await?;
        tx.end_event_deletion().await?;
        tx.append_event(&NewEvent {
            event_type: EventType::GroupDeleted,
            actor: actor.to_string(),
            target: Some(group_id.to_string()),
            group_id: None,
            metadata: serde_json::json!({ "name": name, "removed": removed }),
        })
        .await?;
        tx.commit().await?;
        self.forget_group(name);
        Ok(removed)
    }
}
