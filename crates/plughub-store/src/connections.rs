//! Reading connections between things.

use crate::{Result, Store, StoreError};
use plughub_domain::{Connection, ConnectionKind};
use sqlx::Row;
use sqlx::any::AnyRow;

pub(crate) const CONNECTION_COLUMNS: &str =
    "id, kind, from_id, to_id, group_id, metadata, created_at";

impl Store {
    /// Connections of a kind leaving a thing, oldest first.
    pub async fn connections_from(
        &self,
        kind: ConnectionKind,
        from_id: &str,
    ) -> Result<Vec<Connection>> {
        self.connections_where(kind, "from_id", from_id).await
    }

    /// Connections of a kind arriving at a thing, oldest first.
    pub async fn connections_to(
        &self,
        kind: ConnectionKind,
        to_id: &str,
    ) -> Result<Vec<Connection>> {
        self.connections_where(kind, "to_id", to_id).await
    }

    async fn connections_where(
        &self,
        kind: ConnectionKind,
        column: &'static str,
        id: &str,
    ) -> Result<Vec<Connection>> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections WHERE kind = $1 AND {column} = $2 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(kind.as_str())
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(connection_from_row).collect()
    }
}

fn connection_from_row(row: &AnyRow) -> Result<Connection> {
    let kind: String = row.try_get("kind")?;
    let metadata: String = row.try_get("metadata")?;
    Ok(Connection {
        id: row.try_get("id")?,
        kind: kind
            .parse()
            .map_err(|e| StoreError::corrupt("connections.kind", e))?,
        from_id: row.try_get("from_id")?,
        to_id: row.try_get("to_id")?,
        group_id: row.try_get("group_id")?,
        metadata: serde_json::from_str(&metadata)
            .map_err(|e| StoreError::corrupt("connections.metadata", e))?,
        created_at: row.try_get("created_at")?,
    })
}
