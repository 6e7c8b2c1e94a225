//! Notifications and webhook deliveries (migration 0014): the notifier's place in the event log, each
//! person's notifications, webhook secrets, the delivery queue with its attempts, and the update notices
//! recorded. The events themselves stay in the log; these rows are what delivering them needs.

use crate::clock::now_rfc3339;
use crate::events::{event_from_row, insert_event};
use crate::{Backend, Result, Store, StoreTx};
use plughub_domain::{EventType, NewEvent, StoredEvent};
use sqlx::Row;
use sqlx::any::AnyRow;

/// One notification of a person, as their list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    pub id: String,
    pub group_id: String,
    pub event_id: String,
    pub kind: String,
    pub summary: String,
    pub link: Option<String>,
    pub created_at: String,
    pub read_at: Option<String>,
}

/// A notification to make for a person (once per event).
#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    pub person_id: &'a str,
    pub group_id: &'a str,
    pub event_id: &'a str,
    pub kind: &'a str,
    pub summary: &'a str,
    pub link: Option<&'a str>,
    pub created_at: &'a str,
}

/// One webhook delivery, as its log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    /// The JSON body sent.
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub delivery_id: String,
    pub attempted_at: String,
    pub status_code: Option<i64>,
    pub duration_ms: i64,
    pub error: Option<String>,
}

/// What became of a delivery after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Try again at this time (as the store writes times).
    RetryAt(String),
    /// No more attempts (a day of retries is over, or the webhook is gone).
    Failed,
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, event_type, payload, status, attempts, \
     next_attempt_at, created_at, finished_at";

