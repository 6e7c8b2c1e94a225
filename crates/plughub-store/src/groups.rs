//! Groups: reading them, their plans, and a summary of each for the platform's administration.
//!
//! A group's name, id and parent never change once it is made, and it is never deleted; its plan may
//! change (`set_plan`). A group found by name is kept for `GROUP_RECHECK`, and every lookup of that
//! name meanwhile (each API call names its organisation) is answered without the store: a plan changed
//! on this server is seen at once (the change forgets the group here), one changed on another server
//! sharing the store within that time. A group not found is not kept: it may be made at any moment, on
//! any node.

use crate::events::insert_event;
use crate::{Result, Store, StoreError, StoreTx};
use plughub_domain::{EventType, Group, NewEvent, Plan};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Groups found, by name, with when they were read; at most `GROUPS_KEPT` (past it they are all
/// dropped and read again).
pub(crate) type GroupsSeen = Arc<Mutex<HashMap<String, (Instant, Group)>>>;
const GROUPS_KEPT: usize = 10_000;
/// How long a group read is used without reading it again: a plan changed by another server is seen
/// within this time.
pub const GROUP_RECHECK: Duration = Duration::from_secs(5);

/// An organisation in the platform's list: its plan, how many members it has and how many plugins it
/// has installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    pub id: String,
    pub name: String,
    pub plan: Plan,
    pub parent_id: Option<String>,
    pub created_at: String,
    pub members: i64,
    pub plugins: i64,
}

impl StoreTx<'_> {
    /// Changes a group's plan; false when there is no such group. The store's handle that made the
    /// change should forget the group (`Store::forget_group`) once the transaction commits.
    pub async fn set_plan(&mut self, group_id: &str, plan: Plan, actor: &str) -> Result<bool> {
        let row = sqlx::query("SELECT plan FROM groups WHERE id = $1")
            .bind(group_id)
            .fetch_optional(self.conn())
            .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let before: String = row.try_get("plan")?;
        sqlx::query("UPDATE groups SET plan = $1 WHERE id = $2")
            .bind(plan.as_str())
            .bind(group_id)
            .execute(self.conn())
            .await?;
        let event = NewEvent {
            event_type: EventType::PlanChanged,
            actor: actor.to_string(),
            target: None,
            group_id: Some(group_id.to_string()),
            metadata: serde_json::json!({ "plan": plan, "before": before }),
        };
        insert_event(&mut self.tx, &self.metrics, &event).await?;
        Ok(true)
    }
}

impl Store {
    pub async fn group_by_name(&self, name: &str) -> Result<Option<Group>> {
        if let Some((read, group)) = self.groups_seen.lock().expect("not poisoned").get(name)
            && read.elapsed() < GROUP_RECHECK
        {
            return Ok(Some(group.clone()));
        }
        let row =
            sqlx::query("SELECT id, name, parent_id, plan, created_at FROM groups WHERE name = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?;
        let group = row.as_ref().map(group_from_row).transpose()?;
        if let Some(group) = &group {
            let mut seen = self.groups_seen.lock().expect("not poisoned");
            if seen.len() >= GROUPS_KEPT {
                seen.clear();
            }
            seen.insert(name.to_string(), (Instant::now(), group.clone()));
        }
        Ok(group)
    }

    /// Forgets what was read of a group, after a change to it.
    pub fn forget_group(&self, name: &str) {
        self.groups_seen.lock().expect("not poisoned").remove(name);
    }

    /// Every group with its number of members and of installed plugins, by name.
    pub async fn group_summaries(&self) -> Result<Vec<GroupSummary>> {
        let rows = sqlx::query(
            "SELECT g.id, g.name, g.plan, g.parent_id, g.created_at, \
             (SELECT COUNT(*) FROM memberships m WHERE m.group_id = g.id) AS members, \
             (SELECT COUNT(*) FROM things t WHERE t.group_id = g.id AND t.kind = 'plugin_instance') AS plugins \
             FROM groups g ORDER BY g.name",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let group = group_from_row(row)?;
                Ok(GroupSummary {
                    id: group.id,
                    name: group.name,
                    plan: group.plan,
                    parent_id: group.parent_id,
                    created_at: group.created_at,
                    members: row.try_get("members")?,
                    plugins: row.try_get("plugins")?,
                })
            })
            .collect()
    }

    pub async fn groups(&self) -> Result<Vec<Group>> {
        let rows =
            sqlx::query("SELECT id, name, parent_id, plan, created_at FROM groups ORDER BY name")
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(group_from_row).collect()
    }
}

fn group_from_row(row: &AnyRow) -> Result<Group> {
    let plan: String = row.try_get("plan")?;
    Ok(Group {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        parent_id: row.try_get("parent_id")?,
        plan: plan
            .parse()
            .map_err(|e| StoreError::corrupt("groups.plan", e))?,
        created_at: row.try_get("created_at")?,
    })
}
