//! An upload: the namespace rules, the checks (analysis against the risk gate, the secret scan, the
//! blocklist, size limits), and the version recorded published or quarantined with its event, the
//! catalogue entry rewritten in the same transaction (the caller refreshes the search index after).

use crate::entry::{version_event, write_entry};
use crate::namespace::{self, OnNpm};
use crate::scan;
use crate::service::{Publisher, Registry};
use crate::versions::{check_tag, tag_event};
use crate::{RegistryError, Result};
use plughub_domain::EventType;
use plughub_domain::names::namespace_of;
use plughub_market::publishers::Publishers;
use plughub_store::{
    NewRegistryVersion, RegistryVersionRecord, StoreError, VERSION_PUBLISHED, VERSION_QUARANTINED,
    now_rfc3339,
};
use serde::Serialize;
use serde_json::{Value, json};

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

impl Registry {
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
}

/// The tag to point at `version` just published: the one asked for; else `latest` when it moves
/// forward (a backport of 1.0.1 after 2.0.0 leaves `latest` on 2.0.0) or there is none yet.
pub(crate) fn tag_after_publish(
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

pub(crate) fn record_of(new: &NewRegistryVersion) -> RegistryVersionRecord {
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

pub(crate) fn version_exists(name: &str, version: &str) -> RegistryError {
    RegistryError::VersionExists(format!(
        "{name}@{version} was published already (versions are immutable, even unpublished ones): bump the version and publish again"
    ))
}

pub(crate) fn conflict_as_exists(e: StoreError, name: &str, version: &str) -> RegistryError {
    match e {
        StoreError::Conflict(_) => version_exists(name, version),
        other => other.into(),
    }
}

/// A name npm would take for a new package (`plughub_domain::package_name`, the rule `plughub dev`
/// checks too).
pub fn check_name(name: &str) -> Result<()> {
    match plughub_domain::package_name::npm_name_problem(name) {
        Some(problem) => Err(RegistryError::InvalidPackage(problem)),
        None => Ok(()),
    }
}
