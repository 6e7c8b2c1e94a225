//! Publishers: the `publisher` things that own namespaces, the claims people make on them and the people
//! who hold them (migration 0012 says why claims and holders are tables of their own). The rules (who
//! may claim, who decides) are the marketplace's; this is what is stored and how it changes, each change
//! with its event.

use crate::clock::now_rfc3339;
use crate::events::insert_event;
use crate::tx::unique_violation;
use crate::{Result, Store, StoreError, StoreTx};
use plughub_domain::{EventType, NewEvent, Thing, ThingKind};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Where a claim stands.
pub const CLAIM_PENDING: &str = "pending";
pub const CLAIM_GRANTED: &str = "granted";
pub const CLAIM_REFUSED: &str = "refused";

/// A publisher's status: nobody holds it yet (it has been claimed only), or people hold it.
pub const PUBLISHER_UNCLAIMED: &str = "unclaimed";
pub const PUBLISHER_HELD: &str = "held";

/// A claim on a publisher, as stored, with the claimant's email and the publisher's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRecord {
    pub id: String,
    pub publisher_id: String,
    pub namespace: String,
    pub person_id: String,
    pub person_email: String,
    pub evidence: String,
    pub status: String,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
}

/// A person who holds a publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherPersonRecord {
    pub person_id: String,
    pub email: String,
    pub display_name: String,
    /// How they came to hold it (`claim`).
    pub how: String,
    pub since: String,
}

const CLAIM_COLUMNS: &str = "c.id, c.publisher_id, t.name AS namespace, c.person_id, p.email AS person_email, \
     c.evidence, c.status, c.created_at, c.decided_at, c.decided_by, c.decision_note";
const CLAIM_FROM: &str = "publisher_claims c JOIN things t ON t.id = c.publisher_id \
     JOIN people p ON p.id = c.person_id";

