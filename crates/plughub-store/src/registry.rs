//! plughub as a registry: the versions authors publish to it, their dist-tags, the blocklist of file
//! hashes, publish tokens and namespace decisions (migration 0015 says what each table keeps). The rules
//! (who may publish where, which checks run, what quarantines) are `plughub-registry`'s; this is what is
//! stored and how it changes, each change with the event the caller gives.

use crate::clock::now_rfc3339;
use crate::events::insert_event;
use crate::tx::unique_violation;
use crate::{Result, Store, StoreError, StoreTx};
use plughub_domain::NewEvent;
use sqlx::Row;
use sqlx::any::AnyRow;

/// Where a published version stands.
pub const VERSION_PUBLISHED: &str = "published";
pub const VERSION_QUARANTINED: &str = "quarantined";
pub const VERSION_REJECTED: &str = "rejected";
pub const VERSION_UNPUBLISHED: &str = "unpublished";

/// One version uploaded to plughub, without its tarball (`Store::registry_tarball` reads that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryVersionRecord {
    pub package: String,
    pub version: String,
    pub namespace: String,
    pub status: String,
    /// sha512 SRI (npm's `dist.integrity`).
    pub integrity: String,
    /// sha1 hex (npm's `dist.shasum`).
    pub shasum: String,
    pub size: i64,
    /// package.json as published.
    pub manifest: serde_json::Value,
    /// What each publish-time check found.
    pub checks: serde_json::Value,
    pub published_by: String,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub unpublished_at: Option<String>,
}

/// A version to record, with its tarball.
#[derive(Debug, Clone)]
pub struct NewRegistryVersion {
    pub package: String,
    pub version: String,
    pub namespace: String,
    pub status: String,
    pub integrity: String,
    pub shasum: String,
    pub manifest: serde_json::Value,
    pub tarball: Vec<u8>,
    pub checks: serde_json::Value,
    pub published_by: String,
}

/// A file hash no published version may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedHashRecord {
    /// sha512 of the file's content, lowercase hex.
    pub sha512: String,
    pub reason: String,
    pub added_by: String,
    pub added_at: String,
}

/// A publish token as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishTokenRecord {
    pub id: String,
    pub person_id: String,
    pub namespace: String,
    pub name: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// A platform owner's documented decision that a namespace npm also has is its plughub publisher's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceDecisionRecord {
    pub namespace: String,
    pub note: String,
    pub decided_by: String,
    pub decided_at: String,
}

const VERSION_COLUMNS: &str = "package, version, namespace, status, integrity, shasum, size, manifest, \
     checks, published_by, created_at, decided_at, decided_by, decision_note, unpublished_at";
const TOKEN_COLUMNS: &str =
    "id, person_id, namespace, name, created_at, expires_at, revoked_at, last_used_at";

