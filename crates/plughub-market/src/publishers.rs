//! Publishers: who publishes the catalogue's plugins. A publisher owns one namespace (an npm scope such as
//! `@acme`, or an unscoped package's exact name: `plughub_domain::names::namespace_of`), and every
//! catalogue plugin belongs to the publisher of its namespace. A publisher is unclaimed until people hold
//! it: a person claims it with a statement of evidence, and a platform owner grants or refuses the claim
//! after the check `docs/publishers.md` describes. "Verified" is a platform owner's later decision on a
//! held publisher, revocable. Every decision is an event on the publisher.
//!
//! This is the one model of publishers: answering reviews, a publisher's analytics and publishing to
//! plughub (the next issue) ask `holds` and `is_verified`, and nothing else decides who a publisher is.

use crate::{MarketError, Result};
use plughub_domain::{EventType, NewEvent, Thing};
use plughub_store::{
    CLAIM_PENDING, ClaimRecord, PUBLISHER_HELD, PUBLISHER_UNCLAIMED, PublisherPersonRecord, Store,
};
use serde::Serialize;

/// The longest statement of evidence a claim keeps.
pub const MAX_EVIDENCE: usize = 2000;
/// The longest note a platform owner keeps with a decision.
pub const MAX_NOTE: usize = 2000;

/// A publisher as shown: its namespace, whether people hold it, whether a platform owner verified it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Publisher {
    /// The namespace it owns: `@acme` (an npm scope) or an unscoped package's name.
    pub namespace: String,
    /// `unclaimed` (nobody holds it) or `held`.
    pub status: String,
    pub verified: bool,
    /// When it was verified (absent when it is not).
    pub verified_at: Option<String>,
}

/// A person who holds a publisher, as its page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PublisherPerson {
    pub display_name: String,
    /// How they came to hold it: `claim` (a platform owner granted their claim).
    pub how: String,
    pub since: String,
}

/// A claim on a publisher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Claim {
    pub id: String,
    pub namespace: String,
    pub person_id: String,
    pub person_email: String,
    /// What the claimant says shows that the namespace is theirs.
    pub evidence: String,
    /// `pending`, `granted` or `refused`.
    pub status: String,
    pub created_at: String,
    pub decided_at: Option<String>,
    /// The platform owner's note on the decision (what was checked, why refused).
    pub decision_note: Option<String>,
}

impl From<ClaimRecord> for Claim {
    fn from(r: ClaimRecord) -> Self {
        Claim {
            id: r.id,
            namespace: r.namespace,
            person_id: r.person_id,
            person_email: r.person_email,
            evidence: r.evidence,
            status: r.status,
            created_at: r.created_at,
            decided_at: r.decided_at,
            decision_note: r.decision_note,
        }
    }
}

impl From<PublisherPersonRecord> for PublisherPerson {
    fn from(r: PublisherPersonRecord) -> Self {
        PublisherPerson {
            display_name: r.display_name,
            how: r.how,
            since: r.since,
        }
    }
}

/// Publishers on a store.
#[derive(Clone)]
pub struct Publishers {
    store: Store,
}

impl Publishers {
    pub fn new(store: Store) -> Publishers {
        Publishers { store }
    }

    /// Whether `person_id` holds the publisher of `namespace` (a granted claim).
    pub async fn holds(&self, person_id: &str, namespace: &str) -> Result<bool> {
        Ok(self.store.holds_publisher(person_id, namespace).await?)
    }

    /// Whether a platform owner verified the publisher of `namespace` (and has not revoked it).
    pub async fn is_verified(&self, namespace: &str) -> Result<bool> {
        Ok(self
            .store
            .publisher(namespace)
            .await?
            .is_some_and(|t| publisher_of(&t).verified))
    }

    /// The publisher of `namespace`: unclaimed and unverified if nobody ever claimed it.
    pub async fn publisher(&self, namespace: &str) -> Result<Publisher> {
        check_namespace(namespace)?;
        Ok(match self.store.publisher(namespace).await? {
            Some(thing) => publisher_of(&thing),
            None => Publisher {
                namespace: namespace.to_string(),
                status: PUBLISHER_UNCLAIMED.to_string(),
                verified: false,
                verified_at: None,
            },
        })
    }

