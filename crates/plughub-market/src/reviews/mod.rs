//! Reviews and ratings: 1–5 stars and a text, one review per person and plugin (an edit replaces it,
//! its earlier versions stay readable in its events), written only by members of an organisation that
//! has the plugin installed or had it in the last 90 days (the review shows the version they used);
//! helpful votes, the publisher's response, reports, moderation and bans; the ratings every other part
//! reads.
//!
//! A review is a `plugin_review` thing without a group: it is its author's word on a catalogue plugin,
//! shown catalogue-wide, and not an organisation's thing (the organisation whose install qualified it
//! is kept in its properties, never shown, and its members do not own the review). Its name is
//! `<plugin>:<person id>`, so the store itself keeps one review per person and plugin; a `review_of`
//! connection links it to the catalogue plugin.

mod eligibility;
mod moderation;
mod views;

pub use eligibility::INSTALL_WINDOW_DAYS;
pub use views::{
    QueueItem, QueueReport, Review, ReviewPage, ReviewResponse, ReviewVersion, ReviewerBan,
};

use plughub_domain::access::{Action, Principal};
use plughub_domain::rating::{MAX_STARS, MIN_STARS, RatingSummary};
use plughub_domain::{ConnectionKind, EventType, Group, NewEvent, ThingKind};
use plughub_store::{NewThing, PUBLISHED, ReviewRow, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest text of a review, in characters.
pub const MAX_TEXT: usize = 2000;
/// The longest publisher's response, in characters.
pub const MAX_RESPONSE: usize = 2000;
/// The longest reason of a report or a ban, in characters.
pub const MAX_REASON: usize = 500;

const HIDDEN: &str = "hidden";
const DELETED: &str = "deleted";

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(
        "a review gives {MIN_STARS} to {MAX_STARS} stars and a text of at most {MAX_TEXT} characters; {0}"
    )]
    Invalid(String),
    #[error(
        "{org} has not had {plugin} installed in the last {INSTALL_WINDOW_DAYS} days: only members of an organisation that uses a plugin (or used it lately) may review it; name such an organisation in `org`"
    )]
    NotEligible { plugin: String, org: String },
    #[error(
        "your role in {org} ({role}) does not use its plugins: its org_owners and org_users may review them"
    )]
    NotMember { org: String, role: String },
    #[error(
        "you may not review plugins: a platform owner banned you from reviewing ({reason}); ask them to lift it"
    )]
    Banned { reason: String },
    #[error("no review {0} (it may have been deleted or hidden)")]
    NotFound(String),
    #[error("you have no review of {0}")]
    NoReviewOfYours(String),
    #[error("your own review takes no helpful vote from you")]
    OwnReview,
    #[error("you cannot report your own review: edit or delete it instead")]
    OwnReport,
    #[error("you cannot ban yourself from reviewing")]
    SelfBan,
    #[error(
        "only the people of {namespace}'s publisher may answer reviews of its plugins; claim the publisher first"
    )]
    NotPublisher { namespace: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a review holds (its thing's properties).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReviewRecord {
    pub plugin: String,
    pub person: String,
    /// The organisation whose install qualified the review (its id), never shown.
    pub org: String,
    pub stars: u8,
    pub text: String,
    /// The version the organisation had installed when the review was written or last edited.
    pub version: String,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ResponseRecord {
    pub text: String,
    pub by: String,
    pub at: String,
}

impl ReviewRecord {
    /// The thing's status: whether it counts and shows.
    fn status(&self) -> &'static str {
        if self.deleted {
            DELETED
        } else if self.hidden {
            HIDDEN
        } else {
            PUBLISHED
        }
    }

    fn of(row: &ReviewRow) -> Result<ReviewRecord, ReviewError> {
        serde_json::from_value(row.properties.clone()).map_err(|e| {
            StoreError::Corrupt {
                what: format!("review {}", row.id),
                reason: e.to_string(),
            }
            .into()
        })
    }
}

/// A review as asked for: stars, text, and the organisation whose install qualifies it.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    pub stars: u8,
    pub text: &'a str,
}

impl Draft<'_> {
    fn check(&self) -> Result<(), ReviewError> {
        if !(MIN_STARS..=MAX_STARS).contains(&self.stars) {
            return Err(ReviewError::Invalid(format!("{} stars given", self.stars)));
        }
        let chars = self.text.chars().count();
        if chars > MAX_TEXT {
            return Err(ReviewError::Invalid(format!("the text has {chars}")));
        }
        Ok(())
    }
}

