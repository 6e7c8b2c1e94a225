//! The append-only event log.

use crate::clock::now_rfc3339;
use crate::timing::{StoreMetrics, Timed};
use crate::{Backend, Result, Store, StoreError};
use plughub_domain::{EventType, NewEvent, StoredEvent};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row};

/// Which events to read; every field narrows the result.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub event_type: Option<EventType>,
    pub target: Option<String>,
    pub group_id: Option<String>,
    pub after_seq: Option<i64>,
    /// Events at or after this time (RFC 3339, as the store writes it).
    pub since: Option<String>,
    /// Only the events that record an execution (`StoredEvent::is_execution`, decided in SQL).
    pub executions_only: bool,
    /// Newest first (by seq) instead of in log order; `offset` and `limit` count from that end.
    pub newest_first: bool,
    /// Events to skip before the first one returned (a page's start).
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

type Pending = (NewEvent, tokio::sync::oneshot::Sender<Result<StoredEvent>>);

/// Events appended at once, at most this many to a statement (7 parameters each: both databases take
/// far more than 1,792).
const BATCH: usize = 256;

/// The queue of the task that writes appended events.
pub(crate) struct EventWriter {
    queue: tokio::sync::mpsc::Sender<Pending>,
}

impl EventWriter {
    fn start(pool: sqlx::AnyPool, metrics: std::sync::Arc<StoreMetrics>) -> EventWriter {
        let (queue, mut incoming) = tokio::sync::mpsc::channel::<Pending>(4 * BATCH);
        tokio::spawn(async move {
            while let Some(first) = incoming.recv().await {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match incoming.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                write_batch(&pool, &metrics, batch).await;
            }
        });
        EventWriter { queue }
    }
}

/// The batch in one statement (atomic and committed on its own: one round trip for the lot). If the
/// statement fails, each event on its own, so that one bad event fails only its own caller; once it
/// ran, its events are in the log and are never written again.
async fn write_batch(pool: &sqlx::AnyPool, metrics: &StoreMetrics, batch: Vec<Pending>) {
    let events: Vec<&NewEvent> = batch.iter().map(|(event, _)| event).collect();
    let written = async {
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| Batch::NotWritten(e.into()))?;
        insert_events(&mut conn, metrics, &events).await
    };
    match written.await {
        Ok(stored) => {
            for ((_, reply), stored) in batch.into_iter().zip(stored) {
                let _ = reply.send(Ok(stored));
            }
        }
        Err(Batch::Written(e)) => {
            let reason = e.to_string();
            for (_, reply) in batch {
                let _ = reply.send(Err(StoreError::corrupt("events", &reason)));
            }
        }
        Err(Batch::NotWritten(e)) => {
            if batch.len() > 1 {
                tracing::warn!(error = %e, events = batch.len(), "events appended together could not be written in one statement; writing each on its own");
            }
            for (event, reply) in batch {
                let alone = async {
                    let mut conn = pool.acquire().await?;
                    insert_event(&mut conn, metrics, &event).await
                }
                .await;
                let _ = reply.send(alone);
            }
        }
    }
}

/// How a batch's statement failed: before anything was written, or after its rows were in.
enum Batch {
    NotWritten(StoreError),
    Written(StoreError),
}

impl Batch {
    fn into_error(self) -> StoreError {
        match self {
            Batch::NotWritten(e) | Batch::Written(e) => e,
        }
    }
}

