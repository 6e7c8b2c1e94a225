//! Publishing to plughub and everything that changes what is published: the checks of an upload and its
//! quarantine, moderators' release and rejection, unpublishing within the window, dist-tags, the
//! blocklist, namespace decisions and publish tokens. Every change is made with its event in one
//! transaction, and a change of what is published rewrites the package's catalogue entry in the same
//! transaction (the caller refreshes the search index after).

use crate::namespace::{self, OnNpm};
use crate::npm_view;
use crate::scan;
use crate::{RegistryError, Result};
use plughub_domain::names::namespace_of;
use plughub_domain::{CatalogEntry, EventType, NewEvent, SourceKind, SourceRecord, ThingKind};
use plughub_market::publishers::Publishers;
use plughub_npm::NpmClient;
use plughub_store::{
    BlockedHashRecord, NamespaceDecisionRecord, NewRegistryVersion, NewThing, PublishTokenRecord,
    RegistryVersionRecord, Store, StoreError, StoreTx, VERSION_PUBLISHED, VERSION_QUARANTINED,
    VERSION_REJECTED, VERSION_UNPUBLISHED, format_time, now_rfc3339,
};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Duration;

/// How large an upload may be. All configurable; the defaults are generous for plugins, which are a few
/// hundred kilobytes built.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_tarball_bytes: u64,
    pub max_unpacked_bytes: u64,
    pub max_files: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_tarball_bytes: 10 << 20,
            max_unpacked_bytes: 50 << 20,
            max_files: 2000,
        }
    }
}

/// The installer's risk threshold by default (plughub-lifecycle's `risk_threshold`): a version the
/// installer would refuse is not published without a moderator.
pub const DEFAULT_RISK_THRESHOLD: u32 = 50;

/// How long after its upload a version may be unpublished.
pub const UNPUBLISH_WINDOW: Duration = Duration::from_secs(72 * 3600);

/// Publish tokens start so, so a leaked one is recognisable (API tokens are `phk_`).
pub const PUBLISH_TOKEN_PREFIX: &str = "php";

/// Who publishes: a person signed in (with an API token or a session), or a publish token, which may
/// publish to its one namespace only.
#[derive(Debug, Clone)]
pub enum Publisher {
    Person(String),
    Token {
        person_id: String,
        namespace: String,
    },
}

impl Publisher {
    pub fn person_id(&self) -> &str {
        match self {
            Publisher::Person(id) | Publisher::Token { person_id: id, .. } => id,
        }
    }
}

/// Why a version was quarantined, as the publisher is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Reason {
    /// `analysis`, `secret` or `blocklist`.
    pub check: String,
    pub message: String,
    /// The file of the package it is about, where it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// What an upload became.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublishOutcome {
    pub name: String,
    pub version: String,
    /// The tarball's sha512 SRI (npm's `dist.integrity`).
    pub integrity: String,
    /// `published`, or `quarantined` until a moderator decides.
    pub status: String,
    /// The dist-tag set (published versions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// What each check found.
    #[schema(value_type = Object)]
    pub checks: Value,
    /// Why it is quarantined (quarantined versions only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
}

/// A new publish token: its secret, shown this once.
#[derive(Debug, Clone)]
pub struct NewPublishToken {
    pub record: PublishTokenRecord,
    pub token: String,
}

/// plughub as a registry, over the store.
#[derive(Clone)]
pub struct Registry {
    store: Store,
    /// The npm registry asked whether it has a namespace; `None`: there is none to ask, and a namespace
    /// without a platform owner's decision is refused (fail closed). Unset until first needed when it comes from the npm configuration
    /// (reading that runs `npm`, which a server that never publishes should not wait for).
    npm: std::sync::Arc<std::sync::OnceLock<Option<NpmClient>>>,
    pub limits: Limits,
    pub risk_threshold: u32,
}