impl StoreTx<'_> {
    /// The publisher of `namespace`, made (unclaimed, not verified) if there is none yet. Made without an
    /// event of its own: it is made for a claim, whose event records it.
    pub async fn publisher_for_claim(&mut self, namespace: &str) -> Result<Thing> {
        let now = now_rfc3339();
        // Two first claims at once: one insert wins, the other finds its row.
        sqlx::query(
            "INSERT INTO things (id, kind, name, group_id, status, properties, created_at, updated_at) \
             VALUES ($1, $2, $3, NULL, $4, $5, $6, $6) ON CONFLICT DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(ThingKind::Publisher.as_str())
        .bind(namespace)
        .bind(PUBLISHER_UNCLAIMED)
        .bind(serde_json::json!({ "verified": false }).to_string())
        .bind(&now)
        .execute(self.conn())
        .await?;
        let row = sqlx::query(
            "SELECT id, kind, name, group_id, status, properties, created_at, updated_at FROM things \
             WHERE kind = $1 AND group_id IS NULL AND name = $2",
        )
        .bind(ThingKind::Publisher.as_str())
        .bind(namespace)
        .fetch_one(self.conn())
        .await?;
        crate::things::thing_from_row(&row)
    }

    /// Records `person_id`'s claim on the publisher `publisher_id`, with the event `publisher_claimed`.
    pub async fn insert_publisher_claim(
        &mut self,
        publisher_id: &str,
        person_id: &str,
        evidence: &str,
    ) -> Result<String> {
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO publisher_claims (id, publisher_id, person_id, evidence, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(publisher_id)
        .bind(person_id)
        .bind(evidence)
        .bind(CLAIM_PENDING)
        .bind(now_rfc3339())
        .execute(self.conn())
        .await
        .map_err(|e| {
            unique_violation(e, || {
                "you have a claim on this publisher waiting for a decision already".to_string()
            })
        })?;
        let event = NewEvent {
            event_type: EventType::PublisherClaimed,
            actor: person_id.to_string(),
            target: Some(publisher_id.to_string()),
            group_id: None,
            metadata: serde_json::json!({ "claim": id, "evidence": evidence }),
        };
        insert_event(&mut self.tx, &self.metrics, &event).await?;
        Ok(id)
    }

    /// Decides a pending claim: granted (its claimant then holds the publisher, which becomes held) or
    /// refused, with the event that records it. A claim decided already is a conflict, and changes nothing.
    pub async fn decide_publisher_claim(
        &mut self,
        claim_id: &str,
        grant: bool,
        note: &str,
        actor: &str,
    ) -> Result<()> {
        let now = now_rfc3339();
        let status = if grant { CLAIM_GRANTED } else { CLAIM_REFUSED };
        let row = sqlx::query(
            "UPDATE publisher_claims SET status = $1, decided_at = $2, decided_by = $3, decision_note = $4 \
             WHERE id = $5 AND status = $6 RETURNING publisher_id, person_id",
        )
        .bind(status)
        .bind(&now)
        .bind(actor)
        .bind(note)
        .bind(claim_id)
        .bind(CLAIM_PENDING)
        .fetch_optional(self.conn())
        .await?
        .ok_or_else(|| {
            StoreError::Conflict(format!(
                "claim {claim_id} is not waiting for a decision (it was decided already, or does not exist)"
            ))
        })?;
        let publisher_id: String = row.try_get("publisher_id")?;
        let person_id: String = row.try_get("person_id")?;
        if grant {
            sqlx::query(
                "INSERT INTO publisher_people (publisher_id, person_id, how, claim_id, granted_by, since) \
                 VALUES ($1, $2, 'claim', $3, $4, $5) ON CONFLICT (publisher_id, person_id) DO NOTHING",
            )
            .bind(&publisher_id)
            .bind(&person_id)
            .bind(claim_id)
            .bind(actor)
            .bind(&now)
            .execute(self.conn())
            .await?;
            sqlx::query("UPDATE things SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(PUBLISHER_HELD)
                .bind(&now)
                .bind(&publisher_id)
                .execute(self.conn())
                .await?;
        }
        let event = NewEvent {
            event_type: if grant {
                EventType::PublisherClaimGranted
            } else {
                EventType::PublisherClaimRefused
            },
            actor: actor.to_string(),
            target: Some(publisher_id),
            group_id: None,
            metadata: serde_json::json!({ "claim": claim_id, "person": person_id, "note": note }),
        };
        insert_event(&mut self.tx, &self.metrics, &event).await?;
        Ok(())
    }
}

impl Store {
    /// Every publisher (claimed at least once), by namespace.
    pub async fn publishers(&self) -> Result<Vec<Thing>> {
        self.things(ThingKind::Publisher, None).await
    }

    /// The publisher of `namespace`, if it was ever claimed.
    pub async fn publisher(&self, namespace: &str) -> Result<Option<Thing>> {
        self.thing_by_name(ThingKind::Publisher, None, namespace)
            .await
    }

    /// Whether `person_id` holds the publisher of `namespace`.
    pub async fn holds_publisher(&self, person_id: &str, namespace: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM publisher_people pp JOIN things t ON t.id = pp.publisher_id \
             WHERE pp.person_id = $1 AND t.kind = $2 AND t.group_id IS NULL AND t.name = $3",
        )
        .bind(person_id)
        .bind(ThingKind::Publisher.as_str())
        .bind(namespace)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// The people who hold a publisher, longest-standing first.
    pub async fn publisher_people(&self, publisher_id: &str) -> Result<Vec<PublisherPersonRecord>> {
        let rows = sqlx::query(
            "SELECT pp.person_id, p.email, p.display_name, pp.how, pp.since FROM publisher_people pp \
             JOIN people p ON p.id = pp.person_id WHERE pp.publisher_id = $1 ORDER BY pp.since, p.email",
        )
        .bind(publisher_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PublisherPersonRecord {
                    person_id: r.try_get("person_id")?,
                    email: r.try_get("email")?,
                    display_name: r.try_get("display_name")?,
                    how: r.try_get("how")?,
                    since: r.try_get("since")?,
                })
            })
            .collect()
    }

    /// A claim by id.
    pub async fn publisher_claim(&self, id: &str) -> Result<Option<ClaimRecord>> {
        let sql = format!("SELECT {CLAIM_COLUMNS} FROM {CLAIM_FROM} WHERE c.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(claim_from_row).transpose()
    }

    /// Claims in a status (all when `None`), oldest first: the order a queue is worked in.
    pub async fn publisher_claims(&self, status: Option<&str>) -> Result<Vec<ClaimRecord>> {
        let sql = format!(
            "SELECT {CLAIM_COLUMNS} FROM {CLAIM_FROM} WHERE ($1 = '' OR c.status = $1) \
             ORDER BY c.created_at, c.id"
        );
        let rows = sqlx::query(&sql)
            .bind(status.unwrap_or(""))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(claim_from_row).collect()
    }

    /// A person's own claims, newest first.
    pub async fn publisher_claims_of(&self, person_id: &str) -> Result<Vec<ClaimRecord>> {
        let sql = format!(
            "SELECT {CLAIM_COLUMNS} FROM {CLAIM_FROM} WHERE c.person_id = $1 ORDER BY c.created_at DESC, c.id"
        );
        let rows = sqlx::query(&sql)
            .bind(person_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(claim_from_row).collect()
    }
}

fn claim_from_row(row: &AnyRow) -> Result<ClaimRecord> {
    Ok(ClaimRecord {
        id: row.try_get("id")?,
        publisher_id: row.try_get("publisher_id")?,
        namespace: row.try_get("namespace")?,
        person_id: row.try_get("person_id")?,
        person_email: row.try_get("person_email")?,
        evidence: row.try_get("evidence")?,
        status: row.try_get("status")?,
        created_at: row.try_get("created_at")?,
        decided_at: row.try_get("decided_at")?,
        decided_by: row.try_get("decided_by")?,
        decision_note: row.try_get("decision_note")?,
    })
}