/// Inserts `events` with one multi-row statement; the stored events come back in the same order.
async fn insert_events(
    conn: &mut AnyConnection,
    metrics: &StoreMetrics,
    events: &[&NewEvent],
) -> std::result::Result<Vec<StoredEvent>, Batch> {
    const COLUMNS: usize = 7;
    let time = now_rfc3339();
    let rows: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                uuid::Uuid::now_v7().to_string(),
                storable(&e.metadata).to_string(),
            )
        })
        .collect();
    let values: Vec<String> = (0..events.len())
        .map(|row| {
            let marks: Vec<String> = (1..=COLUMNS)
                .map(|col| format!("${}", row * COLUMNS + col))
                .collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO events (id, type, actor, target, group_id, time, metadata) VALUES {} \
         RETURNING id, seq",
        values.join(", ")
    );
    let mut query = sqlx::query::<Any>(&sql);
    for (event, (id, metadata)) in events.iter().zip(&rows) {
        query = query
            .bind(id)
            .bind(event.event_type.as_str())
            .bind(&event.actor)
            .bind(&event.target)
            .bind(&event.group_id)
            .bind(&time)
            .bind(metadata);
    }
    let returned = query
        .fetch_all(Timed {
            inner: &mut *conn,
            metrics,
        })
        .await
        .map_err(|e| Batch::NotWritten(e.into()))?;
    // Matched by id: neither database promises RETURNING's order.
    let written = |e: sqlx::Error| Batch::Written(e.into());
    let mut seqs = std::collections::HashMap::with_capacity(events.len());
    for row in returned {
        let id: String = row.try_get("id").map_err(written)?;
        seqs.insert(id, row.try_get::<i64, _>("seq").map_err(written)?);
    }
    let stored = events
        .iter()
        .zip(rows)
        .map(|(event, (id, _))| {
            let seq = seqs.get(&id).copied().ok_or_else(|| {
                Batch::Written(StoreError::corrupt(
                    "events.seq",
                    "an inserted event came back without its seq",
                ))
            })?;
            Ok(StoredEvent {
                seq,
                id,
                event_type: event.event_type,
                actor: event.actor.clone(),
                target: event.target.clone(),
                group_id: event.group_id.clone(),
                time: time.clone(),
                metadata: storable(&event.metadata).into_owned(),
            })
        })
        .collect::<std::result::Result<Vec<_>, Batch>>()?;
    // Heard by the other servers once committed. A lost announcement costs a follower its news until
    // its next resync, never the event: not an error of the write.
    if let Err(e) = crate::changes::announce(conn, &stored).await {
        tracing::warn!(error = %e, "an appended event was not announced to the other servers");
    }
    Ok(stored)
}