impl StoreTx<'_> {
    /// Records an uploaded version with `event`. A version recorded already (in any status: versions are
    /// immutable, an unpublished number stays used) is a conflict.
    pub async fn insert_registry_version(
        &mut self,
        version: &NewRegistryVersion,
        event: &NewEvent,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO registry_versions (package, version, namespace, status, integrity, shasum, size, \
             manifest, tarball, checks, published_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&version.package)
        .bind(&version.version)
        .bind(&version.namespace)
        .bind(&version.status)
        .bind(&version.integrity)
        .bind(&version.shasum)
        .bind(version.tarball.len() as i64)
        .bind(version.manifest.to_string())
        .bind(version.tarball.as_slice())
        .bind(version.checks.to_string())
        .bind(&version.published_by)
        .bind(now_rfc3339())
        .execute(self.conn())
        .await
        .map_err(|e| {
            unique_violation(e, || {
                format!(
                    "{}@{} was published already: versions are immutable, publish a new version",
                    version.package, version.version
                )
            })
        })?;
        insert_event(&mut self.tx, &self.metrics, event).await?;
        Ok(())
    }

    /// Moves a version from `from` to `to` (a moderator's release or rejection, an unpublish), with
    /// `event`; false (and no event) when it was not in `from`, so two decisions at once make one.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_registry_version_status(
        &mut self,
        package: &str,
        version: &str,
        from: &str,
        to: &str,
        actor: &str,
        note: Option<&str>,
        event: &NewEvent,
    ) -> Result<bool> {
        let now = now_rfc3339();
        let unpublished = (to == VERSION_UNPUBLISHED).then(|| now.clone());
        let changed = sqlx::query(
            "UPDATE registry_versions SET status = $1, decided_at = COALESCE($2, decided_at), \
             decided_by = COALESCE($3, decided_by), decision_note = COALESCE($4, decision_note), \
             unpublished_at = COALESCE($5, unpublished_at) \
             WHERE package = $6 AND version = $7 AND status = $8",
        )
        .bind(to)
        .bind((to != VERSION_UNPUBLISHED).then_some(now.as_str()))
        .bind((to != VERSION_UNPUBLISHED).then_some(actor))
        .bind(note)
        .bind(unpublished)
        .bind(package)
        .bind(version)
        .bind(from)
        .execute(self.conn())
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        insert_event(&mut self.tx, &self.metrics, event).await?;
        Ok(true)
    }

    /// Points `tag` of `package` at `version` (made or moved), with `event`.
    pub async fn set_dist_tag(
        &mut self,
        package: &str,
        tag: &str,
        version: &str,
        event: &NewEvent,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO registry_dist_tags (package, tag, version, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (package, tag) DO UPDATE SET version = excluded.version, \
             updated_at = excluded.updated_at",
        )
        .bind(package)
        .bind(tag)
        .bind(version)
        .bind(now_rfc3339())
        .execute(self.conn())
        .await?;
        insert_event(&mut self.tx, &self.metrics, event).await?;
        Ok(())
    }

    /// Removes `tag` of `package`, with `event`; false (and no event) when there was none.
    pub async fn remove_dist_tag(
        &mut self,
        package: &str,
        tag: &str,
        event: &NewEvent,
    ) -> Result<bool> {
        let removed = sqlx::query("DELETE FROM registry_dist_tags WHERE package = $1 AND tag = $2")
            .bind(package)
            .bind(tag)
            .execute(self.conn())
            .await?
            .rows_affected();
        if removed == 0 {
            return Ok(false);
        }
        insert_event(&mut self.tx, &self.metrics, event).await?;
        Ok(true)
    }

    /// Adds a hash to the blocklist (or replaces its reason), with `event`.
    pub async fn put_blocked_hash(
        &mut self,
        record: &BlockedHashRecord,
        event: &NewEvent,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO registry_blocklist (sha512, reason, added_by, added_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sha512) DO UPDATE SET reason = excluded.reason, added_by = excluded.added_by, \
             added_at = excluded.added_at",
        )
        .bind(&record.sha512)
        .bind(&record.reason)
        .bind(&record.added_by)
        .bind(&record.added_at)
        .execute(self.conn())
        .await?;
        insert_event(&mut self.tx, &self.metrics, event).await?;
        Ok(())
    }

    /// Removes a hash from the blocklist, with `event`; false (and no event) when it was not there.
    pub async fn remove_blocked_hash(&mut self, sha512: &str, event: &NewEvent) -> Result<bool> {
        let removed = sqlx::query("DELETE FROM registry_blocklist WHERE sha512 = $1")
            .bind(sha512)
            .execute(self.conn())
            .await?
            .rows_affected();
        if removed == 0 {
            return Ok(false);
        }
        insert_event(&mut self.tx, &self.metrics, event).await?;
        Ok(true)
    }

    /// Records a publish token (its secret's SHA-256 only), with `event`.
    pub async fn insert_publish_token(
        &mut self,
        record: &PublishTokenRecord,
        token_hash: &str,
        event: &NewEvent,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO publish_tokens (id, person_id, namespace, name, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&record.id)
        .bind(&record.person_id)
        .bind(&record.namespace)
        .bind(&record.name)
        .bind(token_hash)
        .bind(&record.created_at)
        .bind(&record.expires_at)
        .execute(self.conn())
        .await?;
        insert_event(&mut self.tx, &self.metrics, event).await?;
        Ok(())
    }

    /// Revokes a publish token, with `event`; false (and no event) when it was revoked already or is
    /// not there.
    pub async fn revoke_publish_token(&mut self, id: &str, event: &NewEvent) -> Result<bool> {
        let changed = sqlx::query(
            "UPDATE publish_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now_rfc3339())
        .bind(id)
        .execute(self.conn())
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        insert_event(&mut self.tx, &self.metrics, event).await?;
        Ok(true)
    }

    /// Records a platform owner's decision on a namespace (or replaces it), with `event`.
    pub async fn put_namespace_decision(
        &mut self,
        record: &NamespaceDecisionRecord,
        event: &NewEvent,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO namespace_decisions (namespace, note, decided_by, decided_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (namespace) DO UPDATE SET note = excluded.note, \
             decided_by = excluded.decided_by, decided_at = excluded.decided_at",
        )
        .bind(&record.namespace)
        .bind(&record.note)
        .bind(&record.decided_by)
        .bind(&record.decided_at)
        .execute(self.conn())
        .await?;
        insert_event(&mut self.tx, &self.metrics, event).await?;
        Ok(())
    }
}