/// A catalogue plugin as reviews know it: its thing's id and its name.
#[derive(Debug, Clone)]
pub struct Reviewed<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// The reviews of the store.
#[derive(Clone)]
pub struct Reviews {
    store: Store,
}

impl Reviews {
    pub fn new(store: Store) -> Reviews {
        Reviews { store }
    }

    /// Whether `who` moderates reviews (a platform owner).
    pub fn moderates(who: &Principal) -> bool {
        who.may(Action::ModerateCatalogue, None).is_ok()
    }

    /// Writes or replaces `author`'s review of `plugin`, qualified by `group`'s install (`group` is one
    /// of the author's: its org_owners and org_users, who use its plugins, may review; its customers
    /// not). True when the review is new (or written again after its author deleted it).
    pub async fn put(
        &self,
        author: &Principal,
        plugin: Reviewed<'_>,
        group: &Group,
        draft: Draft<'_>,
    ) -> Result<(Review, bool), ReviewError> {
        draft.check()?;
        if author.may(Action::ViewGroup, Some(&group.id)).is_err() {
            return Err(ReviewError::NotMember {
                org: group.name.clone(),
                role: author
                    .role_in(&group.id)
                    .map_or("none", |r| r.as_str())
                    .to_string(),
            });
        }
        if let Some(ban) = self.store.reviewer_ban(&author.person_id).await? {
            return Err(ReviewError::Banned { reason: ban.reason });
        }
        let version = self
            .version_used(group, plugin.name)
            .await?
            .ok_or_else(|| ReviewError::NotEligible {
                plugin: plugin.name.to_string(),
                org: group.name.clone(),
            })?;
        let name = thing_name(plugin.name, &author.person_id);
        let existing = self
            .store
            .thing_by_name(ThingKind::PluginReview, None, &name)
            .await?;
        let history =
            serde_json::json!({ "stars": draft.stars, "text": draft.text, "version": version });
        let (id, created) = match existing {
            None => {
                let record = ReviewRecord {
                    plugin: plugin.name.to_string(),
                    person: author.person_id.clone(),
                    org: group.id.clone(),
                    stars: draft.stars,
                    text: draft.text.to_string(),
                    version,
                    hidden: false,
                    deleted: false,
                    response: None,
                };
                let properties = serde_json::to_string(&record).expect("records serialise");
                let mut tx = self.store.begin().await?;
                let id = tx
                    .insert_thing(
                        &NewThing {
                            kind: ThingKind::PluginReview,
                            name: &name,
                            group_id: None,
                            status: record.status(),
                            properties: &properties,
                        },
                        event(EventType::ReviewPosted, author, history),
                    )
                    .await?;
                tx.put_connection(
                    ConnectionKind::ReviewOf,
                    &id,
                    plugin.id,
                    None,
                    &serde_json::json!({}),
                )
                .await?;
                tx.commit().await?;
                (id, true)
            }
            Some(thing) => {
                let mut revived = false;
                self.modify(&thing.id, author, |_, record| {
                    revived = record.deleted;
                    record.stars = draft.stars;
                    record.text = draft.text.to_string();
                    record.version = version.clone();
                    record.org = group.id.clone();
                    record.deleted = false;
                    // A hidden review stays hidden when edited (its `hidden` is the one read now, in
                    // the compare-and-set): an edit is no way round moderation.
                    if revived {
                        // Written again after its author deleted it: a new review, without the old
                        // one's response (and, below, its votes).
                        record.response = None;
                        Ok(Change::new(EventType::ReviewPosted, history.clone()).afresh())
                    } else {
                        Ok(Change::new(EventType::ReviewEdited, history.clone()))
                    }
                })
                .await?;
                (thing.id, revived)
            }
        };
        let review = self.shown(&id, Some(author)).await?;
        Ok((review, created))
    }

    /// Soft-deletes `author`'s review of `plugin`: it stays in the store with its history, shows and
    /// counts nowhere. Returns it as it is now.
    pub async fn delete_mine(
        &self,
        author: &Principal,
        plugin: &str,
    ) -> Result<Review, ReviewError> {
        let name = thing_name(plugin, &author.person_id);
        let thing = self
            .store
            .thing_by_name(ThingKind::PluginReview, None, &name)
            .await?
            .filter(|t| t.status != DELETED)
            .ok_or_else(|| ReviewError::NoReviewOfYours(plugin.to_string()))?;
        self.modify(&thing.id, author, |row, record| {
            if row.status == DELETED {
                return Err(ReviewError::NoReviewOfYours(plugin.to_string()));
            }
            record.deleted = true;
            Ok(Change::new(EventType::ReviewDeleted, serde_json::json!({})))
        })
        .await?;
        self.shown(&thing.id, Some(author)).await
    }