    /// Every publisher claimed at least once, by namespace.
    pub async fn claimed(&self) -> Result<Vec<Publisher>> {
        Ok(self
            .store
            .publishers()
            .await?
            .iter()
            .map(publisher_of)
            .collect())
    }

    /// The people who hold the publisher of `namespace` (none when it is unclaimed).
    pub async fn people(&self, namespace: &str) -> Result<Vec<PublisherPerson>> {
        let Some(thing) = self.store.publisher(namespace).await? else {
            return Ok(Vec::new());
        };
        Ok(self
            .store
            .publisher_people(&thing.id)
            .await?
            .into_iter()
            .map(PublisherPerson::from)
            .collect())
    }

    /// `person_id` claims the publisher of `namespace`, saying why it is theirs. The claim waits for a
    /// platform owner's decision. One who holds it already, or has a claim waiting, cannot claim again.
    pub async fn claim(&self, person_id: &str, namespace: &str, evidence: &str) -> Result<Claim> {
        check_namespace(namespace)?;
        let evidence = evidence.trim();
        if evidence.is_empty() {
            return Err(MarketError::Invalid(
                "say what shows the namespace is yours (evidence): e.g. that your npm account maintains its \
                 packages, or an email address on the package's domain"
                    .into(),
            ));
        }
        if evidence.chars().count() > MAX_EVIDENCE {
            return Err(MarketError::Invalid(format!(
                "the evidence is longer than {MAX_EVIDENCE} characters: shorten it"
            )));
        }
        if self.holds(person_id, namespace).await? {
            return Err(MarketError::Conflict(format!(
                "you hold the publisher {namespace} already"
            )));
        }
        let mut tx = self.store.begin().await?;
        let publisher = tx.publisher_for_claim(namespace).await?;
        let id = tx
            .insert_publisher_claim(&publisher.id, person_id, evidence)
            .await?;
        tx.commit().await?;
        self.claim_by_id(&id).await
    }

    /// A claim by id.
    pub async fn claim_by_id(&self, id: &str) -> Result<Claim> {
        self.store
            .publisher_claim(id)
            .await?
            .map(Claim::from)
            .ok_or_else(|| MarketError::NotFound(format!("there is no publisher claim {id}")))
    }

    /// Claims waiting for a decision (`pending`), or all when `status` is `None`, oldest first.
    pub async fn claims(&self, status: Option<&str>) -> Result<Vec<Claim>> {
        if let Some(s) = status
            && !["pending", "granted", "refused"].contains(&s)
        {
            return Err(MarketError::Invalid(format!(
                "unknown claim status '{s}': use pending, granted or refused"
            )));
        }
        Ok(self
            .store
            .publisher_claims(status)
            .await?
            .into_iter()
            .map(Claim::from)
            .collect())
    }

    /// A person's own claims, newest first.
    pub async fn claims_of(&self, person_id: &str) -> Result<Vec<Claim>> {
        Ok(self
            .store
            .publisher_claims_of(person_id)
            .await?
            .into_iter()
            .map(Claim::from)
            .collect())
    }

    /// A platform owner (`actor`) grants a pending claim: its claimant holds the publisher from now on.
    pub async fn grant(&self, claim_id: &str, note: &str, actor: &str) -> Result<Claim> {
        self.decide(claim_id, true, note, actor).await
    }

    /// A platform owner (`actor`) refuses a pending claim; `note` says why (the claimant reads it).
    pub async fn refuse(&self, claim_id: &str, note: &str, actor: &str) -> Result<Claim> {
        self.decide(claim_id, false, note, actor).await
    }

