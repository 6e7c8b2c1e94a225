//! The runtime an installed instance's plugin sees, kept in plughub's store: its cache, and its memories
//! for the agent it runs for; `useModel` goes to the group's model plugins. What is not stored (events,
//! state) is answered as the engine's local runtime answers it. Each call needing a permission is
//! checked against the grant first; a refused call throws in the plugin and is recorded.

use crate::models::ModelRouter;
use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_domain::permissions::{Permission, Permissions, needed_by_call};
use plughub_domain::{EventType, NewEvent};
use plughub_engine::{LocalRuntime, RuntimeFuture, RuntimeHost};
use plughub_store::{MemoryQuery, NewMemory, Store};
use serde_json::{Value, json};

/// The newest memories of a table a search by embedding ranks.
const SEARCHED_BY_EMBEDDING: i64 = 1_000;

/// The memories whose `embedding` is nearest `to` (cosine similarity at least `threshold`), nearest first,
/// at most `count`, each with its `similarity` as elizaOS gives it. Memories without an embedding of the
/// same length are not found by one.
fn nearest(memories: Vec<Value>, to: &[f64], threshold: f64, count: usize) -> Vec<Value> {
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let to_norm = norm(to);
    let mut scored: Vec<(f64, Value)> = memories
        .into_iter()
        .filter_map(|mut memory| {
            let own: Vec<f64> = memory
                .get("embedding")?
                .as_array()?
                .iter()
                .filter_map(Value::as_f64)
                .collect();
            if own.len() != to.len() || to_norm == 0.0 || norm(&own) == 0.0 {
                return None;
            }
            let dot: f64 = own.iter().zip(to).map(|(a, b)| a * b).sum();
            let similarity = dot / (norm(&own) * to_norm);
            (similarity >= threshold).then(|| {
                memory["similarity"] = json!(similarity);
                (similarity, memory)
            })
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(count).map(|(_, m)| m).collect()
}

pub struct StoreRuntime {
    store: Store,
    org: String,
    plugin: String,
    group_id: String,
    instance_id: String,
    agent_id: String,
    granted: Permissions,
    local: LocalRuntime,
    models: Option<ModelRouter>,
    plan: plughub_domain::Plan,
    /// What the instance may keep in its cache and memories, in MB (the plan's).
    storage_mb: u64,
}

impl StoreRuntime {
    pub fn new(
        store: Store,
        context: &plughub_lifecycle::ExecutionContext,
        agent_id: &str,
    ) -> StoreRuntime {
        StoreRuntime {
            store,
            org: context.org.clone(),
            plugin: context.plugin.clone(),
            group_id: context.group_id.clone(),
            instance_id: context.instance_id.clone(),
            agent_id: agent_id.to_string(),
            granted: context.granted.clone(),
            local: LocalRuntime::default(),
            models: None,
            plan: context.plan,
            storage_mb: ExecutionPolicy::default().limits(context.plan).storage_mb,
        }
    }

    /// The storage quota the operator's policy gives the instance's plan (the default policy's without).
    pub(crate) fn with_storage_mb(mut self, storage_mb: u64) -> StoreRuntime {
        self.storage_mb = storage_mb;
        self
    }

    /// Refuses a call whose permission is not granted, recording the attempt.
    async fn check(&self, method: &str) -> Result<(), String> {
        self.check_permission(needed_by_call(method), method).await
    }

    /// Refuses `method` unless `permission` (when it needs one) is granted, recording the attempt.
    pub(crate) async fn check_permission(
        &self,
        permission: Option<Permission>,
        method: &str,
    ) -> Result<(), String> {
        let Some(permission) = permission else {
            return Ok(());
        };
        if self.granted.has(permission) {
            return Ok(());
        }
        let message = format!(
            "runtime.{method}() needs the {permission} permission, which {} was not granted in {}",
            self.plugin, self.org
        );
        self.denied(permission, method, &message).await;
        Err(message)
    }

    async fn denied(&self, permission: Permission, method: &str, message: &str) {
        let event = NewEvent {
            event_type: EventType::PluginAccessDenied,
            actor: "engine".into(),
            target: Some(self.instance_id.clone()),
            group_id: Some(self.group_id.clone()),
            metadata: json!({ "plugin": self.plugin, "agent": self.agent_id,
                               "permission": permission.as_str(), "call": method,
                               "error": message }),
        };
        // The refusal stands whether or not it could be written down; a failed write is logged.
        if let Err(e) = self.store.append_event(&event).await {
            tracing::warn!(error = %e, "could not record a refused runtime call");
        }
    }

    /// `useModel` answered by the group's model plugins (without, it fails naming what to activate).
    pub(crate) fn with_models(mut self, models: ModelRouter) -> StoreRuntime {
        self.models = Some(models);
        self
    }

    async fn answer(&self, method: &str, params: Vec<Value>) -> Result<Value, String> {
        self.check(method).await?;
        let arg = |i: usize| params.get(i).cloned().unwrap_or(Value::Null);
        let key = |i: usize| match arg(i) {
            Value::String(s) => Ok(s),
            other => Err(format!("{method}: expected a string key, got {other}")),
        };
        let failed = |e: plughub_store::StoreError| match e {
            plughub_store::StoreError::StorageFull { .. } => format!(
                "{method}: the storage quota of the {} plan ({} MB) is full: delete cache entries or memories (runtime.deleteCache, runtime.deleteMemory)",
                self.plan, self.storage_mb
            ),
            e => format!("{method}: {e}"),
        };
        let quota = self.storage_mb.saturating_mul(1 << 20);
        let count = |query: &Value| {
            query
                .get("count")
                .and_then(Value::as_i64)
                .unwrap_or(10)
                .clamp(1, 1_000)
        };
        match method {
            "getCache" => Ok(self
                .store
                .cache_get(&self.instance_id, &key(0)?)
                .await
                .map_err(failed)?
                .unwrap_or(Value::Null)),
            "setCache" => {
                self.store
                    .cache_set(&self.instance_id, &key(0)?, &arg(1), quota)
                    .await
                    .map_err(failed)?;
                Ok(json!(true))
            }
            "deleteCache" => Ok(json!(
                self.store
                    .cache_delete(&self.instance_id, &key(0)?)
                    .await
                    .map_err(failed)?
            )),
            "createMemory" => {
                let memory = arg(0);
                let table = arg(1).as_str().unwrap_or("messages").to_string();
                let room = memory
                    .get("roomId")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let id = self
                    .store
                    .create_memory(
                        &NewMemory {
                            group_id: &self.group_id,
                            instance_id: &self.instance_id,
                            agent_id: &self.agent_id,
                            room_id: room.as_deref(),
                            table: &table,
                            content: &memory,
                        },
                        quota,
                    )
                    .await
                    .map_err(failed)?;
                Ok(json!(id))
            }
            "deleteMemory" => Ok(json!(
                self.store
                    .delete_memory(&self.instance_id, &self.agent_id, &key(0)?)
                    .await
                    .map_err(failed)?
            )),
            "getMemories" | "searchMemories" => {
                let query = arg(0);
                let room = query.get("roomId").and_then(Value::as_str);
                // elizaOS searches by embedding (the plugin made it with the agent's model): the
                // memories of the table ranked by how near their own embeddings are. Without one, the
                // memories whose text contains the query's.
                let embedding: Option<Vec<f64>> = match method {
                    "searchMemories" => query
                        .get("embedding")
                        .and_then(Value::as_array)
                        .map(|v| v.iter().filter_map(Value::as_f64).collect())
                        .filter(|v: &Vec<f64>| !v.is_empty()),
                    _ => None,
                };
                let text = match method {
                    "searchMemories" if embedding.is_none() => query
                        .get("query")
                        .or_else(|| query.get("text"))
                        .and_then(Value::as_str),
                    _ => None,
                };
                let table = query
                    .get("tableName")
                    .or_else(|| query.get("table"))
                    .and_then(Value::as_str);
                let memories = self
                    .store
                    .memories(&MemoryQuery {
                        instance_id: &self.instance_id,
                        agent_id: &self.agent_id,
                        table,
                        room_id: room,
                        text,
                        // Ranked here, among the newest of the table: a bound on what one search reads.
                        count: if embedding.is_some() {
                            SEARCHED_BY_EMBEDDING
                        } else {
                            count(&query)
                        },
                    })
                    .await
                    .map_err(failed)?;
                Ok(match embedding {
                    Some(embedding) => {
                        let threshold = query
                            .get("match_threshold")
                            .and_then(Value::as_f64)
                            .unwrap_or(0.0);
                        json!(nearest(
                            memories,
                            &embedding,
                            threshold,
                            count(&query) as usize
                        ))
                    }
                    None => json!(memories),
                })
            }
            "useModel" if self.models.is_some() => {
                let Value::String(model_type) = arg(0) else {
                    return Err(format!("useModel: expected a model type, got {}", arg(0)));
                };
                let models = self.models.as_ref().expect("checked");
                models.use_model(&model_type, arg(1)).await
            }
            _ => self.local.call(method, params).await,
        }
    }
}

impl RuntimeHost for StoreRuntime {
    fn call<'a>(&'a self, method: &'a str, params: Vec<Value>) -> RuntimeFuture<'a> {
        Box::pin(self.answer(method, params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_by_embedding_finds_the_nearest_first_above_the_threshold() {
        let memories = vec![
            json!({ "id": "far", "embedding": [0.0, 1.0, 0.0] }),
            json!({ "id": "near", "embedding": [1.0, 0.1, 0.0] }),
            json!({ "id": "nearer", "embedding": [2.0, 0.0, 0.0] }),
            json!({ "id": "no embedding" }),
            json!({ "id": "other length", "embedding": [1.0, 0.0] }),
        ];
        let found = nearest(memories, &[1.0, 0.0, 0.0], 0.5, 10);
        let ids: Vec<&str> = found.iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["nearer", "near"]);
        assert_eq!(found[0]["similarity"], 1.0);
    }
}
