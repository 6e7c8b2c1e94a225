//! What plugins keep through their runtime: an instance's cache, and the memories of an instance for an
//! agent. Always scoped: no query reads another instance's or another agent's rows.

use crate::clock::now_rfc3339;
use crate::tx::unique_violation;
use crate::{Result, Store, StoreError};
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

    pub async fn cache_set(
        &self,
        instance_id: &str,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO runtime_cache (instance_id, key, value, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (instance_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(instance_id)
        .bind(key)
        .bind(value.to_string())
        .bind(now_rfc3339())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes a cached value; true when there was one.
    pub async fn cache_delete(&self, instance_id: &str, key: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM runtime_cache WHERE instance_id = $1 AND key = $2")
            .bind(instance_id)
            .bind(key)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Keeps a memory (a JSON object); returns its id: the memory's own `id` when it is a string, else a
    /// new one. Ids are the instance's own: another instance may hold the same.
    pub async fn create_memory(&self, memory: &NewMemory<'_>) -> Result<String> {
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
        sqlx::query(
            "INSERT INTO memories (id, group_id, instance_id, agent_id, room_id, table_name, content, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(memory.group_id)
        .bind(memory.instance_id)
        .bind(memory.agent_id)
        .bind(memory.room_id)
        .bind(memory.table)
        .bind(content.to_string())
        .bind(body)
        .bind(now_rfc3339())
        .execute(self.pool())
        .await
        .map_err(|e| unique_violation(e, || format!("a memory with id {id:?} exists already")))?;
        Ok(id)
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
