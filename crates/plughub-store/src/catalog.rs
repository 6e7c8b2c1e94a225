//! The catalogue's reads: entries with their raw properties (compared as text, so an unchanged entry is
//! found unchanged without parsing), their readmes, and the history of syncs.

use crate::{Result, Store, StoreError};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::HashMap;

/// An `elizaos_plugin` thing as stored.
#[derive(Debug, Clone)]
pub struct CatalogRow {
    pub id: String,
    pub name: String,
    pub status: String,
    /// The entry's properties exactly as stored (serialised JSON).
    pub properties: String,
    pub updated_at: String,
}

/// One catalogue sync: when, with what outcome, and a report of each source read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRun {
    pub id: String,
    pub started_at: String,
    pub finished_at: String,
    /// `ok`, `partial` (some source failed) or `failed` (nothing was changed).
    pub status: String,
    pub report: serde_json::Value,
}

impl Store {
    pub async fn catalog_rows(&self) -> Result<Vec<CatalogRow>> {
        let rows = sqlx::query(
            "SELECT id, name, status, properties, updated_at FROM things \
             WHERE kind = 'elizaos_plugin' AND group_id IS NULL ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CatalogRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    status: r.try_get("status")?,
                    properties: r.try_get("properties")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Every text of one kind about catalogue entries, by thing id.
    pub async fn catalog_knowledge(&self, kind: &str) -> Result<HashMap<String, String>> {
        let rows = sqlx::query(
            "SELECT k.thing_id, k.body FROM knowledge k JOIN things t ON t.id = k.thing_id \
             WHERE t.kind = 'elizaos_plugin' AND k.kind = $1",
        )
        .bind(kind)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("thing_id")?, r.try_get("body")?)))
            .collect()
    }

    /// The newest sync runs, newest first.
    pub async fn sync_runs(&self, limit: i64) -> Result<Vec<SyncRun>> {
        let rows = sqlx::query(
            "SELECT id, started_at, finished_at, status, report FROM catalog_syncs \
             ORDER BY started_at DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let report: String = r.try_get("report")?;
                Ok(SyncRun {
                    id: r.try_get("id")?,
                    started_at: r.try_get("started_at")?,
                    finished_at: r.try_get("finished_at")?,
                    status: r.try_get("status")?,
                    report: serde_json::from_str(&report)
                        .map_err(|e| StoreError::corrupt("catalog_syncs.report", e))?,
                })
            })
            .collect()
    }
}
