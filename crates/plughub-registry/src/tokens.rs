//! Publish tokens: each publishes to its one namespace and does nothing else, kept as the SHA-256 of its
//! secret, valid while its person holds the namespace.

use crate::service::{Publisher, Registry};
use crate::{RegistryError, Result};
use plughub_domain::{EventType, NewEvent};
use plughub_market::publishers::Publishers;
use plughub_store::{PublishTokenRecord, format_time, now_rfc3339};
use serde_json::json;

/// Publish tokens start so, so a leaked one is recognisable (API tokens are `phk_`).
pub const PUBLISH_TOKEN_PREFIX: &str = "php";

/// A new publish token: its secret, shown this once.
#[derive(Debug, Clone)]
pub struct NewPublishToken {
    pub record: PublishTokenRecord,
    pub token: String,
}

impl Registry {
    /// Makes a publish token for `namespace`, which `person_id` must hold; valid `days` (1 to 365).
    pub async fn create_token(
        &self,
        person_id: &str,
        namespace: &str,
        name: &str,
        days: u32,
    ) -> Result<NewPublishToken> {
        if !(1..=365).contains(&days) {
            return Err(RegistryError::Invalid(
                "days: a publish token lasts 1 to 365 days".into(),
            ));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(RegistryError::Invalid(
                "name: 1 to 100 characters saying where the token is used (`ci`, say)".into(),
            ));
        }
        if !Publishers::new(self.store.clone())
            .holds(person_id, namespace)
            .await?
        {
            return Err(RegistryError::NamespaceNotHeld(format!(
                "you do not hold the publisher {namespace}: a publish token can only be made for a namespace you hold"
            )));
        }
        let (token, hash) = plughub_accounts::new_secret(PUBLISH_TOKEN_PREFIX)
            .map_err(|e| RegistryError::Internal(e.to_string()))?;
        let now = time::OffsetDateTime::now_utc();
        let record = PublishTokenRecord {
            id: uuid::Uuid::now_v7().to_string(),
            person_id: person_id.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            created_at: format_time(now),
            expires_at: format_time(now + time::Duration::days(days.into())),
            revoked_at: None,
            last_used_at: None,
        };
        let target = self.store.publisher(namespace).await?.map(|t| t.id);
        let event = NewEvent {
            event_type: EventType::PublishTokenCreated,
            actor: person_id.to_string(),
            target,
            group_id: None,
            metadata: json!({ "token": record.id, "namespace": namespace, "name": name, "expires_at": record.expires_at }),
        };
        let mut tx = self.store.begin().await?;
        tx.insert_publish_token(&record, &hash, &event).await?;
        tx.commit().await?;
        Ok(NewPublishToken { record, token })
    }

    /// Revokes one of `person_id`'s publish tokens.
    pub async fn revoke_token(&self, person_id: &str, id: &str) -> Result<()> {
        let record = self
            .store
            .publish_token(id)
            .await?
            .filter(|t| t.person_id == person_id && t.revoked_at.is_none())
            .ok_or_else(|| {
                RegistryError::NotFound(format!(
                    "no publish token {id} of yours that is not revoked (GET /api/me/publish-tokens lists them)"
                ))
            })?;
        let target = self.store.publisher(&record.namespace).await?.map(|t| t.id);
        let event = NewEvent {
            event_type: EventType::PublishTokenRevoked,
            actor: person_id.to_string(),
            target,
            group_id: None,
            metadata: json!({ "token": id, "namespace": record.namespace }),
        };
        let mut tx = self.store.begin().await?;
        if !tx.revoke_publish_token(id, &event).await? {
            return Err(RegistryError::NotFound(format!(
                "publish token {id} was revoked already"
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    /// The publisher a publish token (`php_…`) stands for, if it holds: known, not revoked, not
    /// expired, and its person still holds the namespace.
    pub async fn authenticate_token(&self, token: &str) -> Result<Publisher> {
        let hash = plughub_accounts::hash_secret(token);
        let record = self
            .store
            .publish_token_by_hash(&hash)
            .await?
            .ok_or_else(|| RegistryError::BadToken("unknown publish token".into()))?;
        if record.revoked_at.is_some() {
            return Err(RegistryError::BadToken(
                "this publish token was revoked: make a new one on your account page".into(),
            ));
        }
        if record.expires_at <= now_rfc3339() {
            return Err(RegistryError::BadToken(format!(
                "this publish token expired at {}: make a new one on your account page",
                record.expires_at
            )));
        }
        Ok(Publisher::Token {
            person_id: record.person_id,
            namespace: record.namespace,
        })
    }
}
