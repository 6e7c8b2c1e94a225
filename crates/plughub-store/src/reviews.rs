//! Reviews' reads and their tallies. A review is a `plugin_review` thing linked to its catalogue plugin
//! by a `review_of` connection (written with the generic thing calls of `tx.rs`); here are the reads
//! that follow that link, and the votes, reports and bans (tables of their own: see migration 0011),
//! each written with the event that records it.

use crate::clock::now_rfc3339;
use crate::events::insert_event;
use crate::tx::unique_violation;
use crate::{Result, Store, StoreError, StoreTx};
use plughub_domain::{EventType, NewEvent};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

/// A review as stored, with the name of the plugin it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRow {
    pub id: String,
    /// The catalogue plugin's name.
    pub plugin: String,
    /// `published`, `hidden` (by a moderator) or `deleted` (by its author).
    pub status: String,
    pub properties: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
}

/// An open report of a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRecord {
    pub id: String,
    pub review_id: String,
    pub person_id: String,
    pub reason: String,
    pub created_at: String,
}

/// A person who may not review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanRecord {
    pub person_id: String,
    pub email: String,
    pub reason: String,
    pub banned_by: String,
    pub created_at: String,
}

/// The status of a review that counts and shows: neither hidden by a moderator nor deleted by its author.
pub const PUBLISHED: &str = "published";

const REVIEW_COLUMNS: &str =
    "r.id, p.name AS plugin, r.status, r.properties, r.created_at, r.updated_at";
const REVIEW_FROM: &str = "things r JOIN connections c ON c.from_id = r.id AND c.kind = 'review_of' \
                           JOIN things p ON p.id = c.to_id";