    /// A plugin's rating: every published review.
    pub async fn rating_of(&self, plugin: &str) -> Result<RatingSummary, ReviewError> {
        Ok(self.ratings_of(plugin).await?.0)
    }

    /// A plugin's rating overall and by the version reviewed.
    pub async fn ratings_of(
        &self,
        plugin: &str,
    ) -> Result<(RatingSummary, BTreeMap<String, RatingSummary>), ReviewError> {
        let mut all = RatingSummary::default();
        let mut by_version: BTreeMap<String, RatingSummary> = BTreeMap::new();
        for (_, version, stars) in self.store.published_review_stars_of(plugin).await? {
            all.add(stars);
            by_version.entry(version).or_default().add(stars);
        }
        Ok((all, by_version))
    }

    /// Records `voter`'s helpful vote (`helpful`) or withdraws it; true when it changed anything.
    pub async fn vote(
        &self,
        voter: &Principal,
        review_id: &str,
        helpful: bool,
    ) -> Result<bool, ReviewError> {
        let row = self.published(review_id).await?;
        let record = ReviewRecord::of(&row)?;
        if record.person == voter.person_id {
            return Err(ReviewError::OwnReview);
        }
        let mut tx = self.store.begin().await?;
        let changed = if helpful {
            tx.vote_review(review_id, &voter.person_id, &voter.email)
                .await?
        } else {
            tx.unvote_review(review_id, &voter.person_id, &voter.email)
                .await?
        };
        tx.commit().await?;
        Ok(changed)
    }

    /// Sets (or replaces) the response of the plugin's publisher: only its people (`Publishers::holds`
    /// over the plugin's namespace) may.
    pub async fn respond(
        &self,
        who: &Principal,
        review_id: &str,
        text: &str,
    ) -> Result<Review, ReviewError> {
        let row = self.visible(review_id, Some(who)).await?;
        let record = ReviewRecord::of(&row)?;
        let namespace = plughub_domain::names::namespace_of(&record.plugin).to_string();
        let holds = crate::publishers::Publishers::new(self.store.clone())
            .holds(&who.person_id, &namespace)
            .await
            .map_err(|e| match e {
                crate::MarketError::Store(e) => ReviewError::Store(e),
                // `holds` only reads: anything else is the store's data not being what it expects.
                other => ReviewError::Store(StoreError::Corrupt {
                    what: "publishers".into(),
                    reason: other.to_string(),
                }),
            })?;
        if !holds {
            return Err(ReviewError::NotPublisher { namespace });
        }
        let chars = text.chars().count();
        if text.trim().is_empty() || chars > MAX_RESPONSE {
            return Err(ReviewError::Invalid(format!(
                "a response has 1 to {MAX_RESPONSE} characters, this one {chars}"
            )));
        }
        let moderator = Reviews::moderates(who);
        self.modify(review_id, who, |row, record| {
            // Read again in the compare-and-set: a review deleted or hidden meanwhile takes no answer
            // (nor comes back by one).
            if !shows_to(&row.status, moderator) {
                return Err(ReviewError::NotFound(review_id.to_string()));
            }
            record.response = Some(ResponseRecord {
                text: text.to_string(),
                by: who.person_id.clone(),
                at: plughub_store::now_rfc3339(),
            });
            // The organisation whose install qualified the review, as it is now: its members are told
            // of the answer (an author who writes again from another organisation moves later news only).
            Ok(Change::new(
                EventType::ReviewAnswered,
                serde_json::json!({ "text": text, "org": record.org }),
            ))
        })
        .await?;
        self.shown(review_id, Some(who)).await
    }

