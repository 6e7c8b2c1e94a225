//! A transaction on the store. Every mutation that changes the six dimensions takes the event that records
//! it, so the change and its event commit together or not at all.

use crate::clock::now_rfc3339;
use crate::events::insert_event;
use crate::timing::{Kind, StoreMetrics, Timed};
use crate::{Result, StoreError, SyncRun};
use plughub_domain::{ConnectionKind, EventType, Group, NewEvent, Plan, StoredEvent, ThingKind};
use sqlx::{Any, AnyConnection, Transaction};
use std::sync::Arc;

pub struct StoreTx<'c> {
    pub(crate) tx: Transaction<'c, Any>,
    pub(crate) metrics: Arc<StoreMetrics>,
}

/// A thing to insert.
#[derive(Debug, Clone)]
pub struct NewThing<'a> {
    pub kind: ThingKind,
    pub name: &'a str,
    pub group_id: Option<&'a str>,
    pub status: &'a str,
    /// Serialised JSON.
    pub properties: &'a str,
}

impl<'c> StoreTx<'c> {
    pub(crate) fn new(tx: Transaction<'c, Any>, metrics: Arc<StoreMetrics>) -> Self {
        StoreTx { tx, metrics }
    }

    /// The transaction's connection, its statements timed.
    pub(crate) fn conn(&mut self) -> Timed<'_, &mut AnyConnection> {
        Timed {
            inner: &mut *self.tx,
            metrics: &self.metrics,
        }
    }

    /// Lets this transaction delete events until `end_event_deletion` (see migration 0017): for an
    /// organisation's deletion and executions' retention only.
    pub(crate) async fn permit_event_deletion(&mut self, reason: &str) -> Result<()> {
        sqlx::query("INSERT INTO event_deletion_permits (reason) VALUES ($1)")
            .bind(reason)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub(crate) async fn end_event_deletion(&mut self) -> Result<()> {
        sqlx::query("DELETE FROM event_deletion_permits")
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn commit(self) -> Result<()> {
        let started = std::time::Instant::now();
        let done = self.tx.commit().await;
        self.metrics.observe(Kind::Commit, started);
        Ok(done?)
    }

    pub async fn rollback(self) -> Result<()> {
        let started = std::time::Instant::now();
        let done = self.tx.rollback().await;
        self.metrics.observe(Kind::Rollback, started);
        Ok(done?)
    }

    /// Appends an event on its own, for happenings that change nothing else (an execution, an error).
    pub async fn append_event(&mut self, event: &NewEvent) -> Result<StoredEvent> {
        insert_event(&mut self.tx, &self.metrics, event).await
    }

    /// Inserts a thing and its event (whose target is set to the new thing); returns the thing's id.
    pub async fn insert_thing(&mut self, thing: &NewThing<'_>, event: NewEvent) -> Result<String> {
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_rfc3339();
        sqlx::query(
            "INSERT INTO things (id, kind, name, group_id, status, properties, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&id)
        .bind(thing.kind.as_str())
        .bind(thing.name)
        .bind(thing.group_id)
        .bind(thing.status)
        .bind(thing.properties)
        .bind(&now)
        .execute(self.conn())
        .await
        .map_err(|e| unique_violation(e, || format!("a {} named '{}' exists already", thing.kind, thing.name)))?;
        insert_event(
            &mut self.tx,
            &self.metrics,
            &NewEvent {
                target: Some(id.clone()),
                ..event
            },
        )
        .await?;
        Ok(id)
    }

    /// Replaces a thing's status and properties, with the event that records the change.
    pub async fn update_thing(
        &mut self,
        id: &str,
        status: &str,
        properties: &str,
        event: NewEvent,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE things SET status = $1, properties = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(properties)
        .bind(now_rfc3339())
        .bind(id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!("thing {id} does not exist")));
        }
        insert_event(
            &mut self.tx,
            &self.metrics,
            &NewEvent {
                target: Some(id.to_string()),
                ..event
            },
        )
        .await?;
        Ok(())
    }

    /// Replaces a thing's status and properties only if nobody wrote it since it was read: its
    /// `updated_at` is still `seen` (a compare-and-set, so a write from a stale copy cannot undo a
    /// newer one). False when another write came first: read it again and decide again. The new
    /// `updated_at` is always later than `seen`, even within one millisecond, so every such write is
    /// seen by the next compare.
    pub async fn update_thing_if_unchanged(
        &mut self,
        id: &str,
        seen: &str,
        status: &str,
        properties: &str,
        event: NewEvent,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE things SET status = $1, properties = $2, updated_at = $3 \
             WHERE id = $4 AND updated_at = $5",
        )
        .bind(status)
        .bind(properties)
        .bind(crate::clock::later_than(seen))
        .bind(id)
        .bind(seen)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        insert_event(
            &mut self.tx,
            &self.metrics,
            &NewEvent {
                target: Some(id.to_string()),
                ..event
            },
        )
        .await?;
        Ok(true)
    }

    /// Deletes a thing that nothing links to (a collection), with the event that records it. Its
    /// events stay: the log is append-only.
    pub async fn delete_unlinked_thing(&mut self, id: &str, event: NewEvent) -> Result<()> {
        let done = sqlx::query("DELETE FROM things WHERE id = $1")
            .bind(id)
            .execute(self.conn())
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!("thing {id} does not exist")));
        }
        insert_event(
            &mut self.tx,
            &self.metrics,
            &NewEvent {
                target: Some(id.to_string()),
                ..event
            },
        )
        .await?;
        Ok(())
    }

    /// Sets the text of one kind (`readme`, `description`) about a thing; an empty body removes it.
    /// Knowledge is part of the thing's change, recorded by that change's event.
    pub async fn put_knowledge(&mut self, thing_id: &str, kind: &str, body: &str) -> Result<()> {
        if body.is_empty() {
            sqlx::query("DELETE FROM knowledge WHERE thing_id = $1 AND kind = $2")
                .bind(thing_id)
                .bind(kind)
                .execute(self.conn())
                .await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO knowledge (thing_id, kind, body, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (thing_id, kind) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind(thing_id)
        .bind(kind)
        .bind(body)
        .bind(now_rfc3339())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Links two things of a group (or replaces the link's metadata). Connections are part of a change,
    /// recorded by that change's event (an activation, an install), so they take none of their own.
    pub async fn put_connection(
        &mut self,
        kind: ConnectionKind,
        from_id: &str,
        to_id: &str,
        group_id: Option<&str>,
        metadata: &serde_json::Value,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO connections (id, kind, from_id, to_id, group_id, metadata, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (kind, from_id, to_id) DO UPDATE SET metadata = excluded.metadata",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(kind.as_str())
        .bind(from_id)
        .bind(to_id)
        .bind(group_id)
        .bind(metadata.to_string())
        .bind(now_rfc3339())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Removes links of a kind from a thing: to one thing, or to all (`to_id` None). Returns how many.
    pub async fn remove_connections(
        &mut self,
        kind: ConnectionKind,
        from_id: &str,
        to_id: Option<&str>,
    ) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM connections WHERE kind = $1 AND from_id = $2 AND ($3 = '' OR to_id = $3)",
        )
        .bind(kind.as_str())
        .bind(from_id)
        .bind(to_id.unwrap_or(""))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Creates an organisation (a top-level group, or a sub-group with `parent_id`).
    pub async fn create_group(
        &mut self,
        name: &str,
        plan: Plan,
        parent_id: Option<&str>,
        actor: &str,
    ) -> Result<Group> {
        let group = Group {
            id: uuid::Uuid::now_v7().to_string(),
            name: name.to_string(),
            parent_id: parent_id.map(str::to_string),
            plan,
            created_at: now_rfc3339(),
        };
        sqlx::query("INSERT INTO groups (id, name, parent_id, plan, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&group.id)
            .bind(&group.name)
            .bind(&group.parent_id)
            .bind(plan.as_str())
            .bind(&group.created_at)
            .execute(self.conn())
            .await
            .map_err(|e| unique_violation(e, || format!("an organisation named '{name}' exists already")))?;
        let event = NewEvent {
            event_type: EventType::GroupCreated,
            actor: actor.to_string(),
            target: None,
            group_id: Some(group.id.clone()),
            metadata: serde_json::json!({ "name": name, "plan": plan }),
        };
        insert_event(&mut self.tx, &self.metrics, &event).await?;
        Ok(group)
    }

    /// Records a catalogue sync run (what was read, when, what failed).
    pub async fn record_sync(&mut self, run: &SyncRun) -> Result<()> {
        sqlx::query(
            "INSERT INTO catalog_syncs (id, started_at, finished_at, status, report) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&run.id)
        .bind(&run.started_at)
        .bind(&run.finished_at)
        .bind(&run.status)
        .bind(run.report.to_string())
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

pub(crate) fn unique_violation(e: sqlx::Error, message: impl FnOnce() -> String) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(message()),
        _ => StoreError::Database(e),
    }
}
