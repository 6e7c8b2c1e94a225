//! Retention: the records of executions past an age are deleted once the daily rollups count them, so
//! the analytics read the same after as before. Lifecycle, review, account and security events are kept.
//!
//! The log is walked by seq in windows of `WINDOW` seqs, each deleted in a transaction of its own (with
//! a permit, migration 0017), with a pause between: writers wait for one window at most, never for the
//! whole run. The walk ends at the first window all younger than the cut, or at the rollups' watermark.
//! A watermark (`rollup_watermarks`, name `retention`) remembers how far nothing is left to delete, so
//! the next run starts there.

use crate::events::executions_condition;
use crate::{Result, Store};
use plughub_domain::EventType;
use serde::Serialize;
use sqlx::Row;
use std::time::Duration;

/// Seqs looked at in one transaction.
const WINDOW: i64 = 2_000;

/// What a retention run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionRun {
    pub deleted: u64,
    pub windows: u64,
    /// The seq the log was walked up to.
    pub walked_to: i64,
}

impl Store {
    /// Deletes the executions (runs, failed runs, retried attempts, their network requests) recorded
    /// before `before` (RFC 3339) that the rollups have counted, pausing `pause` between windows.
    pub async fn delete_old_executions(
        &self,
        before: &str,
        pause: Duration,
    ) -> Result<RetentionRun> {
        sqlx::query(
            "INSERT INTO rollup_watermarks (name, covered_seq, updated_at) VALUES ('retention', 0, $1) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(crate::now_rfc3339())
        .execute(self.pool())
        .await?;
        let watermark = |name: &'static str| async move {
            let row = sqlx::query("SELECT covered_seq FROM rollup_watermarks WHERE name = $1")
                .bind(name)
                .fetch_one(self.pool())
                .await?;
            Ok::<i64, crate::StoreError>(row.try_get("covered_seq")?)
        };
        let counted = watermark("executions").await?;
        let mut from = watermark("retention").await?;
        let condition = format!(
            "({} OR type IN ('{}', '{}'))",
            executions_condition(self.backend()),
            EventType::PluginAttemptFailed.as_str(),
            EventType::PluginNetworkRequest.as_str()
        );
        let delete = format!(
            "DELETE FROM events WHERE seq > $1 AND seq <= $2 AND time < $3 AND {condition}"
        );
        let mut run = RetentionRun {
            walked_to: from,
            ..Default::default()
        };
        let bounds = "SELECT MIN(time) AS oldest, MAX(time) AS newest FROM events WHERE seq > $1 AND seq <= $2";
        // The watermark moves over windows that hold nothing younger than the cut (nothing there will
        // be due later); past the first that does, windows are still cleaned but walked again next time.
        let mut watermark_moves = true;
        while from < counted {
            let to = counted.min(from + WINDOW);
            let mut tx = self.begin().await?;
            let row = sqlx::query(bounds)
                .bind(from)
                .bind(to)
                .fetch_one(tx.conn())
                .await?;
            let oldest: Option<String> = row.try_get("oldest")?;
            // A window all younger than the cut: the log is in time order but for stragglers, so the
            // walk ends here.
            if oldest.as_deref().is_some_and(|t| t >= before) {
                tx.commit().await?;
                break;
            }
            tx.permit_event_deletion("executions past their retention age")
                .await?;
            let deleted = sqlx::query(&delete)
                .bind(from)
                .bind(to)
                .bind(before)
                .execute(tx.conn())
                .await?
                .rows_affected();
            let newest: Option<String> = sqlx::query(bounds)
                .bind(from)
                .bind(to)
                .fetch_one(tx.conn())
                .await?
                .try_get("newest")?;
            watermark_moves &= newest.as_deref().is_none_or(|t| t < before);
            if watermark_moves {
                sqlx::query(
                    "UPDATE rollup_watermarks SET covered_seq = $1, updated_at = $2 WHERE name = 'retention'",
                )
                .bind(to)
                .bind(crate::now_rfc3339())
                .execute(tx.conn())
                .await?;
            }
            tx.end_event_deletion().await?;
            tx.commit().await?;
            run.deleted += deleted;
            run.windows += 1;
            from = to;
            run.walked_to = to;
            tokio::time::sleep(pause).await;
        }
        Ok(run)
    }
}