impl Registry {
    pub fn new(store: Store, npm: Option<NpmClient>) -> Registry {
        let registry = Registry::from_npm_config(store);
        let _ = registry.npm.set(npm);
        registry
    }

    /// A registry asking the npm registry of the npm configuration (`plughub_npm::npm_registry_url`),
    /// read when a namespace is first checked.
    pub fn from_npm_config(store: Store) -> Registry {
        Registry {
            store,
            npm: Default::default(),
            limits: Limits::default(),
            risk_threshold: DEFAULT_RISK_THRESHOLD,
        }
    }

    async fn npm(&self) -> Option<NpmClient> {
        if let Some(npm) = self.npm.get() {
            return npm.clone();
        }
        let url = tokio::task::spawn_blocking(plughub_npm::npm_registry_url)
            .await
            .ok()
            .and_then(Result::ok);
        // With the scopes (and their credentials) of the npm configuration: a scope it routes to a
        // registry of its own is looked for there.
        self.npm
            .get_or_init(|| {
                url.map(|u| NpmClient::with_config(plughub_npm::NpmConfig::with_files(&u)))
            })
            .clone()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Publishes `tarball` as `name` for `publisher`, with `tag` (`None`: `latest`, moved only forward).
    /// A refusal records nothing; a failed check records the version quarantined.
    pub async fn publish(
        &self,
        publisher: &Publisher,
        name: &str,
        tag: Option<&str>,
        tarball: &[u8],
    ) -> Result<PublishOutcome> {
        if tarball.len() as u64 > self.limits.max_tarball_bytes {
            return Err(RegistryError::TooLarge(format!(
                "the tarball is {} bytes, over the limit of {}: leave out what the plugin does not need at run time (`files` in package.json)",
                tarball.len(),
                self.limits.max_tarball_bytes
            )));
        }
        check_name(name)?;
        if let Some(tag) = tag {
            check_tag(tag)?;
        }
        let namespace = namespace_of(name).to_string();
        self.may_publish_to(publisher, &namespace, name).await?;

        // Read the package as the installer will: the same extraction with limits.
        let work = tempfile::tempdir().map_err(|e| RegistryError::Internal(e.to_string()))?;
        let dir = work.path().join("package");
        let limits = plughub_install::ExtractLimits {
            max_total_bytes: self.limits.max_unpacked_bytes,
            max_file_bytes: self.limits.max_unpacked_bytes,
            max_files: self.limits.max_files,
            max_ratio: plughub_install::ExtractLimits::default().max_ratio,
        };
        let bytes = tarball.to_vec();
        let into = dir.clone();
        let extracted = tokio::task::spawn_blocking(move || {
            plughub_install::extract_tarball(&bytes, &into, &limits)
        })
        .await
        .map_err(|e| RegistryError::Internal(e.to_string()))?;
        if let Err(e) = extracted {
            let message = e.to_string();
            return Err(
                if message.contains("more than") || message.contains("allowed") {
                    RegistryError::TooLarge(format!(
                        "{message}: the limits are {} bytes unpacked and {} files",
                        self.limits.max_unpacked_bytes, self.limits.max_files
                    ))
                } else {
                    RegistryError::InvalidPackage(format!(
                        "the body is not a package tarball that can be read: {message}; send the .tgz `npm pack` makes"
                    ))
                },
            );
        }
        let manifest: Value = std::fs::read(dir.join("package.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .filter(Value::is_object)
            .ok_or_else(|| {
                RegistryError::InvalidPackage(
                    "the tarball has no readable package.json at its top (package/package.json)"
                        .into(),
                )
            })?;
        let manifest_name = manifest.get("name").and_then(Value::as_str).unwrap_or("");
        if manifest_name != name {
            return Err(RegistryError::InvalidPackage(format!(
                "package.json names '{manifest_name}', not '{name}': publish it under its own name"
            )));
        }
        let version = manifest
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if nodejs_semver::Version::parse(&version).is_err() {
            return Err(RegistryError::InvalidPackage(format!(
                "package.json's version '{version}' is not a semantic version (1.2.3)"
            )));
        }
        if self.store.registry_version(name, &version).await?.is_some() {
            return Err(version_exists(name, &version));
        }

        // The checks.
        let scan_dir = dir.clone();
        let scanned = tokio::task::spawn_blocking(move || {
            let analysis = plughub_analyzer::analyze_package(&scan_dir);
            let files = scan::scan(&scan_dir);
            (analysis, files)
        })
        .await
        .map_err(|e| RegistryError::Internal(e.to_string()))?;
        let (analysis, files) = scanned;
        let (secrets, hashes) = files.map_err(|e| {
            RegistryError::InvalidPackage(format!("the package's files cannot be read: {e}"))
        })?;
        let analysis = analysis.map_err(|e| {
            RegistryError::InvalidPackage(format!("the package cannot be analysed: {e}"))
        })?;
        let blocked = self.store.blocked_hashes().await?;

        let mut reasons = Vec::new();
        if analysis.score >= self.risk_threshold {
            let rules: Vec<String> = analysis
                .findings
                .iter()
                .take(3)
                .map(|f| format!("{:?} in {} line {}", f.rule, f.file, f.line))
                .collect();
            reasons.push(Reason {
                check: "analysis".into(),
                message: format!(
                    "the static analysis scores it {}/100, at or above the gate of {} ({}); a moderator reviews it",
                    analysis.score,
                    self.risk_threshold,
                    rules.join("; ")
                ),
                file: None,
            });
        }
        for s in &secrets {
            reasons.push(Reason {
                check: "secret".into(),
                message: format!(
                    "{} line {} holds what looks like a secret ({}): remove it, revoke it where it was issued, and publish a new version",
                    s.file, s.line, s.rule
                ),
                file: Some(s.file.clone()),
            });
        }
        let mut blocked_files = Vec::new();
        for h in &hashes {
            if let Some(b) = blocked.iter().find(|b| b.sha512 == h.sha512) {
                blocked_files
                    .push(json!({ "file": h.file, "sha512": h.sha512, "reason": b.reason }));
                reasons.push(Reason {
                    check: "blocklist".into(),
                    message: format!(
                        "{} is a file the platform owners blocked ({}); remove it",
                        h.file, b.reason
                    ),
                    file: Some(h.file.clone()),
                });
            }
        }
        let checks = json!({
            "analysis": {
                "score": analysis.score,
                "level": analysis.level,
                "gate": self.risk_threshold,
                "findings": analysis.findings.iter().take(20).map(|f| json!({
                    "rule": f.rule, "severity": f.severity, "file": f.file, "line": f.line,
                    "message": f.message,
                })).collect::<Vec<_>>(),
            },
            "secrets": secrets,
            "blocklist": blocked_files,
            "size": { "tarball": tarball.len(), "unpacked": analysis.bytes, "files": hashes.len() },
            "tag": tag,
            "reasons": reasons,
        });

        let integrity = plughub_install::integrity::sri_of(tarball);
        let shasum = ssri::IntegrityOpts::new()
            .algorithm(ssri::Algorithm::Sha1)
            .chain(tarball)
            .result()
            .to_hex()
            .1;
        let quarantined = !reasons.is_empty();
        let status = if quarantined {
            VERSION_QUARANTINED
        } else {
            VERSION_PUBLISHED
        };
        let new = NewRegistryVersion {
            package: name.to_string(),
            version: version.clone(),
            namespace: namespace.clone(),
            status: status.to_string(),
            integrity: integrity.clone(),
            shasum,
            manifest: manifest.clone(),
            tarball: tarball.to_vec(),
            checks: checks.clone(),
            published_by: publisher.person_id().to_string(),
        };
        let actor = publisher.person_id();
        let mut tx = self.store.begin().await?;
        let set_tag = if quarantined {
            let target = self.entry_id(name).await?;
            let event = version_event(
                EventType::VersionQuarantined,
                actor,
                target,
                name,
                &version,
                json!({ "reasons": reasons }),
            );
            tx.insert_registry_version(&new, &event)
                .await
                .map_err(|e| conflict_as_exists(e, name, &version))?;
            None
        } else {
            // The entry first: the version's event targets it.
            let mut records = self.store.registry_versions(name).await?;
            records.push(record_of(&new));
            let mut tags = self.store.dist_tags(name).await?;
            let moved = tag_after_publish(&records, &tags, &version, tag);
            if let Some(t) = &moved {
                tags.retain(|(k, _)| k != t);
                tags.push((t.clone(), version.clone()));
            }
            let target = write_entry(&mut tx, &self.store, name, &records, &tags, actor).await?;
            let event = version_event(
                EventType::VersionPublished,
                actor,
                target.clone(),
                name,
                &version,
                json!({ "integrity": integrity, "tag": moved }),
            );
            tx.insert_registry_version(&new, &event)
                .await
                .map_err(|e| conflict_as_exists(e, name, &version))?;
            if let Some(t) = &moved {
                tx.set_dist_tag(
                    name,
                    t,
                    &version,
                    &tag_event(actor, target, name, t, Some(&version)),
                )
                .await?;
            }
            moved
        };
        tx.commit().await?;
        Ok(PublishOutcome {
            name: name.to_string(),
            version,
            integrity,
            status: status.to_string(),
            tag: set_tag,
            checks,
            reasons,
        })
    }

    /// Refuses a namespace `publisher` may not publish to (nothing is read of the package yet).
    pub async fn may_publish_to(
        &self,
        publisher: &Publisher,
        namespace: &str,
        name: &str,
    ) -> Result<()> {
        if namespace::is_reserved(namespace) {
            return Err(RegistryError::NamespaceReserved(format!(
                "{namespace} is reserved: it is elizaOS's or a scope of the official registry, and nobody publishes to it on plughub; publish under a namespace you hold"
            )));
        }
        if let Publisher::Token {
            namespace: held, ..
        } = publisher
            && held != namespace
        {
            return Err(RegistryError::WrongNamespace(format!(
                "this publish token is for {held}, not {namespace}: make one for {namespace} on your account page (POST /api/me/publish-tokens)"
            )));
        }
        let publishers = Publishers::new(self.store.clone());
        if !publishers.holds(publisher.person_id(), namespace).await? {
            return Err(RegistryError::NamespaceNotHeld(format!(
                "you do not hold the publisher {namespace}: claim it first (POST /api/publishers/{namespace}/claims), a platform owner grants it"
            )));
        }
        if self.store.namespace_decision(namespace).await?.is_some() {
            return Ok(());
        }
        // Fail closed: a namespace nobody could look up on npm may be someone's there.
        let Some(npm) = self.npm().await else {
            return Err(RegistryError::NamespaceOnNpm(format!(
                "whether npm already has {namespace} cannot be checked: this server finds no npm registry; configure npm's registry for the server (NPM_CONFIG_REGISTRY or `npm config set registry`), or ask a platform owner for a namespace decision (docs/publishing.md)"
            )));
        };
        if let OnNpm::Taken(packages) = namespace::on_npm(&npm, namespace, name).await? {
            return Err(RegistryError::NamespaceOnNpm(format!(
                "npm already has {namespace} ({}): prove it is yours by publishing a version there whose package.json says \"plughub\": {{\"publisher\": \"{namespace}\"}}, or ask a platform owner for a namespace decision (docs/publishing.md)",
                packages.join(", ")
            )));
        }
        Ok(())
    }

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

    /// One version of `name` in `status`, or not found / conflict saying where it stands.
    async fn version_in(
        &self,
        name: &str,
        version: &str,
        status: &str,
    ) -> Result<RegistryVersionRecord> {
        let record = self
            .store
            .registry_version(name, version)
            .await?
            .ok_or_else(|| {
                RegistryError::NotFound(format!(
                    "{name}@{version} was never published to plughub (GET /api/registry/packages/{name} lists its versions)"
                ))
            })?;
        if record.status != status {
            return Err(RegistryError::Conflict(format!(
                "{name}@{version} is {}, not {status}",
                record.status
            )));
        }
        Ok(record)
    }

    async fn entry_id(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .store
            .thing_by_name(ThingKind::ElizaosPlugin, None, name)
            .await?
            .map(|t| t.id))
    }
}

/// The catalogue entry of a plughub package: its published versions in npm's shape, reduced as npm's
/// documents are (so it reads like any npm entry), under the `plughub` source. Written (made or
/// changed) in `tx`; returns the entry's thing id, the target of version events. A package with no
/// published version left keeps its entry, withdrawn.
async fn write_entry(
    tx: &mut StoreTx<'_>,
    store: &Store,
    name: &str,
    records: &[RegistryVersionRecord],
    tags: &[(String, String)],
    actor: &str,
) -> Result<Option<String>> {
    let existing = store
        .thing_by_name(ThingKind::ElizaosPlugin, None, name)
        .await?;
    let doc = npm_view::document_of(name, records, tags, "");
    let (record, readme) = match &doc {
        Some(doc) => {
            let (mut record, readme) = plughub_catalog::sources::packument::reduce(doc);
            // npm's document carries the readme at its top; plughub's has it in the manifests only.
            let readme = readme.or_else(|| newest_readme(records));
            record.missing = false;
            (record, readme)
        }
        None if existing.is_none() => return Ok(None),
        None => (
            plughub_domain::NpmRecord {
                withdrawn: true,
                ..Default::default()
            },
            None,
        ),
    };
    let mut entry: CatalogEntry = existing
        .as_ref()
        .and_then(|t| serde_json::from_value(t.properties.clone()).ok())
        .unwrap_or_else(|| CatalogEntry {
            name: name.to_string(),
            ..Default::default()
        });
    entry
        .sources
        .insert(SourceKind::Plughub, SourceRecord::Npm(record));
    let view = plughub_catalog::PluginView::from_entry(&entry);
    let status = if view.deprecated.is_some() {
        "deprecated"
    } else {
        "listed"
    };
    let properties = serde_json::to_string(&entry).expect("catalogue entries serialise");
    let metadata = json!({
        "sources": entry.sources.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        "latest_version": view.latest_version,
    });
    let id = match existing {
        Some(thing) => {
            let event = NewEvent {
                event_type: EventType::PluginUpdated,
                actor: actor.to_string(),
                target: None,
                group_id: None,
                metadata,
            };
            tx.update_thing(&thing.id, status, &properties, event)
                .await?;
            thing.id
        }
        None => {
            let event = NewEvent {
                event_type: EventType::PluginDiscovered,
                actor: actor.to_string(),
                target: None,
                group_id: None,
                metadata,
            };
            tx.insert_thing(
                &NewThing {
                    kind: ThingKind::ElizaosPlugin,
                    name,
                    group_id: None,
                    status,
                    properties: &properties,
                },
                event,
            )
            .await?
        }
    };
    if let Some(readme) = readme {
        tx.put_knowledge(&id, "readme", &readme).await?;
    }
    Ok(Some(id))
}

/// The readme of the newest published version's package.json (`readme`), if it has one.
fn newest_readme(records: &[RegistryVersionRecord]) -> Option<String> {
    let newest = newest_published(records)?;
    records
        .iter()
        .find(|r| r.version == newest)?
        .manifest
        .get("readme")
        .and_then(Value::as_str)
        .map(|s| s.chars().take(64 * 1024).collect())
}

/// The newest published version by semver, releases before prereleases.
fn newest_published(records: &[RegistryVersionRecord]) -> Option<String> {
    let mut published: Vec<(nodejs_semver::Version, &str)> = records
        .iter()
        .filter(|r| r.status == VERSION_PUBLISHED)
        .filter_map(|r| {
            Some((
                nodejs_semver::Version::parse(&r.version).ok()?,
                r.version.as_str(),
            ))
        })
        .collect();
    published.sort_by(|a, b| {
        (!a.0.is_prerelease(), &a.0)
            .partial_cmp(&(!b.0.is_prerelease(), &b.0))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    published.last().map(|(_, v)| v.to_string())
}

/// The tag to point at `version` just published: the one asked for; else `latest` when it moves
/// forward (a backport of 1.0.1 after 2.0.0 leaves `latest` on 2.0.0) or there is none yet.
fn tag_after_publish(
    records: &[RegistryVersionRecord],
    tags: &[(String, String)],
    version: &str,
    asked: Option<&str>,
) -> Option<String> {
    if let Some(tag) = asked {
        return Some(tag.to_string());
    }
    let current = tags
        .iter()
        .find(|(t, _)| t == "latest")
        .map(|(_, v)| v.as_str())
        .filter(|v| {
            records
                .iter()
                .any(|r| r.version == *v && r.status == VERSION_PUBLISHED)
        });
    let forward = match current.and_then(|c| nodejs_semver::Version::parse(c).ok()) {
        None => true,
        Some(current) => nodejs_semver::Version::parse(version).is_ok_and(|v| v > current),
    };
    forward.then(|| "latest".to_string())
}

fn record_of(new: &NewRegistryVersion) -> RegistryVersionRecord {
    RegistryVersionRecord {
        package: new.package.clone(),
        version: new.version.clone(),
        namespace: new.namespace.clone(),
        status: new.status.clone(),
        integrity: new.integrity.clone(),
        shasum: new.shasum.clone(),
        size: new.tarball.len() as i64,
        manifest: new.manifest.clone(),
        checks: new.checks.clone(),
        published_by: new.published_by.clone(),
        created_at: now_rfc3339(),
        decided_at: None,
        decided_by: None,
        decision_note: None,
        unpublished_at: None,
    }
}

fn version_event(
    event_type: EventType,
    actor: &str,
    target: Option<String>,
    name: &str,
    version: &str,
    mut metadata: Value,
) -> NewEvent {
    metadata["package"] = json!(name);
    metadata["version"] = json!(version);
    NewEvent {
        event_type,
        actor: actor.to_string(),
        target,
        group_id: None,
        metadata,
    }
}

fn tag_event(
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

fn version_exists(name: &str, version: &str) -> RegistryError {
    RegistryError::VersionExists(format!(
        "{name}@{version} was published already (versions are immutable, even unpublished ones): bump the version and publish again"
    ))
}

fn conflict_as_exists(e: StoreError, name: &str, version: &str) -> RegistryError {
    match e {
        StoreError::Conflict(_) => version_exists(name, version),
        other => other.into(),
    }
}

fn decided_already(name: &str, version: &str) -> RegistryError {
    RegistryError::Conflict(format!(
        "{name}@{version} was changed by another request first: reload and look again"
    ))
}

/// An npm package name: lowercase, at most 214 characters, URL-safe, optionally `@scope/name`.
pub fn check_name(name: &str) -> Result<()> {
    let ok_part = |p: &str| {
        !p.is_empty()
            && !p.starts_with('.')
            && !p.starts_with('_')
            && p.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'-' | b'.' | b'_' | b'~')
            })
    };
    let valid = name.len() <= 214
        && match name.strip_prefix('@') {
            Some(rest) => rest
                .split_once('/')
                .is_some_and(|(scope, bare)| ok_part(scope) && ok_part(bare)),
            None => ok_part(name),
        };
    if valid {
        Ok(())
    } else {
        Err(RegistryError::InvalidPackage(format!(
            "'{name}' is not an npm package name: lowercase letters, digits, - . _ ~, optionally under an @scope/"
        )))
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