/// `metadata` with every NUL in its strings (a plugin's log line, its error, an answer's text may hold
/// one) replaced by U+FFFD: PostgreSQL's JSON functions refuse `\u0000` when they turn a string into
/// text, so one such event would stop every statement that reads the log's metadata (the execution
/// counts' partial indexes, the analytics' rollups). The same on SQLite, so both stores keep the same.
fn storable(metadata: &serde_json::Value) -> std::borrow::Cow<'_, serde_json::Value> {
    use serde_json::Value;
    fn has_nul(value: &Value) -> bool {
        match value {
            Value::String(text) => text.contains('\0'),
            Value::Array(items) => items.iter().any(has_nul),
            Value::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    fn clean(value: &Value) -> Value {
        let text = |t: &str| t.replace('\0', "\u{FFFD}");
        match value {
            Value::String(t) => Value::String(text(t)),
            Value::Array(items) => Value::Array(items.iter().map(clean).collect()),
            Value::Object(fields) => {
                Value::Object(fields.iter().map(|(k, v)| (text(k), clean(v))).collect())
            }
            other => other.clone(),
        }
    }
    // Most events hold no NUL: those are neither walked twice nor copied.
    if has_nul(metadata) {
        std::borrow::Cow::Owned(clean(metadata))
    } else {
        std::borrow::Cow::Borrowed(metadata)
    }
}

/// The schema version from which no event holds a NUL (migration 0018 marks it).
const NULS_CLEANED_AT: i64 = 18;

/// Replaces the NULs in the metadata of events written before plughub replaced them itself (see
/// `storable`), on a PostgreSQL store below schema 18: its JSON functions refuse them, so migration 0009's
/// index and the rollups could not read such a store's log. Runs before the migrations, once (0018 marks
/// it done). Events are append-only, so the guard against updates is lifted for this transaction only.
pub(crate) async fn clean_old_nuls(pool: &sqlx::AnyPool) -> Result<u64> {
    // No such table on a new database: nothing to clean.
    let version: Option<i64> = sqlx::query_scalar::<Any, i64>(
        "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success = TRUE",
    )
    .fetch_one(pool)
    .await
    .ok();
    if version.is_none_or(|v| v == 0 || v >= NULS_CLEANED_AT) {
        return Ok(0);
    }
    let rows = sqlx::query::<Any>(
        r"SELECT seq, metadata FROM events WHERE strpos(metadata, '\u0000') > 0",
    )
    .fetch_all(pool)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    sqlx::query("ALTER TABLE events DISABLE TRIGGER events_no_update")
        .execute(&mut *tx)
        .await?;
    let mut cleaned = 0;
    for row in &rows {
        let seq: i64 = row.try_get("seq")?;
        let text: String = row.try_get("metadata")?;
        let Ok(metadata) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let storable = storable(&metadata);
        if let std::borrow::Cow::Owned(clean) = storable {
            sqlx::query("UPDATE events SET metadata = $1 WHERE seq = $2")
                .bind(clean.to_string())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            cleaned += 1;
        }
    }
    sqlx::query("ALTER TABLE events ENABLE TRIGGER events_no_update")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(cleaned)
}

/// Inserts one event (in whatever transaction `conn` is in).
pub(crate) async fn insert_event(
    conn: &mut AnyConnection,
    metrics: &StoreMetrics,
    event: &NewEvent,
) -> Result<StoredEvent> {
    let mut stored = insert_events(conn, metrics, &[event])
        .await
        .map_err(Batch::into_error)?;
    Ok(stored.pop().expect("one event in, one out"))
}

impl Store {
    /// Appends one event on its own, one statement committed at once: for records that change nothing
    /// else (an execution, a network request), which every execution makes.
    ///
    /// Events appended at the same moment are written in one transaction (a group commit): the caller
    /// still gets its answer only once its event is committed, and many executions at once cost one
    /// commit instead of one each.
    pub async fn append_event(&self, event: &NewEvent) -> Result<StoredEvent> {
        let writer = self
            .event_writer
            .get_or_init(|| EventWriter::start(self.raw_pool().clone(), self.metrics.clone()));
        let (reply, answer) = tokio::sync::oneshot::channel();
        if writer.queue.send((event.clone(), reply)).await.is_ok()
            && let Ok(stored) = answer.await
        {
            return stored;
        }
        // The writer is gone (its runtime ended): write it directly.
        let mut conn = self.raw_pool().acquire().await?;
        insert_event(&mut conn, self.metrics(), event).await
    }

    /// Appends `events` with one statement, all or none; they come back stored, in the same order.
    /// What `append_event` does with the events of the same moment.
    pub async fn append_events(&self, events: &[NewEvent]) -> Result<Vec<StoredEvent>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let events: Vec<&NewEvent> = events.iter().collect();
        let mut conn = self.raw_pool().acquire().await?;
        insert_events(&mut conn, self.metrics(), &events)
            .await
            .map_err(Batch::into_error)
    }

    /// Events in log order, narrowed by `filter`.
    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<StoredEvent>> {
        let (sql, binds) = where_clause(filter, self.backend());
        // Numbers, never user text: safe to inline.
        let order = if filter.newest_first { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT seq, id, type, actor, target, group_id, time, metadata FROM events{sql} ORDER BY seq {order} LIMIT {} OFFSET {}",
            filter.limit.unwrap_or(i64::MAX / 2).max(0),
            filter.offset.unwrap_or(0).max(0)
        );
        let mut query = sqlx::query::<Any>(&sql);
        for b in &binds {
            query = query.bind(b);
        }
        query
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(event_from_row)
            .collect()
    }

    pub async fn count_events(&self, filter: &EventFilter) -> Result<i64> {
        let (sql, binds) = where_clause(filter, self.backend());
        let sql = format!("SELECT COUNT(*) AS n FROM events{sql}");
        let mut query = sqlx::query::<Any>(&sql);
        for b in &binds {
            query = query.bind(b);
        }
        Ok(query.fetch_one(self.pool()).await?.try_get("n")?)
    }

    /// Executions (`StoredEvent::is_execution`: runs recorded, failed runs, failed starts) of a group or
    /// of an instance since `since` (a time as the store writes it): one count over the partial index of
    /// executions (migration 0009), which never reads an event's metadata, a failed run's log included.
    pub async fn count_executions_since(
        &self,
        scope: ExecutionScope<'_>,
        since: &str,
    ) -> Result<i64> {
        let (sql, binds) = count_executions_sql(scope, since, self.backend());
        let mut query = sqlx::query::<Any>(&sql);
        for b in binds {
            query = query.bind(b);
        }
        Ok(query.fetch_one(self.pool()).await?.try_get("n")?)
    }

    /// What the database plans for `count_executions_since`, in its own words (`EXPLAIN`), with
    /// sequential scans discouraged on PostgreSQL so that a plan on a small table shows whether the index
    /// can serve the count at all. For tests and diagnosis.
    #[doc(hidden)]
    pub async fn explain_count_executions(
        &self,
        scope: ExecutionScope<'_>,
        since: &str,
    ) -> Result<String> {
        let (sql, binds) = count_executions_sql(scope, since, self.backend());
        let explain = match self.backend() {
            Backend::Sqlite => "EXPLAIN QUERY PLAN",
            Backend::Postgres => "EXPLAIN",
        };
        let sql = format!("{explain} {sql}");
        let mut tx = self.begin().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SET LOCAL enable_seqscan = off")
                .execute(tx.conn())
                .await?;
        }
        let mut query = sqlx::query::<Any>(&sql);
        for b in &binds {
            query = query.bind(b);
        }
        let column = match self.backend() {
            Backend::Sqlite => "detail",
            Backend::Postgres => "QUERY PLAN",
        };
        let lines = query
            .fetch_all(tx.conn())
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>(column))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(lines.join("\n"))
    }

    /// The newest event's `seq` among those `filter` keeps (0 when there is none): where a reader that
    /// wants only what comes next starts.
    pub async fn last_event_seq(&self, filter: &EventFilter) -> Result<i64> {
        let (sql, binds) = where_clause(filter, self.backend());
        let sql = format!("SELECT COALESCE(MAX(seq), 0) AS n FROM events{sql}");
        let mut query = sqlx::query::<Any>(&sql);
        for b in &binds {
            query = query.bind(b);
        }
        Ok(query.fetch_one(self.pool()).await?.try_get("n")?)
    }
}

