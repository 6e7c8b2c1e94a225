//! Reading things.

use crate::{Result, Store, StoreError};
use plughub_domain::{Thing, ThingKind};
use sqlx::Row;
use sqlx::any::AnyRow;

const THING_COLUMNS: &str = "id, kind, name, group_id, status, properties, created_at, updated_at";

impl Store {
    /// A thing by kind and name, in a group (`None` for global things such as catalogue entries).
    pub async fn thing_by_name(
        &self,
        kind: ThingKind,
        group_id: Option<&str>,
        name: &str,
    ) -> Result<Option<Thing>> {
        let sql = format!(
            "SELECT {THING_COLUMNS} FROM things WHERE kind = $1 AND COALESCE(group_id, '') = $2 AND name = $3"
        );
        let row = sqlx::query(&sql)
            .bind(kind.as_str())
            .bind(group_id.unwrap_or(""))
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(thing_from_row).transpose()
    }

    /// A thing by id.
    pub async fn thing(&self, id: &str) -> Result<Option<Thing>> {
        let sql = format!("SELECT {THING_COLUMNS} FROM things WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(thing_from_row).transpose()
    }

    /// Every thing of a kind in a group (`None` for global things), by name.
    pub async fn things(&self, kind: ThingKind, group_id: Option<&str>) -> Result<Vec<Thing>> {
        let sql = format!(
            "SELECT {THING_COLUMNS} FROM things WHERE kind = $1 AND COALESCE(group_id, '') = $2 ORDER BY name"
        );
        let rows = sqlx::query(&sql)
            .bind(kind.as_str())
            .bind(group_id.unwrap_or(""))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(thing_from_row).collect()
    }

    /// Every thing of a kind, in every group: for work that spans groups (crash recovery, collection).
    pub async fn things_in_all_groups(&self, kind: ThingKind) -> Result<Vec<Thing>> {
        let sql =
            format!("SELECT {THING_COLUMNS} FROM things WHERE kind = $1 ORDER BY group_id, name");
        let rows = sqlx::query(&sql)
            .bind(kind.as_str())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(thing_from_row).collect()
    }

    /// How many groups have a thing of `kind` named `name` (an installed plugin's instances: the
    /// organisations that installed it).
    pub async fn count_groups_with(&self, kind: ThingKind, name: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT group_id) AS n FROM things WHERE kind = $1 AND name = $2",
        )
        .bind(kind.as_str())
        .bind(name)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// How many groups have a thing of `kind` named `name` in `status` (suspended instances of a plugin).
    pub async fn count_groups_with_status(
        &self,
        kind: ThingKind,
        name: &str,
        status: &str,
    ) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT group_id) AS n FROM things WHERE kind = $1 AND name = $2 AND status = $3",
        )
        .bind(kind.as_str())
        .bind(name)
        .bind(status)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// For each name of a thing of `kind`, how many groups have one (each plugin's installs).
    pub async fn count_groups_by_name(
        &self,
        kind: ThingKind,
    ) -> Result<std::collections::HashMap<String, i64>> {
        let rows = sqlx::query(
            "SELECT name, COUNT(DISTINCT group_id) AS n FROM things WHERE kind = $1 GROUP BY name",
        )
        .bind(kind.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("name")?, row.try_get("n")?)))
            .collect()
    }

    pub async fn count_things(&self, kind: ThingKind) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM things WHERE kind = $1")
            .bind(kind.as_str())
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// The text of one kind about a thing, if any.
    pub async fn knowledge(&self, thing_id: &str, kind: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT body FROM knowledge WHERE thing_id = $1 AND kind = $2")
            .bind(thing_id)
            .bind(kind)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("body")).transpose()?)
    }
}

pub(crate) fn thing_from_row(row: &AnyRow) -> Result<Thing> {
    let kind: String = row.try_get("kind")?;
    let properties: String = row.try_get("properties")?;
    Ok(Thing {
        id: row.try_get("id")?,
        kind: kind
            .parse()
            .map_err(|e| StoreError::corrupt("things.kind", e))?,
        name: row.try_get("name")?,
        group_id: row.try_get("group_id")?,
        status: row.try_get("status")?,
        properties: serde_json::from_str(&properties)
            .map_err(|e| StoreError::corrupt("things.properties", e))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
