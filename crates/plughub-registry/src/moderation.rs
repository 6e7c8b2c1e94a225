//! What platform owners decide of what is uploaded: release or reject a quarantined version, the
//! blocklist of file hashes, and the documented decisions that a namespace npm also has is a plughub
//! publisher's. Each with its event.

use crate::entry::{version_event, write_entry};
use crate::namespace;
use crate::publish::tag_after_publish;
use crate::service::Registry;
use crate::versions::tag_event;
use crate::{RegistryError, Result};
use plughub_domain::{EventType, NewEvent};
use plughub_store::{
    BlockedHashRecord, NamespaceDecisionRecord, RegistryVersionRecord, VERSION_PUBLISHED,
    VERSION_QUARANTINED, VERSION_REJECTED, now_rfc3339,
};
use serde_json::{Value, json};

impl Registry {
    /// A moderator releases a quarantined version: published, tagged as its upload asked (`latest`
    /// moving forward only), in the catalogue.
    pub async fn release(
        &self,
        name: &str,
        version: &str,
        actor: &str,
        note: Option<&str>,
    ) -> Result<RegistryVersionRecord> {
        let record = self.version_in(name, version, VERSION_QUARANTINED).await?;
        let tag = record
            .checks
            .get("tag")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut records = self.store.registry_versions(name).await?;
        for r in records.iter_mut().filter(|r| r.version == version) {
            r.status = VERSION_PUBLISHED.into();
        }
        let mut tags = self.store.dist_tags(name).await?;
        let moved = tag_after_publish(&records, &tags, version, tag.as_deref());
        if let Some(t) = &moved {
            tags.retain(|(k, _)| k != t);
            tags.push((t.clone(), version.to_string()));
        }
        let mut tx = self.store.begin().await?;
        let target = write_entry(&mut tx, &self.store, name, &records, &tags, actor).await?;
        let event = version_event(
            EventType::VersionReleased,
            actor,
            target.clone(),
            name,
            version,
            json!({ "note": note, "tag": moved }),
        );
        if !tx
            .set_registry_version_status(
                name,
                version,
                VERSION_QUARANTINED,
                VERSION_PUBLISHED,
                actor,
                note,
                &event,
            )
            .await?
        {
            return Err(decided_already(name, version));
        }
        if let Some(t) = &moved {
            tx.set_dist_tag(
                name,
                t,
                version,
                &tag_event(actor, target, name, t, Some(version)),
            )
            .await?;
        }
        tx.commit().await?;
        self.version_in(name, version, VERSION_PUBLISHED).await
    }

    /// A moderator rejects a quarantined version: it is never published; its number stays used.
    pub async fn reject(
        &self,
        name: &str,
        version: &str,
        actor: &str,
        note: Option<&str>,
    ) -> Result<RegistryVersionRecord> {
        self.version_in(name, version, VERSION_QUARANTINED).await?;
        let target = self.entry_id(name).await?;
        let event = version_event(
            EventType::VersionRejected,
            actor,
            target,
            name,
            version,
            json!({ "note": note }),
        );
        let mut tx = self.store.begin().await?;
        if !tx
            .set_registry_version_status(
                name,
                version,
                VERSION_QUARANTINED,
                VERSION_REJECTED,
                actor,
                note,
                &event,
            )
            .await?
        {
            return Err(decided_already(name, version));
        }
        tx.commit().await?;
        self.version_in(name, version, VERSION_REJECTED).await
    }

    /// Adds a file hash (sha512, hex) to the blocklist.
    pub async fn block(
        &self,
        sha512: &str,
        reason: &str,
        actor: &str,
    ) -> Result<BlockedHashRecord> {
        let sha512 = sha512.to_ascii_lowercase();
        if sha512.len() != 128 || !sha512.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RegistryError::Invalid(
                "sha512 must be the 128 hex digits of a file's sha512 (`sha512sum file`)".into(),
            ));
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(RegistryError::Invalid(
                "reason: say in 1 to 500 characters why the file is blocked".into(),
            ));
        }
        let record = BlockedHashRecord {
            sha512: sha512.clone(),
            reason: reason.to_string(),
            added_by: actor.to_string(),
            added_at: now_rfc3339(),
        };
        let event = NewEvent {
            event_type: EventType::BlocklistChanged,
            actor: actor.to_string(),
            target: None,
            group_id: None,
            metadata: json!({ "sha512": sha512, "added": true, "reason": reason }),
        };
        let mut tx = self.store.begin().await?;
        tx.put_blocked_hash(&record, &event).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Removes a hash from the blocklist.
    pub async fn unblock(&self, sha512: &str, actor: &str) -> Result<()> {
        let sha512 = sha512.to_ascii_lowercase();
        let event = NewEvent {
            event_type: EventType::BlocklistChanged,
            actor: actor.to_string(),
            target: None,
            group_id: None,
            metadata: json!({ "sha512": sha512, "added": false }),
        };
        let mut tx = self.store.begin().await?;
        if !tx.remove_blocked_hash(&sha512, &event).await? {
            return Err(RegistryError::NotFound(format!(
                "{sha512} is not on the blocklist"
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    /// A platform owner's documented decision that `namespace`, which npm also has, is its plughub
    /// publisher's.
    pub async fn decide_namespace(
        &self,
        namespace: &str,
        note: &str,
        actor: &str,
    ) -> Result<NamespaceDecisionRecord> {
        plughub_market::publishers::check_namespace(namespace)
            .map_err(|e| RegistryError::Invalid(e.to_string()))?;
        if namespace::is_reserved(namespace) {
            return Err(RegistryError::NamespaceReserved(format!(
                "{namespace} is reserved: no decision can give it to a plughub publisher"
            )));
        }
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 2000 {
            return Err(RegistryError::Invalid(
                "note: say in 1 to 2,000 characters what shows the npm namespace is the publisher's"
                    .into(),
            ));
        }
        let record = NamespaceDecisionRecord {
            namespace: namespace.to_string(),
            note: note.to_string(),
            decided_by: actor.to_string(),
            decided_at: now_rfc3339(),
        };
        let target = self.store.publisher(namespace).await?.map(|t| t.id);
        let event = NewEvent {
            event_type: EventType::NamespaceOwnershipDecided,
            actor: actor.to_string(),
            target,
            group_id: None,
            metadata: json!({ "namespace": namespace, "note": note }),
        };
        let mut tx = self.store.begin().await?;
        tx.put_namespace_decision(&record, &event).await?;
        tx.commit().await?;
        Ok(record)
    }
}

pub(crate) fn decided_already(name: &str, version: &str) -> RegistryError {
    RegistryError::Conflict(format!(
        "{name}@{version} was changed by another request first: reload and look again"
    ))
}
