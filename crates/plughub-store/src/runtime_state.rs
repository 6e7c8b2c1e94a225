//! What plugins keep through their runtime: an instance's cache, and the memories of an instance for an
//! agent. Always scoped: no query reads another instance's or another agent's rows.

use crate::clock::now_rfc3339;
use crate::tx::unique_violation;
use crate::{Result, Store, StoreError, StoreTx};
use sqlx::Row;

/// A memory to keep.
#[derive(Debug, Clone)]
pub struct NewMemory<'a> {
    pub group_id: &'a str,
    pub instance_id: &'a str,
    pub agent_id: &'a str,
    pub room_id: Option<&'a str>,
    pub table: &'a str,
    /// The memory as elizaOS shapes it (JSON).
    pub content: &'a serde_json::Value,
}

impl Store {
    pub async fn cache_get(
        &self,
        instance_id: &str,
        key: &str,
    ) -> Result<Option<serde_json::Value>> {
        let row =
            sqlx::query("SELECT value FROM runtime_cache WHERE instance_id = $1 AND key = $2")
                .bind(instance_id)
                .bind(key)
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| {
            let text: String = r.try_get("value")?;
            serde_json::from_str(&text).map_err(|e| StoreError::corrupt("runtime_cache.value", e))
        })
        .transpose()
    }

    /// Keeps `value` under `key`, unless the instance's cache and memories would then take more than
    /// `quota` bytes (a write that does not grow what is kept always passes, so a full instance can
    /// still shrink or replace its values).
    pub async fn cache_set(
        &self,
        instance_id: &str,
        key: &str,
        value: &serde_json::Value,
        quota: u64,
    ) -> Result<()> {
        let value = value.to_string();
        let size = (key.len() + value.len()) as i64;
        let mut tx = self.begin().await?;
        let used = usage_locked(&mut tx, instance_id).await?;
        let old: Option<i64> =
            sqlx::query("SELECT size FROM runtime_cache WHERE instance_id = $1 AND key = $2")
                .bind(instance_id)
                .bind(key)
                .fetch_optional(tx.conn())
                .await?
                .map(|r| r.try_get("size"))
                .transpose()?;
        let total = used - old.unwrap_or(0) + size;
        within_quota(total, size - old.unwrap_or(0), quota)?;
        sqlx::query(
            "INSERT INTO runtime_cache (instance_id, key, value, updated_at, size) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (instance_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, \
             size = excluded.size",
        )
        .bind(instance_id)
        .bind(key)
        .bind(value)
        .bind(now_rfc3339())
        .bind(size)
        .execute(tx.conn())
        .await?;
        set_usage(&mut tx, instance_id, total).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a cached value; true when there was one.
    pub async fn cache_delete(&self, instance_id: &str, key: &str) -> Result<bool> {
        self.delete_counted(
            "DELETE FROM runtime_cache WHERE instance_id = $1 AND key = $2 RETURNING size",
            instance_id,
            &[key],
        )
        .await
    }

    /// Runs `delete` (one of the instance's rows, `$1` its id, `$2`… `binds`, `RETURNING size`) and takes
    /// what it freed off the instance's storage total, in one transaction; true when a row went.
    async fn delete_counted(
        &self,
        delete: &str,
        instance_id: &str,
        binds: &[&str],
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let used = usage_locked(&mut tx, instance_id).await?;
        let mut query = sqlx::query(delete).bind(instance_id);
        for bind in binds {
            query = query.bind(*bind);
        }
        let Some(removed) = query.fetch_optional(tx.conn()).await? else {
            return Ok(false);
        };
        let size: i64 = removed.try_get("size")?;
        set_usage(&mut tx, instance_id, used - size).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The bytes an instance's cache and memories take.
    pub async fn storage_used(&self, instance_id: &str) -> Result<u64> {
        let row = sqlx::query("SELECT bytes FROM runtime_usage WHERE instance_id = $1")
            .bind(instance_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(row) => row.try_get::<i64, _>("bytes")?.max(0) as u64,
            None => 0,
        })
    }

    /// Keeps a memory (a JSON object); returns its id: the memory's own `id` when it is a string, else a
    /// new one. Ids are the instance's own: another instance may hold the same. Refused when the
    /// instance's cache and memories would then take more than `quota` bytes.
    pub async fn create_memory(&self, memory: &NewMemory<'_>, quota: u64) -> Result<String> {
        let serde_json::Value::Object(fields) = memory.content else {
            return Err(StoreError::Invalid(format!(
                "a memory is an object, not {}",
                json_kind(memory.content)
            )));
        };
        let id = fields
            .get("id")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let mut content = memory.content.clone();
        content["id"] = serde_json::Value::String(id.clone());
        let body = content["content"]["text"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        let content = content.to_string();
        let size = (content.len() + body.len()) as i64;
        let mut tx = self.begin().await?;
        let used = usage_locked(&mut tx, memory.instance_id).await?;
        within_quota(used + size, size, quota)?;
        sqlx::query(
            "INSERT INTO memories (id, group_id, instance_id, agent_id, room_id, table_name, content, body, created_at, size) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(memory.group_id)
        .bind(memory.instance_id)
        .bind(memory.agent_id)
        .bind(memory.room_id)
        .bind(memory.table)
        .bind(content)
        .bind(body)
        .bind(now_rfc3339())
        .bind(size)
        .execute(tx.conn())
        .await
        .map_err(|e| unique_violation(e, || format!("a memory with id {id:?} exists already")))?;
        set_usage(&mut tx, memory.instance_id, used + size).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Removes a memory of an instance for an agent by its id; true when there was one.
    pub async fn delete_memory(&self, instance_id: &str, agent_id: &str, id: &str) -> Result<bool> {
        self.delete_counted(
            "DELETE FROM memories WHERE instance_id = $1 AND agent_id = $2 AND id = $3 RETURNING size",
            instance_id,
            &[agent_id, id],
        )
        .await
    }

    /// Removes all an instance's cache and memories (every agent's), in one transaction: `plughub dev
    /// test` starts each run from nothing, though its instance id survives the reinstall.
    pub async fn clear_runtime_state(&self, instance_id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        usage_locked(&mut tx, instance_id).await?;
        for delete in [
            "DELETE FROM runtime_cache WHERE instance_id = $1",
            "DELETE FROM memories WHERE instance_id = $1",
        ] {
            sqlx::query(delete)
                .bind(instance_id)
                .execute(tx.conn())
                .await?;
        }
        set_usage(&mut tx, instance_id, 0).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest memories of an instance for an agent that match the query, newest first.
    pub async fn memories(&self, query: &MemoryQuery<'_>) -> Result<Vec<serde_json::Value>> {
        let pattern = query
            .text
            .map(|t| format!("%{}%", t.to_lowercase().replace(['%', '_'], "")));
        let rows = sqlx::query(
            "SELECT content FROM memories WHERE instance_id = $1 AND agent_id = $2 \
             AND ($3 = '' OR room_id = $3) AND ($4 = '' OR body LIKE $4) \
             AND ($5 = '' OR table_name = $5) \
             ORDER BY created_at DESC, id DESC LIMIT $6",
        )
        .bind(query.instance_id)
        .bind(query.agent_id)
        .bind(query.room_id.unwrap_or(""))
        .bind(pattern.unwrap_or_default())
        .bind(query.table.unwrap_or(""))
        .bind(query.count)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("content")?;
                serde_json::from_str(&text).map_err(|e| StoreError::corrupt("memories.content", e))
            })
            .collect()
    }
}

/// Which memories `memories` returns: an instance's for an agent, in a table and a room when given, with
/// `text` only those whose text contains it (case-insensitive), at most `count`.
#[derive(Debug, Clone, Copy)]
pub struct MemoryQuery<'a> {
    pub instance_id: &'a str,
    pub agent_id: &'a str,
    pub table: Option<&'a str>,
    pub room_id: Option<&'a str>,
    pub text: Option<&'a str>,
    pub count: i64,
}

/// Takes the instance's usage row for the rest of `tx` and returns its bytes. Every write of the
/// instance's cache or memories starts here, so they follow one another: each reads the total the last
/// one left (PostgreSQL locks the row; SQLite has one writer), and the total never drifts from the rows.
async fn usage_locked(tx: &mut StoreTx<'_>, instance_id: &str) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO runtime_usage (instance_id, bytes) VALUES ($1, 0) \
         ON CONFLICT (instance_id) DO UPDATE SET bytes = runtime_usage.bytes RETURNING bytes",
    )
    .bind(instance_id)
    .fetch_one(tx.conn())
    .await?;
    Ok(row.try_get("bytes")?)
}

async fn set_usage(tx: &mut StoreTx<'_>, instance_id: &str, bytes: i64) -> Result<()> {
    sqlx::query("UPDATE runtime_usage SET bytes = $1 WHERE instance_id = $2")
        .bind(bytes)
        .bind(instance_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// A write that grows what is kept by `growth` to `total` bytes fits in `quota`.
fn within_quota(total: i64, growth: i64, quota: u64) -> Result<()> {
    if growth > 0 && total.max(0) as u64 > quota {
        return Err(StoreError::StorageFull { quota });
    }
    Ok(())
}

/// What kind of JSON value this is, for messages.
pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
