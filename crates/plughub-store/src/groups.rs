//! Reading groups.
//!
//! A group's row is written once, when it is made, and never updated or deleted (its name, id, plan and
//! parent stay), so a group found by name is kept and every later lookup of that name (each API call
//! names its organisation) is answered without the store. A group not found is not kept: it may be
//! made at any moment, on any node. Whoever adds a way to change a group's row must drop this.

use crate::{Result, Store, StoreError};
use plughub_domain::Group;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Groups found, by name; at most `GROUPS_KEPT` (past it they are all dropped and read again).
pub(crate) type GroupsSeen = Arc<Mutex<HashMap<String, Group>>>;
const GROUPS_KEPT: usize = 10_000;

impl Store {
    pub async fn group_by_name(&self, name: &str) -> Result<Option<Group>> {
        if let Some(group) = self.groups_seen.lock().expect("not poisoned").get(name) {
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
            seen.insert(name.to_string(), group.clone());
        }
        Ok(group)
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