    async fn decide(&self, claim_id: &str, grant: bool, note: &str, actor: &str) -> Result<Claim> {
        let note = check_note(note)?;
        let claim = self.claim_by_id(claim_id).await?;
        if claim.status != CLAIM_PENDING {
            return Err(MarketError::Conflict(format!(
                "claim {claim_id} was {} already",
                claim.status
            )));
        }
        let mut tx = self.store.begin().await?;
        tx.decide_publisher_claim(claim_id, grant, note, actor)
            .await?;
        tx.commit().await?;
        self.claim_by_id(claim_id).await
    }

    /// A platform owner (`actor`) verifies the publisher of `namespace` (`verified`) or revokes its
    /// verification. Only a held publisher can be verified; setting what is set already is a conflict, so
    /// that every event records a change.
    pub async fn set_verified(
        &self,
        namespace: &str,
        verified: bool,
        note: &str,
        actor: &str,
    ) -> Result<Publisher> {
        check_namespace(namespace)?;
        let note = check_note(note)?;
        let thing = self.store.publisher(namespace).await?;
        let Some(thing) = thing.filter(|t| t.status == PUBLISHER_HELD) else {
            return Err(MarketError::Conflict(if verified {
                format!(
                    "nobody holds the publisher {namespace}: grant a claim on it before verifying it"
                )
            } else {
                format!("the publisher {namespace} is not verified")
            }));
        };
        let current = publisher_of(&thing);
        if current.verified == verified {
            return Err(MarketError::Conflict(if verified {
                format!("the publisher {namespace} is verified already")
            } else {
                format!("the publisher {namespace} is not verified")
            }));
        }
        let mut properties = thing.properties.clone();
        properties["verified"] = serde_json::json!(verified);
        if verified {
            properties["verified_at"] = serde_json::json!(plughub_store::now_rfc3339());
        } else if let Some(map) = properties.as_object_mut() {
            map.remove("verified_at");
        }
        let event = NewEvent {
            event_type: if verified {
                EventType::PublisherVerified
            } else {
                EventType::PublisherVerificationRevoked
            },
            actor: actor.to_string(),
            target: None,
            group_id: None,
            metadata: serde_json::json!({ "namespace": namespace, "note": note }),
        };
        let mut tx = self.store.begin().await?;
        tx.update_thing(&thing.id, &thing.status, &properties.to_string(), event)
            .await?;
        tx.commit().await?;
        self.publisher(namespace).await
    }
}

fn publisher_of(thing: &Thing) -> Publisher {
    Publisher {
        namespace: thing.name.clone(),
        status: thing.status.clone(),
        verified: thing.properties["verified"].as_bool().unwrap_or(false),
        verified_at: thing.properties["verified_at"].as_str().map(str::to_string),
    }
}

/// Whether `namespace` is one a publisher can own: an npm scope (`@acme`) or an unscoped npm name, in
/// npm's own spelling (lower case letters, digits, `-`, `.`, `_`, `~`; at most 214 characters).
pub fn check_namespace(namespace: &str) -> Result<()> {
    let bare = namespace.strip_prefix('@').unwrap_or(namespace);
    let usable = !bare.is_empty()
        && namespace.len() <= 214
        && !bare.starts_with(['.', '_'])
        && bare.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_' | '~')
        });
    if usable {
        Ok(())
    } else {
        Err(MarketError::Invalid(format!(
            "'{namespace}' is not a publisher namespace: give an npm scope such as @acme, or an unscoped \
             package's name such as plugin-foo (lower case)"
        )))
    }
}

fn check_note(note: &str) -> Result<&str> {
    let note = note.trim();
    if note.chars().count() > MAX_NOTE {
        return Err(MarketError::Invalid(format!(
            "the note is longer than {MAX_NOTE} characters: shorten it"
        )));
    }
    Ok(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_scopes_or_unscoped_names() {
        for ok in ["@acme", "@elizaos", "plugin-foo", "@a.b-c_d~e", "x"] {
            assert!(check_namespace(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "@",
            "@Acme",
            "@acme/plugin-x",
            "../etc",
            "_x",
            "a b",
            &"a".repeat(215),
        ] {
            assert!(check_namespace(bad).is_err(), "{bad}");
        }
    }
}
