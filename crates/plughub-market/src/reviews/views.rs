//! Reviews as they are shown: to everyone the published ones with the reviewer's display name (never
//! their organisation or email), to moderators the hidden ones too.

use super::{HIDDEN, ReviewError, ReviewRecord, Reviewed, Reviews};
use plughub_domain::EventType;
use plughub_domain::access::Principal;
use plughub_domain::rating::RatingSummary;
use plughub_store::{EventFilter, PUBLISHED, ReviewRow};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What a reviewer with no display name is shown as.
const UNNAMED: &str = "A plughub member";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Review {
    pub id: String,
    pub plugin: String,
    /// The reviewer's display name.
    pub reviewer: String,
    pub stars: u8,
    pub text: String,
    /// The version their organisation had installed when they wrote it.
    pub version: String,
    pub posted_at: String,
    pub updated_at: String,
    /// People who found it helpful.
    pub helpful: i64,
    pub response: Option<ReviewResponse>,
    /// `published`, or `hidden` (shown to moderators only).
    pub status: String,
    /// Written by the caller.
    pub mine: bool,
    /// The caller found it helpful.
    pub voted: bool,
}

/// The publisher's answer to a review.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewResponse {
    pub text: String,
    pub at: String,
}

/// A plugin's rating and a page of its reviews.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewPage {
    pub plugin: String,
    /// Every published review.
    pub summary: RatingSummary,
    /// By the version reviewed.
    pub versions: BTreeMap<String, RatingSummary>,
    /// The version the page is narrowed to, if any.
    pub version: Option<String>,
    /// Reviews that match (of every page).
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
    /// Most helpful first, then newest.
    pub reviews: Vec<Review>,
    /// The caller's own review, when they have one that shows.
    pub yours: Option<Review>,
}

/// One version of a review, as posted or edited.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewVersion {
    pub stars: u8,
    pub text: String,
    pub version: String,
    pub at: String,
    /// `review_posted` or `review_edited`.
    pub change: String,
}

/// A review in the moderators' queue, with its open reports.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueItem {
    pub review: Review,
    /// The reviewer's email, for moderators only (the queue is theirs): bans go by email.
    pub reviewer_email: String,
    pub reports: Vec<QueueReport>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueReport {
    pub reason: String,
    pub reported_at: String,
}

/// A person banned from reviewing.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewerBan {
    pub email: String,
    pub reason: String,
    pub banned_by: String,
    pub banned_at: String,
}

impl Reviews {
    /// A page of `plugin`'s reviews as `viewer` (or someone signed out) sees them, narrowed to a version.
    pub async fn list(
        &self,
        plugin: Reviewed<'_>,
        version: Option<&str>,
        viewer: Option<&Principal>,
        page: usize,
        per_page: usize,
    ) -> Result<ReviewPage, ReviewError> {
        let moderator = viewer.is_some_and(Reviews::moderates);
        let all = self.store.reviews_of(plugin.id).await?;
        // The viewer's own review, hidden by a moderator too (shown to them as such), not deleted.
        let own = viewer.and_then(|v| {
            all.iter().find(|r| {
                r.status != super::DELETED
                    && ReviewRecord::of(r).is_ok_and(|rec| rec.person == v.person_id)
            })
        });
        let yours = match own {
            Some(row) => Some(self.view_of(row, viewer).await?),
            None => None,
        };
        let rows: Vec<ReviewRow> = all
            .into_iter()
            .filter(|r| r.status == PUBLISHED || (moderator && r.status == HIDDEN))
            .collect();
        let mut reviews = self.views_of(&rows, viewer).await?;
        reviews.retain(|r| version.is_none_or(|v| r.version == v));
        reviews.sort_by(|a, b| {
            b.helpful
                .cmp(&a.helpful)
                .then_with(|| b.posted_at.cmp(&a.posted_at))
        });
        let total = reviews.len();
        let page = page.max(1);
        let reviews = reviews
            .into_iter()
            .skip((page - 1).saturating_mul(per_page))
            .take(per_page)
            .collect();
        let (summary, versions) = self.ratings_of(plugin.name).await?;
        Ok(ReviewPage {
            plugin: plugin.name.to_string(),
            summary,
            versions,
            version: version.map(str::to_string),
            total,
            page,
            per_page,
            reviews,
            yours,
        })
    }

