//! The moderation of reviews, for platform owners: the queue of reported (and hidden) reviews, hiding
//! and restoring one (which resolves its reports), and banning a person from reviewing.

use super::views::{QueueItem, QueueReport, ReviewerBan};
use super::{Change, HIDDEN, MAX_REASON, ReviewError, Reviews};
use plughub_domain::EventType;
use plughub_domain::access::Principal;
use std::collections::BTreeMap;

impl Reviews {
    /// Reviews with open reports, most reported first, then the hidden ones (to restore).
    pub async fn queue(&self, moderator: &Principal) -> Result<Vec<QueueItem>, ReviewError> {
        let mut reports: BTreeMap<String, Vec<QueueReport>> = BTreeMap::new();
        for report in self.store.open_review_reports().await? {
            reports
                .entry(report.review_id.clone())
                .or_default()
                .push(QueueReport {
                    reason: report.reason,
                    reported_at: report.created_at,
                });
        }
        let mut items = Vec::new();
        for (id, reports) in reports {
            let Some(row) = self.store.review(&id).await? else {
                continue;
            };
            if row.status == super::DELETED {
                continue;
            }
            items.push(QueueItem {
                review: self.view_of(&row, Some(moderator)).await?,
                reviewer_email: self.email_of(&row).await?,
                reports,
            });
        }
        items.sort_by_key(|i| std::cmp::Reverse(i.reports.len()));
        for row in self.store.reviews_with_status(HIDDEN).await? {
            if items.iter().any(|i| i.review.id == row.id) {
                continue;
            }
            items.push(QueueItem {
                review: self.view_of(&row, Some(moderator)).await?,
                reviewer_email: self.email_of(&row).await?,
                reports: vec![],
            });
        }
        Ok(items)
    }

    /// The email of a review's author (empty when they are gone from the store).
    async fn email_of(&self, row: &plughub_store::ReviewRow) -> Result<String, ReviewError> {
        let person = super::ReviewRecord::of(row)?.person;
        Ok(self
            .store
            .person(&person)
            .await?
            .map(|p| p.email)
            .unwrap_or_default())
    }

    /// Hides (`hidden`) or restores a review; its open reports are resolved by it.
    pub async fn set_hidden(
        &self,
        moderator: &Principal,
        review_id: &str,
        hidden: bool,
    ) -> Result<super::Review, ReviewError> {
        let kind = if hidden {
            EventType::ReviewHidden
        } else {
            EventType::ReviewRestored
        };
        self.modify(review_id, moderator, |row, record| {
            // Read again in the compare-and-set: a review its author deleted meanwhile stays deleted.
            if row.status == super::DELETED {
                return Err(ReviewError::NotFound(review_id.to_string()));
            }
            record.hidden = hidden;
            Ok(Change::new(kind, serde_json::json!({})).resolving_reports())
        })
        .await?;
        self.shown(review_id, Some(moderator)).await
    }

    /// Bans `person_id` from reviewing (their reviews stay as they are: hide them one by one); false when
    /// they were banned already.
    pub async fn ban(
        &self,
        moderator: &Principal,
        person_id: &str,
        reason: &str,
    ) -> Result<bool, ReviewError> {
        if person_id == moderator.person_id {
            return Err(ReviewError::SelfBan);
        }
        let chars = reason.chars().count();
        if reason.trim().is_empty() || chars > MAX_REASON {
            return Err(ReviewError::Invalid(format!(
                "a ban says why in 1 to {MAX_REASON} characters, this one {chars}"
            )));
        }
        let mut tx = self.store.begin().await?;
        let done = tx.ban_reviewer(person_id, reason, &moderator.email).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Lifts a ban; false when there was none.
    pub async fn unban(&self, moderator: &Principal, person_id: &str) -> Result<bool, ReviewError> {
        let mut tx = self.store.begin().await?;
        let done = tx.unban_reviewer(person_id, &moderator.email).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Everyone banned from reviewing.
    pub async fn bans(&self) -> Result<Vec<ReviewerBan>, ReviewError> {
        Ok(self
            .store
            .reviewer_bans()
            .await?
            .into_iter()
            .map(|b| ReviewerBan {
                email: b.email,
                reason: b.reason,
                banned_by: b.banned_by,
                banned_at: b.created_at,
            })
            .collect())
    }
}