impl StoreTx<'_> {
    /// Records that `version` of `plugin` is newer than what `group_id` runs, with its
    /// `plugin_update_available` event, unless that version was announced to the group already.
    /// Returns the event when it was recorded now.
    pub async fn record_update_notice(
        &mut self,
        group_id: &str,
        plugin: &str,
        version: &str,
        event: NewEvent,
    ) -> Result<Option<StoredEvent>> {
        let done = sqlx::query(
            "INSERT INTO update_notices (group_id, plugin, version, recorded_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (group_id, plugin, version) DO NOTHING",
        )
        .bind(group_id)
        .bind(plugin)
        .bind(version)
        .bind(now_rfc3339())
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        Ok(Some(
            insert_event(&mut self.tx, &self.metrics, &event).await?,
        ))
    }

    /// Keeps the signing secret of a webhook, sealed with the key ring (made in the same transaction).
    pub async fn put_sealed_webhook_secret(
        &mut self,
        webhook_id: &str,
        sealed: &str,
    ) -> Result<()> {
        sqlx::query("INSERT INTO webhook_secrets (webhook_id, sealed) VALUES ($1, $2)")
            .bind(webhook_id)
            .bind(sealed)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Replaces a webhook's sealed secret with the same secret sealed again (a key rotation); false when
    /// the webhook was deleted meanwhile.
    pub async fn reseal_webhook_secret(&mut self, webhook_id: &str, sealed: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE webhook_secrets SET sealed = $2 WHERE webhook_id = $1")
            .bind(webhook_id)
            .bind(sealed)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Forgets a deleted webhook's secret and ends its pending deliveries (their log stays).
    pub async fn retire_webhook(&mut self, webhook_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM webhook_secrets WHERE webhook_id = $1")
            .bind(webhook_id)
            .execute(self.conn())
            .await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, finished_at = $2 \
             WHERE webhook_id = $1 AND status = 'pending'",
        )
        .bind(webhook_id)
        .bind(now_rfc3339())
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Store {
    /// Where the reader `name` has read the event log up to (0 before it first read).
    pub async fn notify_cursor(&self, name: &str) -> Result<i64> {
        let row = sqlx::query("SELECT seq FROM notify_cursors WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(row) => row.try_get("seq")?,
            None => 0,
        })
    }

    /// Moves the reader `name` on to `seq` (never back).
    pub async fn set_notify_cursor(&self, name: &str, seq: i64) -> Result<()> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "INSERT INTO notify_cursors (name, seq) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET seq = MAX(notify_cursors.seq, excluded.seq)"
            }
            Backend::Postgres => {
                "INSERT INTO notify_cursors (name, seq) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET seq = GREATEST(notify_cursors.seq, excluded.seq)"
            }
        };
        sqlx::query(sql)
            .bind(name)
            .bind(seq)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The events after `after_seq` that people are told of: update notices and the failures that name an
    /// install or a suspension, of an organisation; and answered reviews (whose organisation is the
    /// review's: the event names the review). Decided in SQL, so the executions' failures are never read.
    /// At most `limit`, in log order.
    pub async fn notable_events(&self, after_seq: i64, limit: i64) -> Result<Vec<StoredEvent>> {
        let failure = match self.backend() {
            Backend::Sqlite => {
                "(json_extract(metadata, '$.operation') = 'install' OR json_extract(metadata, '$.suspended') = 1)"
            }
            Backend::Postgres => {
                "(metadata::json ->> 'operation' = 'install' OR metadata::json ->> 'suspended' = 'true')"
            }
        };
        let sql = format!(
            "SELECT seq, id, type, actor, target, group_id, time, metadata FROM events \
             WHERE seq > {after_seq} AND (type = $2 \
             OR (group_id IS NOT NULL AND (type = $1 OR (type = $3 AND {failure})))) \
             ORDER BY seq LIMIT {}",
            limit.max(0)
        );
        sqlx::query(&sql)
            .bind(EventType::PluginUpdateAvailable.as_str())
            .bind(EventType::ReviewAnswered.as_str())
            .bind(EventType::PluginErrorOccurred.as_str())
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(event_from_row)
            .collect()
    }

    /// Makes a notification unless the person has one of that event already; true when made.
    pub async fn insert_notification(&self, n: &NewNotification<'_>) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO notifications (id, person_id, group_id, event_id, kind, summary, link, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (person_id, event_id) DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(n.person_id)
        .bind(n.group_id)
        .bind(n.event_id)
        .bind(n.kind)
        .bind(n.summary)
        .bind(n.link)
        .bind(n.created_at)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Only notifications of organisations the person is still a member of with a view of them (not a
/// customer): a former member no longer sees an organisation's news.
const STILL_MEMBER: &str = "EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = notifications.person_id \
     AND m.group_id = notifications.group_id AND m.role <> 'customer')";

impl Store {
    /// A person's notifications, newest first (only the unread ones with `unread_only`).
    pub async fn notifications(
        &self,
        person_id: &str,
        unread_only: bool,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<NotificationRecord>> {
        let unread = if unread_only {
            " AND read_at IS NULL"
        } else {
            ""
        };
        let sql = format!(
            "SELECT id, group_id, event_id, kind, summary, link, created_at, read_at FROM notifications \
             WHERE person_id = $1 AND {STILL_MEMBER}{unread} ORDER BY created_at DESC, id DESC LIMIT {} OFFSET {}",
            limit.max(0),
            offset.max(0)
        );
        sqlx::query(&sql)
            .bind(person_id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(notification_from_row)
            .collect()
    }

    /// How many notifications a person has not read.
    pub async fn unread_notifications(&self, person_id: &str) -> Result<i64> {
        Ok(sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM notifications WHERE person_id = $1 AND read_at IS NULL \
             AND {STILL_MEMBER}"
        ))
        .bind(person_id)
        .fetch_one(self.pool())
        .await?
        .try_get("n")?)
    }

    /// Marks a person's notifications read: the ones named, or all with `ids` None. Returns how many
    /// changed (another person's ids change nothing).
    pub async fn mark_notifications_read(
        &self,
        person_id: &str,
        ids: Option<&[String]>,
    ) -> Result<u64> {
        let now = now_rfc3339();
        let Some(ids) = ids else {
            let done = sqlx::query(&format!(
                "UPDATE notifications SET read_at = $2 WHERE person_id = $1 AND read_at IS NULL \
                 AND {STILL_MEMBER}"
            ))
            .bind(person_id)
            .bind(&now)
            .execute(self.pool())
            .await?;
            return Ok(done.rows_affected());
        };
        let mut changed = 0;
        for id in ids {
            let done = sqlx::query(&format!(
                "UPDATE notifications SET read_at = $3 WHERE person_id = $1 AND id = $2 \
                 AND read_at IS NULL AND {STILL_MEMBER}"
            ))
            .bind(person_id)
            .bind(id)
            .bind(&now)
            .execute(self.pool())
            .await?;
            changed += done.rows_affected();
        }
        Ok(changed)
    }

    /// The sealed secret a webhook signs with, while it exists (opened with the key ring).
    pub async fn sealed_webhook_secret(&self, webhook_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT sealed FROM webhook_secrets WHERE webhook_id = $1")
            .bind(webhook_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("sealed")).transpose()?)
    }

    /// Every webhook's sealed secret, by webhook id: what a key rotation reseals.
    pub async fn sealed_webhook_secrets(&self) -> Result<Vec<(String, String)>> {
        let rows =
            sqlx::query("SELECT webhook_id, sealed FROM webhook_secrets ORDER BY webhook_id")
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("webhook_id")?, r.try_get("sealed")?)))
            .collect()
    }

    /// Queues a delivery of an event to a webhook, due at once, unless it is queued already; true when
    /// queued now.
    pub async fn enqueue_delivery(
        &self,
        webhook_id: &str,
        event_id: &str,
        event_type: &str,
        payload: &str,
    ) -> Result<bool> {
        let now = now_rfc3339();
        let done = sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload, status, attempts, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) \
             ON CONFLICT (webhook_id, event_id) DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(webhook_id)
        .bind(event_id)
        .bind(event_type)
        .bind(payload)
        .bind(&now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Pending deliveries due at `now`, oldest first.
    pub async fn due_deliveries(&self, now: &str, limit: i64) -> Result<Vec<DeliveryRecord>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE status = 'pending' \
             AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT {}",
            limit.max(0)
        );
        sqlx::query(&sql)
            .bind(now)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(delivery_from_row)
            .collect()
    }

    /// Takes a due delivery for this server until `lease_until`: false when another server took it
    /// first (its `next_attempt_at` moved).
    pub async fn claim_delivery(
        &self,
        delivery: &DeliveryRecord,
        lease_until: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE id = $2 AND status = 'pending' \
             AND next_attempt_at = $3",
        )
        .bind(lease_until)
        .bind(&delivery.id)
        .bind(&delivery.next_attempt_at)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Logs an attempt at a delivery and what became of the delivery, together, if this server still
    /// holds the delivery's lease (`lease`, as claimed); false, and nothing written, when it does not
    /// (the lease ran out and another server took the delivery).
    pub async fn record_attempt(
        &self,
        attempt: &AttemptRecord,
        outcome: &DeliveryOutcome,
        lease: &str,
    ) -> Result<bool> {
        let (status, next, finished) = match outcome {
            DeliveryOutcome::Delivered => ("delivered", None, Some(now_rfc3339())),
            DeliveryOutcome::RetryAt(at) => ("pending", Some(at.clone()), None),
            DeliveryOutcome::Failed => ("failed", None, Some(now_rfc3339())),
        };
        let mut tx = self.begin().await?;
        let held = sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, finished_at = $3, \
             attempts = attempts + 1 WHERE id = $4 AND status = 'pending' AND next_attempt_at = $5",
        )
        .bind(status)
        .bind(next)
        .bind(finished)
        .bind(&attempt.delivery_id)
        .bind(lease)
        .execute(tx.conn())
        .await?;
        if held.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, duration_ms, error) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&attempt.delivery_id)
        .bind(&attempt.attempted_at)
        .bind(attempt.status_code)
        .bind(attempt.duration_ms)
        .bind(&attempt.error)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A webhook's deliveries, newest first.
    pub async fn deliveries(&self, webhook_id: &str, limit: i64) -> Result<Vec<DeliveryRecord>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT {}",
            limit.max(0)
        );
        sqlx::query(&sql)
            .bind(webhook_id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(delivery_from_row)
            .collect()
    }

    /// The attempts at a delivery, in order.
    pub async fn delivery_attempts(&self, delivery_id: &str) -> Result<Vec<AttemptRecord>> {
        sqlx::query(
            "SELECT delivery_id, attempted_at, status_code, duration_ms, error FROM webhook_attempts \
             WHERE delivery_id = $1 ORDER BY attempted_at, id",
        )
        .bind(delivery_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(AttemptRecord {
                delivery_id: row.try_get("delivery_id")?,
                attempted_at: row.try_get("attempted_at")?,
                status_code: row.try_get("status_code")?,
                duration_ms: row.try_get("duration_ms")?,
                error: row.try_get("error")?,
            })
        })
        .collect()
    }
}

fn notification_from_row(row: &AnyRow) -> Result<NotificationRecord> {
    Ok(NotificationRecord {
        id: row.try_get("id")?,
        group_id: row.try_get("group_id")?,
        event_id: row.try_get("event_id")?,
        kind: row.try_get("kind")?,
        summary: row.try_get("summary")?,
        link: row.try_get("link")?,
        created_at: row.try_get("created_at")?,
        read_at: row.try_get("read_at")?,
    })
}

fn delivery_from_row(row: &AnyRow) -> Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        id: row.try_get("id")?,
        webhook_id: row.try_get("webhook_id")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        payload: row.try_get("payload")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}