impl Store {
    /// Every version of `package` recorded, in any status, oldest first.
    pub async fn registry_versions(&self, package: &str) -> Result<Vec<RegistryVersionRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM registry_versions WHERE package = $1 ORDER BY created_at, version"
        ))
        .bind(package)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(version_from_row).collect()
    }

    /// One version of `package`, in any status.
    pub async fn registry_version(
        &self,
        package: &str,
        version: &str,
    ) -> Result<Option<RegistryVersionRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM registry_versions WHERE package = $1 AND version = $2"
        ))
        .bind(package)
        .bind(version)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(version_from_row).transpose()
    }

    /// Whether plughub is the source of `package`: any version of it was ever uploaded here (in any
    /// status), so its name is never read from npm.
    pub async fn registry_has_package(&self, package: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 FROM registry_versions WHERE package = $1 LIMIT 1")
            .bind(package)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// The versions in `status` (quarantined ones for moderators, say), oldest first, at most `limit`.
    pub async fn registry_versions_in(
        &self,
        status: &str,
        limit: i64,
    ) -> Result<Vec<RegistryVersionRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM registry_versions WHERE status = $1 \
             ORDER BY created_at, package, version LIMIT $2"
        ))
        .bind(status)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(version_from_row).collect()
    }

    /// The names of the packages of `namespace` with a version recorded, sorted.
    pub async fn registry_packages_of(&self, namespace: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT package FROM registry_versions WHERE namespace = $1 ORDER BY package",
        )
        .bind(namespace)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("package").map_err(StoreError::from))
            .collect()
    }

    /// The tarball of one version, in any status (the caller decides what may be served).
    pub async fn registry_tarball(&self, package: &str, version: &str) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query(
            "SELECT tarball FROM registry_versions WHERE package = $1 AND version = $2",
        )
        .bind(package)
        .bind(version)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| r.try_get::<Vec<u8>, _>("tarball").map_err(StoreError::from))
            .transpose()
    }

    /// The dist-tags of `package`: (tag, version), sorted by tag.
    pub async fn dist_tags(&self, package: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT tag, version FROM registry_dist_tags WHERE package = $1 ORDER BY tag",
        )
        .bind(package)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("tag")?, r.try_get("version")?)))
            .collect()
    }

    /// The blocklist, newest first.
    pub async fn blocked_hashes(&self) -> Result<Vec<BlockedHashRecord>> {
        let rows = sqlx::query(
            "SELECT sha512, reason, added_by, added_at FROM registry_blocklist ORDER BY added_at DESC",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BlockedHashRecord {
                    sha512: r.try_get("sha512")?,
                    reason: r.try_get("reason")?,
                    added_by: r.try_get("added_by")?,
                    added_at: r.try_get("added_at")?,
                })
            })
            .collect()
    }

    /// The publish token whose secret hashes to `token_hash`, in any state (the caller checks expiry and
    /// revocation), marking it used now.
    pub async fn publish_token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<PublishTokenRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM publish_tokens WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(record) = row.as_ref().map(token_from_row).transpose()? else {
            return Ok(None);
        };
        sqlx::query("UPDATE publish_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now_rfc3339())
            .bind(&record.id)
            .execute(self.pool())
            .await?;
        Ok(Some(record))
    }

    /// One publish token by its id.
    pub async fn publish_token(&self, id: &str) -> Result<Option<PublishTokenRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM publish_tokens WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// A person's publish tokens, newest first.
    pub async fn publish_tokens_of(&self, person_id: &str) -> Result<Vec<PublishTokenRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM publish_tokens WHERE person_id = $1 ORDER BY created_at DESC"
        ))
        .bind(person_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Every namespace decision, newest first (for the moderators' page).
    pub async fn namespace_decisions(&self) -> Result<Vec<NamespaceDecisionRecord>> {
        let rows = sqlx::query(
            "SELECT namespace, note, decided_by, decided_at FROM namespace_decisions \
             ORDER BY decided_at DESC, namespace",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(NamespaceDecisionRecord {
                    namespace: r.try_get("namespace")?,
                    note: r.try_get("note")?,
                    decided_by: r.try_get("decided_by")?,
                    decided_at: r.try_get("decided_at")?,
                })
            })
            .collect()
    }

    /// A platform owner's decision on `namespace`, if there is one.
    pub async fn namespace_decision(
        &self,
        namespace: &str,
    ) -> Result<Option<NamespaceDecisionRecord>> {
        let row = sqlx::query(
            "SELECT namespace, note, decided_by, decided_at FROM namespace_decisions WHERE namespace = $1",
        )
        .bind(namespace)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(NamespaceDecisionRecord {
                namespace: r.try_get("namespace")?,
                note: r.try_get("note")?,
                decided_by: r.try_get("decided_by")?,
                decided_at: r.try_get("decided_at")?,
            })
        })
        .transpose()
    }
}

fn version_from_row(row: &AnyRow) -> Result<RegistryVersionRecord> {
    let json = |column: &str| -> Result<serde_json::Value> {
        let text: String = row.try_get(column)?;
        serde_json::from_str(&text)
            .map_err(|e| StoreError::corrupt(format!("registry_versions.{column}"), e))
    };
    Ok(RegistryVersionRecord {
        package: row.try_get("package")?,
        version: row.try_get("version")?,
        namespace: row.try_get("namespace")?,
        status: row.try_get("status")?,
        integrity: row.try_get("integrity")?,
        shasum: row.try_get("shasum")?,
        size: row.try_get("size")?,
        manifest: json("manifest")?,
        checks: json("checks")?,
        published_by: row.try_get("published_by")?,
        created_at: row.try_get("created_at")?,
        decided_at: row.try_get("decided_at")?,
        decided_by: row.try_get("decided_by")?,
        decision_note: row.try_get("decision_note")?,
        unpublished_at: row.try_get("unpublished_at")?,
    })
}

fn token_from_row(row: &AnyRow) -> Result<PublishTokenRecord> {
    Ok(PublishTokenRecord {
        id: row.try_get("id")?,
        person_id: row.try_get("person_id")?,
        namespace: row.try_get("namespace")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}