/// Whose executions `count_executions_since` counts.
#[derive(Debug, Clone, Copy)]
pub enum ExecutionScope<'a> {
    /// A group's (an organisation's), as the plan's daily quota counts them.
    Group(&'a str),
    /// An installed instance's, as the per-minute rate counts them.
    Instance(&'a str),
}

/// The statement of `count_executions_since` and its binds, in the shape migration 0009's partial
/// indexes of executions serve (their condition is `executions_condition`, which the statement repeats).
fn count_executions_sql(
    scope: ExecutionScope<'_>,
    since: &str,
    backend: Backend,
) -> (String, [String; 2]) {
    let (column, id) = match scope {
        ExecutionScope::Group(group) => ("group_id", group),
        ExecutionScope::Instance(instance) => ("target", instance),
    };
    (
        format!(
            "SELECT COUNT(*) AS n FROM events WHERE {column} = $1 AND time >= $2 AND {}",
            executions_condition(backend)
        ),
        [id.to_string(), since.to_string()],
    )
}

/// `StoredEvent::is_execution` in SQL: a run recorded, or a failure that names the component kind it
/// ran (or a start that failed). The metadata is JSON text, read with each database's JSON functions.
/// Migration 0009's partial indexes repeat it word for word: a change here goes there too (a new
/// migration), or counts stop using them (the store suite's EXPLAIN test says so).
pub(crate) fn executions_condition(backend: Backend) -> String {
    let (ran, failed) = (
        EventType::PluginActionExecuted.as_str(),
        EventType::PluginErrorOccurred.as_str(),
    );
    let names_its_run = match backend {
        Backend::Sqlite => {
            "json_type(metadata, '$.kind') IS NOT NULL OR json_extract(metadata, '$.operation') = 'init'"
        }
        Backend::Postgres => {
            // json, not jsonb: jsonb refuses a NUL (`\u0000`), which a plugin's log line may hold.
            "(metadata::json -> 'kind') IS NOT NULL OR metadata::json ->> 'operation' = 'init'"
        }
    };
    format!("(type = '{ran}' OR (type = '{failed}' AND ({names_its_run})))")
}

fn where_clause(filter: &EventFilter, backend: Backend) -> (String, Vec<String>) {
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    let mut add = |condition: &str, value: String| {
        binds.push(value);
        parts.push(format!("{condition} ${}", binds.len()));
    };
    if let Some(t) = filter.event_type {
        add("type =", t.as_str().to_string());
    }
    if let Some(t) = &filter.target {
        add("target =", t.clone());
    }
    if let Some(g) = &filter.group_id {
        add("group_id =", g.clone());
    }
    if let Some(since) = &filter.since {
        add("time >=", since.clone());
    }
    if filter.executions_only {
        parts.push(executions_condition(backend));
    }
    let mut sql = if parts.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", parts.join(" AND "))
    };
    if let Some(after) = filter.after_seq {
        // A number, never user text: safe to inline, and it keeps the binds all text.
        sql.push_str(if sql.is_empty() { " WHERE " } else { " AND " });
        sql.push_str(&format!("seq > {after}"));
    }
    (sql, binds)
}