impl Store {
    /// Every review of a catalogue plugin (by its thing's id), whatever its status, oldest first.
    pub async fn reviews_of(&self, plugin_id: &str) -> Result<Vec<ReviewRow>> {
        let sql = format!(
            "SELECT {REVIEW_COLUMNS} FROM {REVIEW_FROM} \
             WHERE r.kind = 'plugin_review' AND p.id = $1 ORDER BY r.created_at, r.id"
        );
        let rows = sqlx::query(&sql)
            .bind(plugin_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(review_from_row).collect()
    }

    /// One review by id.
    pub async fn review(&self, id: &str) -> Result<Option<ReviewRow>> {
        let sql = format!(
            "SELECT {REVIEW_COLUMNS} FROM {REVIEW_FROM} WHERE r.kind = 'plugin_review' AND r.id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(review_from_row).transpose()
    }

    /// Every review with this status, across plugins, oldest first (the published ones make the
    /// catalogue's ratings; the hidden ones are the moderators').
    pub async fn reviews_with_status(&self, status: &str) -> Result<Vec<ReviewRow>> {
        let sql = format!(
            "SELECT {REVIEW_COLUMNS} FROM {REVIEW_FROM} \
             WHERE r.kind = 'plugin_review' AND r.status = $1 ORDER BY r.created_at, r.id"
        );
        let rows = sqlx::query(&sql)
            .bind(status)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(review_from_row).collect()
    }

    /// The stars of every published review (neither hidden nor deleted), as (plugin, version, stars):
    /// what the catalogue's index of ratings is built from. A review's `stars` and `version`
    /// properties are read here only (plughub-market writes them).
    pub async fn published_review_stars(&self) -> Result<Vec<(String, String, u8)>> {
        Ok(stars_of(self.reviews_with_status(PUBLISHED).await?))
    }

    /// The stars of the published reviews of one catalogue plugin (by its name), as
    /// [`Store::published_review_stars`] gives them.
    pub async fn published_review_stars_of(
        &self,
        plugin: &str,
    ) -> Result<Vec<(String, String, u8)>> {
        let sql = format!(
            "SELECT {REVIEW_COLUMNS} FROM {REVIEW_FROM} \
             WHERE r.kind = 'plugin_review' AND r.status = $1 AND p.name = $2 \
             ORDER BY r.created_at, r.id"
        );
        let rows = sqlx::query(&sql)
            .bind(PUBLISHED)
            .bind(plugin)
            .fetch_all(self.pool())
            .await?;
        Ok(stars_of(
            rows.iter().map(review_from_row).collect::<Result<_>>()?,
        ))
    }

    /// Helpful votes by review, for these reviews (those with none are left out): one query.
    pub async fn review_votes(&self, review_ids: &[String]) -> Result<HashMap<String, i64>> {
        if review_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let placeholders = (1..=review_ids.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT review_id, COUNT(*) AS n FROM review_votes \
             WHERE review_id IN ({placeholders}) GROUP BY review_id"
        );
        let mut query = sqlx::query(&sql);
        for id in review_ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("review_id")?, r.try_get("n")?)))
            .collect()
    }

    /// Which of these reviews `person_id` found helpful.
    pub async fn reviews_voted_by(&self, person_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT review_id FROM review_votes WHERE person_id = $1")
            .bind(person_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(r.try_get("review_id")?)).collect()
    }

    /// Every report no moderator has resolved yet, oldest first.
    pub async fn open_review_reports(&self) -> Result<Vec<ReportRecord>> {
        let rows = sqlx::query(
            "SELECT id, review_id, person_id, reason, created_at FROM review_reports \
             WHERE resolved_at IS NULL ORDER BY created_at, id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReportRecord {
                    id: r.try_get("id")?,
                    review_id: r.try_get("review_id")?,
                    person_id: r.try_get("person_id")?,
                    reason: r.try_get("reason")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// The ban on `person_id` reviewing, if any.
    pub async fn reviewer_ban(&self, person_id: &str) -> Result<Option<BanRecord>> {
        let row = sqlx::query(
            "SELECT b.person_id, p.email, b.reason, b.banned_by, b.created_at \
             FROM reviewer_bans b JOIN people p ON p.id = b.person_id WHERE b.person_id = $1",
        )
        .bind(person_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(ban_from_row).transpose()
    }

    /// Everyone banned from reviewing, by email.
    pub async fn reviewer_bans(&self) -> Result<Vec<BanRecord>> {
        let rows = sqlx::query(
            "SELECT b.person_id, p.email, b.reason, b.banned_by, b.created_at \
             FROM reviewer_bans b JOIN people p ON p.id = b.person_id ORDER BY p.email",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(ban_from_row).collect()
    }

    /// The display names of these people, by id (an unknown id is left out).
    pub async fn display_names(&self, person_ids: &[String]) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        for id in person_ids {
            if out.contains_key(id) {
                continue;
            }
            if let Some(person) = self.person(id).await? {
                out.insert(id.clone(), person.display_name);
            }
        }
        Ok(out)
    }
}

impl StoreTx<'_> {
    /// Records `person_id`'s helpful vote on a review; false when they had voted already.
    pub async fn vote_review(
        &mut self,
        review_id: &str,
        person_id: &str,
        actor: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO review_votes (review_id, person_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (review_id, person_id) DO NOTHING",
        )
        .bind(review_id)
        .bind(person_id)
        .bind(now_rfc3339())
        .execute(self.conn())
        .await?
        .rows_affected()
            == 1;
        if done {
            self.review_event(
                EventType::ReviewVoted,
                review_id,
                actor,
                serde_json::json!({ "helpful": true }),
            )
            .await?;
        }
        Ok(done)
    }

    /// Withdraws `person_id`'s helpful vote; false when they had none.
    pub async fn unvote_review(
        &mut self,
        review_id: &str,
        person_id: &str,
        actor: &str,
    ) -> Result<bool> {
        let done = sqlx::query("DELETE FROM review_votes WHERE review_id = $1 AND person_id = $2")
            .bind(review_id)
            .bind(person_id)
            .execute(self.conn())
            .await?
            .rows_affected()
            == 1;
        if done {
            self.review_event(
                EventType::ReviewVoted,
                review_id,
                actor,
                serde_json::json!({ "helpful": false }),
            )
            .await?;
        }
        Ok(done)
    }

    /// Takes back every helpful vote on a review (one written again after its author deleted it starts
    /// afresh); the event that records it is the caller's.
    pub async fn clear_review_votes(&mut self, review_id: &str) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM review_votes WHERE review_id = $1")
            .bind(review_id)
            .execute(self.conn())
            .await?
            .rows_affected())
    }

    /// Records a report of a review by `person_id`; false when they have one open on it already.
    pub async fn report_review(
        &mut self,
        review_id: &str,
        person_id: &str,
        reason: &str,
        actor: &str,
    ) -> Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO review_reports (id, review_id, person_id, reason, created_at) \
             SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM review_reports \
             WHERE review_id = $2 AND person_id = $3 AND resolved_at IS NULL)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(review_id)
        .bind(person_id)
        .bind(reason)
        .bind(now_rfc3339())
        .execute(self.conn())
        .await;
        let done = match inserted {
            Ok(done) => done.rows_affected() == 1,
            // Another request of theirs reported it at the same moment: reported once.
            Err(e) => match unique_violation(e, String::new) {
                StoreError::Conflict(_) => false,
                other => return Err(other),
            },
        };
        if done {
            self.review_event(
                EventType::ReviewReported,
                review_id,
                actor,
                serde_json::json!({ "reason": reason }),
            )
            .await?;
        }
        Ok(done)
    }

    /// Marks a review's open reports resolved (a moderator hid or restored it); how many. Recorded by
    /// the moderator's event.
    pub async fn resolve_review_reports(&mut self, review_id: &str, actor: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE review_reports SET resolved_at = $1, resolved_by = $2 \
             WHERE review_id = $3 AND resolved_at IS NULL",
        )
        .bind(now_rfc3339())
        .bind(actor)
        .bind(review_id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Bans `person_id` from reviewing; false when they were banned already.
    pub async fn ban_reviewer(
        &mut self,
        person_id: &str,
        reason: &str,
        actor: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO reviewer_bans (person_id, reason, banned_by, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (person_id) DO NOTHING",
        )
        .bind(person_id)
        .bind(reason)
        .bind(actor)
        .bind(now_rfc3339())
        .execute(self.conn())
        .await?
        .rows_affected()
            == 1;
        if done {
            let event = NewEvent {
                event_type: EventType::ReviewerBanned,
                actor: actor.to_string(),
                target: None,
                group_id: None,
                metadata: serde_json::json!({ "person": person_id, "reason": reason }),
            };
            insert_event(&mut self.tx, &self.metrics, &event).await?;
        }
        Ok(done)
    }

    /// Lifts the ban on `person_id`; false when there was none.
    pub async fn unban_reviewer(&mut self, person_id: &str, actor: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM reviewer_bans WHERE person_id = $1")
            .bind(person_id)
            .execute(self.conn())
            .await?
            .rows_affected()
            == 1;
        if done {
            let event = NewEvent {
                event_type: EventType::ReviewerUnbanned,
                actor: actor.to_string(),
                target: None,
                group_id: None,
                metadata: serde_json::json!({ "person": person_id }),
            };
            insert_event(&mut self.tx, &self.metrics, &event).await?;
        }
        Ok(done)
    }

    async fn review_event(
        &mut self,
        event_type: EventType,
        review_id: &str,
        actor: &str,
        metadata: serde_json::Value,
    ) -> Result<()> {
        let event = NewEvent {
            event_type,
            actor: actor.to_string(),
            target: Some(review_id.to_string()),
            group_id: None,
            metadata,
        };
        insert_event(&mut self.tx, &self.metrics, &event).await?;
        Ok(())
    }
}

fn review_from_row(row: &AnyRow) -> Result<ReviewRow> {
    let properties: String = row.try_get("properties")?;
    Ok(ReviewRow {
        id: row.try_get("id")?,
        plugin: row.try_get("plugin")?,
        status: row.try_get("status")?,
        properties: serde_json::from_str(&properties)
            .map_err(|e| StoreError::corrupt("things.properties", e))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn ban_from_row(r: &AnyRow) -> Result<BanRecord> {
    Ok(BanRecord {
        person_id: r.try_get("person_id")?,
        email: r.try_get("email")?,
        reason: r.try_get("reason")?,
        banned_by: r.try_get("banned_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// (plugin, version, stars) of these reviews, leaving out any without readable stars or version.
fn stars_of(rows: Vec<ReviewRow>) -> Vec<(String, String, u8)> {
    rows.into_iter()
        .filter_map(|r| {
            let stars = r.properties.get("stars")?.as_u64()?;
            let version = r.properties.get("version")?.as_str()?.to_string();
            Some((r.plugin, version, u8::try_from(stars).ok()?))
        })
        .collect()
}
