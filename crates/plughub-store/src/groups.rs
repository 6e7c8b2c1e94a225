//! Reading groups.

use crate::{Result, Store, StoreError};
use plughub_domain::Group;
use sqlx::Row;
use sqlx::any::AnyRow;

impl Store {
    pub async fn group_by_name(&self, name: &str) -> Result<Option<Group>> {
        let row =
            sqlx::query("SELECT id, name, parent_id, plan, created_at FROM groups WHERE name = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?;
        row.as_ref().map(group_from_row).transpose()
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