    /// The versions of a review, oldest first: for anyone who may see it, and for its author.
    pub async fn history(
        &self,
        review_id: &str,
        viewer: Option<&Principal>,
    ) -> Result<Vec<ReviewVersion>, ReviewError> {
        let row = match self.visible(review_id, viewer).await {
            Ok(row) => row,
            Err(e) => {
                let row = self.store.review(review_id).await?.ok_or(e)?;
                let record = ReviewRecord::of(&row)?;
                if viewer.is_none_or(|v| v.person_id != record.person) {
                    return Err(ReviewError::NotFound(review_id.to_string()));
                }
                row
            }
        };
        let events = self
            .store
            .events(&EventFilter {
                target: Some(row.id.clone()),
                ..Default::default()
            })
            .await?;
        // Moderators and the author see every version; anyone else only what has been public since
        // the last moderation or deletion: a hidden text stays hidden in the history, a deleted one
        // too. After a restore that is the version restored, and every one since.
        let sees_all = viewer.is_some_and(|v| {
            Reviews::moderates(v) || ReviewRecord::of(&row).is_ok_and(|r| r.person == v.person_id)
        });
        let cut = |t: EventType| {
            matches!(
                t,
                EventType::ReviewHidden | EventType::ReviewRestored | EventType::ReviewDeleted
            )
        };
        let is_version =
            |t: EventType| matches!(t, EventType::ReviewPosted | EventType::ReviewEdited);
        let mut from = 0;
        if !sees_all && let Some(last_cut) = events.iter().rposition(|e| cut(e.event_type)) {
            from = last_cut + 1;
            if events[last_cut].event_type == EventType::ReviewRestored
                && let Some(restored) = events[..last_cut]
                    .iter()
                    .rposition(|e| is_version(e.event_type))
            {
                from = restored;
            }
        }
        Ok(events
            .into_iter()
            .skip(from)
            .filter(|e| is_version(e.event_type))
            .map(|e| ReviewVersion {
                stars: e
                    .metadata
                    .get("stars")
                    .and_then(|s| s.as_u64())
                    .and_then(|s| u8::try_from(s).ok())
                    .unwrap_or_default(),
                text: text_of(&e.metadata, "text"),
                version: text_of(&e.metadata, "version"),
                at: e.time,
                change: e.event_type.as_str().to_string(),
            })
            .collect())
    }

    /// One review `viewer` may see (published; hidden ones too for moderators).
    pub async fn one(&self, id: &str, viewer: Option<&Principal>) -> Result<Review, ReviewError> {
        let row = self.visible(id, viewer).await?;
        self.view_of(&row, viewer).await
    }

    /// One review as `viewer` sees it.
    pub(super) async fn shown(
        &self,
        id: &str,
        viewer: Option<&Principal>,
    ) -> Result<Review, ReviewError> {
        let row = self
            .store
            .review(id)
            .await?
            .ok_or_else(|| ReviewError::NotFound(id.to_string()))?;
        self.view_of(&row, viewer).await
    }

    pub(super) async fn view_of(
        &self,
        row: &ReviewRow,
        viewer: Option<&Principal>,
    ) -> Result<Review, ReviewError> {
        let mut views = self.views_of(std::slice::from_ref(row), viewer).await?;
        Ok(views.pop().expect("one row, one view"))
    }

    async fn views_of(
        &self,
        rows: &[ReviewRow],
        viewer: Option<&Principal>,
    ) -> Result<Vec<Review>, ReviewError> {
        let records: Vec<ReviewRecord> = rows
            .iter()
            .map(ReviewRecord::of)
            .collect::<Result<_, _>>()?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let people: Vec<String> = records.iter().map(|r| r.person.clone()).collect();
        let names = self.store.display_names(&people).await?;
        let votes = self.store.review_votes(&ids).await?;
        let voted: Vec<String> = match viewer {
            Some(v) => self.store.reviews_voted_by(&v.person_id).await?,
            None => vec![],
        };
        Ok(rows
            .iter()
            .zip(records)
            .map(|(row, record)| view(row, record, &names, &votes, &voted, viewer))
            .collect())
    }
}

fn view(
    row: &ReviewRow,
    record: ReviewRecord,
    names: &HashMap<String, String>,
    votes: &HashMap<String, i64>,
    voted: &[String],
    viewer: Option<&Principal>,
) -> Review {
    let reviewer = names
        .get(&record.person)
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .unwrap_or(UNNAMED)
        .to_string();
    Review {
        id: row.id.clone(),
        plugin: row.plugin.clone(),
        reviewer,
        stars: record.stars,
        text: record.text,
        version: record.version,
        posted_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
        helpful: votes.get(&row.id).copied().unwrap_or(0),
        response: record.response.map(|r| ReviewResponse {
            text: r.text,
            at: r.at,
        }),
        status: row.status.clone(),
        mine: viewer.is_some_and(|v| v.person_id == record.person),
        voted: voted.contains(&row.id),
    }
}

fn text_of(metadata: &serde_json::Value, key: &str) -> String {
    metadata
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}