pub(crate) fn event_from_row(row: &AnyRow) -> Result<StoredEvent> {
    let event_type: String = row.try_get("type")?;
    let metadata: String = row.try_get("metadata")?;
    Ok(StoredEvent {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        event_type: event_type
            .parse()
            .map_err(|e| StoreError::corrupt("events.type", e))?,
        actor: row.try_get("actor")?,
        target: row.try_get("target")?,
        group_id: row.try_get("group_id")?,
        time: row.try_get("time")?,
        metadata: serde_json::from_str(&metadata)
            .map_err(|e| StoreError::corrupt("events.metadata", e))?,
    })
}

/// Follows the event log from a point on, showing each event once. On PostgreSQL an event takes its
/// `seq` when inserted but is seen only when its transaction commits, so a lower `seq` can appear after
/// a higher one: every read goes `LOOK_BACK` seqs behind the newest seen, and what was shown is skipped.
#[derive(Debug, Clone)]
pub struct EventCursor {
    floor: i64,
    newest: i64,
    shown: std::collections::BTreeSet<i64>,
}

impl EventCursor {
    /// How far behind the newest event seen each read starts.
    pub const LOOK_BACK: i64 = 1_000;

    /// A cursor showing only events after `seq`.
    pub fn after(seq: i64) -> EventCursor {
        EventCursor {
            floor: seq,
            newest: seq,
            shown: Default::default(),
        }
    }

    /// The `after_seq` of the next read.
    pub fn read_from(&self) -> i64 {
        (self.newest - Self::LOOK_BACK).max(self.floor)
    }

    /// The events of a read not shown yet, in log order.
    pub fn fresh(&mut self, read: Vec<StoredEvent>) -> Vec<StoredEvent> {
        let fresh: Vec<StoredEvent> = read
            .into_iter()
            .filter(|e| e.seq > self.floor && self.shown.insert(e.seq))
            .collect();
        if let Some(newest) = fresh.iter().map(|e| e.seq).max() {
            self.newest = self.newest.max(newest);
        }
        let keep_from = self.read_from();
        self.shown.retain(|seq| *seq > keep_from);
        fresh
    }
}

#[cfg(test)]
mod cursor_tests {
    use super::*;
    use plughub_domain::EventType;

    fn event(seq: i64) -> StoredEvent {
        StoredEvent {
            seq,
            id: seq.to_string(),
            event_type: EventType::PluginActionExecuted,
            actor: "t".into(),
            target: None,
            group_id: None,
            time: String::new(),
            metadata: serde_json::Value::Null,
        }
    }

    #[test]
    fn a_late_commit_with_a_lower_seq_is_shown_once() {
        let mut cursor = EventCursor::after(10);
        let seqs = |v: Vec<StoredEvent>| v.iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(
            seqs(cursor.fresh(vec![event(9), event(11), event(13)])),
            [11, 13]
        );
        assert_eq!(cursor.read_from(), 10);
        // 12 took its seq before 13 and committed after it.
        assert_eq!(
            seqs(cursor.fresh(vec![event(11), event(12), event(13)])),
            [12]
        );
        assert_eq!(
            seqs(cursor.fresh(vec![event(11), event(12), event(13), event(14)])),
            [14]
        );
    }
}
