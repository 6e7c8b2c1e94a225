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

/// What the catalogue holds, summed up cheaply: two reads that give equal fingerprints saw the same
/// catalogue, so a node can tell that another one changed it without reading every entry. Opaque: compare
/// it, nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogFingerprint {
    entries: i64,
    entries_newest: Option<String>,
    texts: i64,
    texts_newest: Option<String>,
    syncs: i64,
    /// Platform owners' deprecations (migration 0012): they change what search shows, so a change to
    /// one is a change of the catalogue.
    deprecations: i64,
    deprecations_newest: Option<String>,
    /// Reviews change ratings, which search filters and orders by.
    reviews: i64,
    reviews_newest: Option<String>,
    /// Trials (migration 0016) say whether a plugin runs, which search filters by and shows. Each write
    /// of one records its `plugin_tried` event in the same transaction, and events' `seq` only grows: a
    /// trial replaced by one stamped no later (another machine's clock) is seen all the same.
    trials: i64,
    trials_newest_event: Option<i64>,
}

/// One catalogue sync: when, with what outcome, and a report of each source read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncRun {
    pub id: String,
    pub started_at: String,
    pub finished_at: String,
    /// `ok`, `partial` (some source failed) or `failed` (nothing was changed).
    pub status: String,
    /// What each source read, discovered, updated or failed to read.
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
}

/// What `/metrics` says of the catalogue's syncs, from every server of the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncSummary {
    /// The newest sync's status.
    pub newest_status: Option<String>,
    /// When the newest live sync that wrote the catalogue (`ok` or `partial`) finished.
    pub live_written_at: Option<String>,
    /// When the starter catalogue was seeded.
    pub starter_written_at: Option<String>,
}

impl Store {
    /// The catalogue's syncs in short, in one statement (for each scrape of `/metrics`).
    pub async fn catalog_sync_summary(&self) -> Result<SyncSummary> {
        let row = sqlx::query(
            "SELECT \
             (SELECT status FROM catalog_syncs ORDER BY started_at DESC, id DESC LIMIT 1) AS newest, \
             (SELECT MAX(finished_at) FROM catalog_syncs WHERE status IN ('ok', 'partial')) AS live, \
             (SELECT MAX(finished_at) FROM catalog_syncs WHERE status = 'starter') AS starter",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(SyncSummary {
            newest_status: row.try_get("newest")?,
            live_written_at: row.try_get("live")?,
            starter_written_at: row.try_get("starter")?,
        })
    }

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

    /// The catalogue's fingerprint, in one statement so its parts come from one snapshot.
    ///
    /// An insert or an update moves an entry's or a text's `updated_at` to the newest; a deletion changes a
    /// count. Times come from the clock of the node that writes, with milliseconds, so a write stamped no
    /// later than the newest (a node whose clock is behind) would go unseen by those two alone: every sync
    /// also records its run, and that count only grows, so whatever a sync writes is seen.
    pub async fn catalog_fingerprint(&self) -> Result<CatalogFingerprint> {
        let row = sqlx::query(
            "SELECT e.n AS entries, e.newest AS entries_newest, k.n AS texts, k.newest AS texts_newest, \
             s.n AS syncs, d.n AS deprecations, d.newest AS deprecations_newest, r.n AS reviews, \
             r.newest AS reviews_newest, tr.n AS trials, te.newest AS trials_newest_event FROM \
             (SELECT COUNT(*) AS n, MAX(updated_at) AS newest FROM things \
              WHERE kind = 'elizaos_plugin' AND group_id IS NULL) e, \
             (SELECT COUNT(*) AS n, MAX(k.updated_at) AS newest FROM knowledge k \
              JOIN things t ON t.id = k.thing_id \
              WHERE t.kind = 'elizaos_plugin' AND t.group_id IS NULL) k, \
             (SELECT COUNT(*) AS n FROM catalog_syncs) s, \
             (SELECT COUNT(*) AS n, MAX(deprecated_at) AS newest FROM plugin_deprecations) d, \
             (SELECT COUNT(*) AS n, MAX(updated_at) AS newest FROM things WHERE kind = 'plugin_review') r, \
             (SELECT COUNT(*) AS n FROM plugin_trials) tr, \
             (SELECT MAX(seq) AS newest FROM events WHERE type = 'plugin_tried') te",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(CatalogFingerprint {
            entries: row.try_get("entries")?,
            entries_newest: row.try_get("entries_newest")?,
            texts: row.try_get("texts")?,
            texts_newest: row.try_get("texts_newest")?,
            syncs: row.try_get("syncs")?,
            deprecations: row.try_get("deprecations")?,
            deprecations_newest: row.try_get("deprecations_newest")?,
            reviews: row.try_get("reviews")?,
            reviews_newest: row.try_get("reviews_newest")?,
            trials: row.try_get("trials")?,
            trials_newest_event: row.try_get("trials_newest_event")?,
        })
    }

    /// Every text of one kind about catalogue entries (the public catalogue's, never a group's), by thing id.
    pub async fn catalog_knowledge(&self, kind: &str) -> Result<HashMap<String, String>> {
        let rows = sqlx::query(
            "SELECT k.thing_id, k.body FROM knowledge k JOIN things t ON t.id = k.thing_id \
             WHERE t.kind = 'elizaos_plugin' AND t.group_id IS NULL AND k.kind = $1",
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
