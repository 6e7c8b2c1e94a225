//! What a publisher changes of a published package: unpublishing within the window (never while an
//! organisation has the version installed) and its dist-tags.

use crate::entry::{newest_published, version_event, write_entry};
use crate::moderation::decided_already;
use crate::service::Registry;
use crate::{RegistryError, Result};
use plughub_domain::{EventType, NewEvent, ThingKind};
use plughub_store::{RegistryVersionRecord, VERSION_PUBLISHED, VERSION_UNPUBLISHED};
use serde_json::{Value, json};
use std::time::Duration;

/// How long after its upload a version may be unpublished.
pub const UNPUBLISH_WINDOW: Duration = Duration::from_secs(72 * 3600);

impl Registry {
    /// Takes a published version back, within `UNPUBLISH_WINDOW` of its upload and only when no
    /// organisation has it installed. Tags on it are removed (`latest` moves back to the newest
    /// version still published).
    pub async fn unpublish(
        &self,
        name: &str,
        version: &str,
        actor: &str,
    ) -> Result<RegistryVersionRecord> {
        let record = self.version_in(name, version, VERSION_PUBLISHED).await?;
        let created = time::OffsetDateTime::parse(
            &record.created_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|e| RegistryError::Internal(format!("a stored time cannot be read: {e}")))?;
        let age = time::OffsetDateTime::now_utc() - created;
        if age > time::Duration::try_from(UNPUBLISH_WINDOW).expect("72 h fits") {
            return Err(RegistryError::UnpublishWindowOver(format!(
                "{name}@{version} was published at {}, more than 72 hours ago: it can no longer be unpublished (organisations may depend on it); publish a fixed version, or deprecate it",
                record.created_at
            )));
        }
        let installed = self.installed_in(name, version).await?;
        if installed > 0 {
            return Err(RegistryError::Installed(format!(
                "{name}@{version} is installed in {installed} organisation(s): it cannot be unpublished; publish a fixed version instead"
            )));
        }
        let mut records = self.store.registry_versions(name).await?;
        for r in records.iter_mut().filter(|r| r.version == version) {
            r.status = VERSION_UNPUBLISHED.into();
        }
        let old_tags = self.store.dist_tags(name).await?;
        let newest = newest_published(&records);
        let mut tags = Vec::new();
        let mut tag_changes: Vec<(String, Option<String>)> = Vec::new();
        for (tag, v) in &old_tags {
            if v != version {
                tags.push((tag.clone(), v.clone()));
            } else if tag == "latest"
                && let Some(back) = &newest
            {
                tags.push((tag.clone(), back.clone()));
                tag_changes.push((tag.clone(), Some(back.clone())));
            } else {
                tag_changes.push((tag.clone(), None));
            }
        }
        let mut tx = self.store.begin().await?;
        let target = write_entry(&mut tx, &self.store, name, &records, &tags, actor).await?;
        let event = version_event(
            EventType::VersionUnpublished,
            actor,
            target.clone(),
            name,
            version,
            json!({}),
        );
        if !tx
            .set_registry_version_status(
                name,
                version,
                VERSION_PUBLISHED,
                VERSION_UNPUBLISHED,
                actor,
                None,
                &event,
            )
            .await?
        {
            return Err(decided_already(name, version));
        }
        for (tag, to) in &tag_changes {
            let event = tag_event(actor, target.clone(), name, tag, to.as_deref());
            match to {
                Some(v) => tx.set_dist_tag(name, tag, v, &event).await?,
                None => {
                    tx.remove_dist_tag(name, tag, &event).await?;
                }
            }
        }
        tx.commit().await?;
        self.version_in(name, version, VERSION_UNPUBLISHED).await
    }

    /// How many organisations have `name@version` installed (as the running version, or as the one
    /// kept for a rollback).
    pub async fn installed_in(&self, name: &str, version: &str) -> Result<usize> {
        let things = self
            .store
            .things_in_all_groups(ThingKind::PluginInstance)
            .await?;
        let mut groups: Vec<&str> = things
            .iter()
            .filter(|t| t.name == name)
            .filter(|t| t.properties.get("state").and_then(Value::as_str) != Some("UNINSTALLED"))
            .filter(|t| {
                t.properties.get("version").and_then(Value::as_str) == Some(version)
                    || t.properties
                        .pointer("/previous/version")
                        .and_then(Value::as_str)
                        == Some(version)
            })
            .filter_map(|t| t.group_id.as_deref())
            .collect();
        groups.sort();
        groups.dedup();
        Ok(groups.len())
    }

    /// Points `tag` at a published `version`.
    pub async fn set_tag(&self, name: &str, tag: &str, version: &str, actor: &str) -> Result<()> {
        check_tag(tag)?;
        self.version_in(name, version, VERSION_PUBLISHED).await?;
        let records = self.store.registry_versions(name).await?;
        let mut tags = self.store.dist_tags(name).await?;
        tags.retain(|(k, _)| k != tag);
        tags.push((tag.to_string(), version.to_string()));
        let mut tx = self.store.begin().await?;
        let target = write_entry(&mut tx, &self.store, name, &records, &tags, actor).await?;
        tx.set_dist_tag(
            name,
            tag,
            version,
            &tag_event(actor, target, name, tag, Some(version)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes `tag`; `latest` cannot be removed (npm clients need it), only moved.
    pub async fn remove_tag(&self, name: &str, tag: &str, actor: &str) -> Result<()> {
        if tag == "latest" {
            return Err(RegistryError::Invalid(
                "`latest` cannot be removed, only moved: PUT it to another published version"
                    .into(),
            ));
        }
        let records = self.store.registry_versions(name).await?;
        let mut tags = self.store.dist_tags(name).await?;
        if !tags.iter().any(|(k, _)| k == tag) {
            return Err(RegistryError::NotFound(format!(
                "{name} has no dist-tag '{tag}' (GET /api/registry/packages/{name} lists them)"
            )));
        }
        tags.retain(|(k, _)| k != tag);
        let mut tx = self.store.begin().await?;
        let target = write_entry(&mut tx, &self.store, name, &records, &tags, actor).await?;
        tx.remove_dist_tag(name, tag, &tag_event(actor, target, name, tag, None))
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

pub(crate) fn tag_event(
    actor: &str,
    target: Option<String>,
    name: &str,
    tag: &str,
    version: Option<&str>,
) -> NewEvent {
    NewEvent {
        event_type: EventType::DistTagChanged,
        actor: actor.to_string(),
        target,
        group_id: None,
        metadata: json!({ "package": name, "tag": tag, "version": version }),
    }
}

/// A dist-tag: not a version (npm refuses tags that parse as one), short, URL-safe.
pub fn check_tag(tag: &str) -> Result<()> {
    let valid = !tag.is_empty()
        && tag.len() <= 64
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        // npm refuses tags that read as versions or ranges (`1.2`, `v2`).
        && !tag.starts_with(|c: char| c.is_ascii_digit())
        && !(tag.starts_with('v') && tag[1..].starts_with(|c: char| c.is_ascii_digit()));
    if valid {
        Ok(())
    } else {
        Err(RegistryError::Invalid(format!(
            "'{tag}' is not a dist-tag: letters, digits, - . _, not a version (latest, next, beta)"
        )))
    }
}