    /// Reports a review for moderators to look at; false when `who` reported it already.
    pub async fn report(
        &self,
        who: &Principal,
        review_id: &str,
        reason: &str,
    ) -> Result<bool, ReviewError> {
        let row = self.published(review_id).await?;
        if ReviewRecord::of(&row)?.person == who.person_id {
            return Err(ReviewError::OwnReport);
        }
        let chars = reason.chars().count();
        if reason.trim().is_empty() || chars > MAX_REASON {
            return Err(ReviewError::Invalid(format!(
                "a report says why in 1 to {MAX_REASON} characters, this one {chars}"
            )));
        }
        let mut tx = self.store.begin().await?;
        let done = tx
            .report_review(review_id, &who.person_id, reason, &who.email)
            .await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Changes a review with `change`, applied to it as it is now, and writes it with the event that
    /// records the change only if nobody wrote it meanwhile (a compare-and-set on its `updated_at`):
    /// no write from a stale copy undoes another (an author's edit un-hiding a moderator's hide, an
    /// answer bringing back a deleted review). On a lost race it reads the review again and decides
    /// again; after a few lost races in a row it answers a conflict, to try again.
    async fn modify<F>(&self, id: &str, actor: &Principal, mut change: F) -> Result<(), ReviewError>
    where
        F: FnMut(&ReviewRow, &mut ReviewRecord) -> Result<Change, ReviewError>,
    {
        const ATTEMPTS: usize = 5;
        for _ in 0..ATTEMPTS {
            let row = self
                .store
                .review(id)
                .await?
                .ok_or_else(|| ReviewError::NotFound(id.to_string()))?;
            let mut record = ReviewRecord::of(&row)?;
            let Change {
                kind,
                mut metadata,
                afresh,
                resolve_reports,
            } = change(&row, &mut record)?;
            let properties = serde_json::to_string(&record).expect("records serialise");
            let mut tx = self.store.begin().await?;
            if resolve_reports {
                let resolved = tx.resolve_review_reports(id, &actor.email).await?;
                metadata["reports_resolved"] = resolved.into();
            }
            if afresh {
                tx.clear_review_votes(id).await?;
            }
            if tx
                .update_thing_if_unchanged(
                    id,
                    &row.updated_at,
                    record.status(),
                    &properties,
                    event(kind, actor, metadata),
                )
                .await?
            {
                tx.commit().await?;
                return Ok(());
            }
            // Dropped, the transaction rolls back (the reports stay open, the votes counted).
        }
        Err(StoreError::Conflict(format!(
            "review {id} changed while this change was being made, {ATTEMPTS} times; try again"
        ))
        .into())
    }

    /// A published review: the only ones that take votes and reports (a hidden one is the
    /// moderators' already, even for them; a deleted one is gone).
    async fn published(&self, id: &str) -> Result<ReviewRow, ReviewError> {
        self.store
            .review(id)
            .await?
            .filter(|row| row.status == PUBLISHED)
            .ok_or_else(|| ReviewError::NotFound(id.to_string()))
    }

    /// A review `viewer` may see: published, or any but a deleted one for moderators.
    async fn visible(
        &self,
        id: &str,
        viewer: Option<&Principal>,
    ) -> Result<ReviewRow, ReviewError> {
        let row = self
            .store
            .review(id)
            .await?
            .ok_or_else(|| ReviewError::NotFound(id.to_string()))?;
        let moderator = viewer.is_some_and(Reviews::moderates);
        if shows_to(&row.status, moderator) {
            Ok(row)
        } else {
            Err(ReviewError::NotFound(id.to_string()))
        }
    }
}

/// Whether a review with this status shows: published ones to everyone, hidden ones to moderators.
fn shows_to(status: &str, moderator: bool) -> bool {
    status == PUBLISHED || (status == HIDDEN && moderator)
}

/// What a change to a review records, for [`Reviews::modify`].
pub(crate) struct Change {
    kind: EventType,
    metadata: serde_json::Value,
    /// Its votes taken back (a review written again after its deletion).
    afresh: bool,
    /// Its open reports resolved by it (a moderator's hide or restore).
    resolve_reports: bool,
}

impl Change {
    fn new(kind: EventType, metadata: serde_json::Value) -> Change {
        Change {
            kind,
            metadata,
            afresh: false,
            resolve_reports: false,
        }
    }

    fn afresh(self) -> Change {
        Change {
            afresh: true,
            ..self
        }
    }

    pub(crate) fn resolving_reports(self) -> Change {
        Change {
            resolve_reports: true,
            ..self
        }
    }
}

/// The event of a change to a review, by `actor` (their email, as every event's actor).
fn event(kind: EventType, actor: &Principal, metadata: serde_json::Value) -> NewEvent {
    NewEvent {
        event_type: kind,
        actor: actor.email.clone(),
        target: None,
        group_id: None,
        metadata,
    }
}

fn thing_name(plugin: &str, person_id: &str) -> String {
    format!("{plugin}:{person_id}")
}
