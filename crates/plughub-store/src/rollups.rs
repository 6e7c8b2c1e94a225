//! Daily rollups of executions (migration 0013): filled in SQL from the execution events after a
//! watermark, and read back summed by whatever the analytics ask for.
//!
//! Filling: each run reads the execution events with `watermark < seq <= bound` and adds them to the
//! rollups with one `INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE`, then moves the watermark to
//! `bound`, in one transaction (so a rollup and its watermark never disagree). `bound` must leave no
//! event below it still to commit: on SQLite writers take turns, so the largest seq is final; on
//! PostgreSQL an event takes its seq when inserted and is seen when its transaction commits, so the
//! bound is read under `LOCK TABLE events IN SHARE MODE`, which waits for every transaction inserting
//! events to end (and holds new ones back for that instant only).

use crate::events::executions_condition;
use crate::{Backend, Result, Store};
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

/// The upper bounds (ms, inclusive) of the latency histogram's buckets; one more bucket holds the
/// durations above the last. Columns `b00` … `b12` of `execution_rollups`.
pub const LATENCY_BUCKETS_MS: [f64; 12] = [
    5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1_000.0, 2_500.0, 5_000.0, 10_000.0, 60_000.0,
];
/// The buckets there are: one per bound and the one above them.
pub const BUCKETS: usize = LATENCY_BUCKETS_MS.len() + 1;

/// Events rolled up per transaction at most: a backfill of millions of events goes in steps, so that
/// the executions recorded meanwhile (SQLite has one writer) wait for one step only.
const STEP: i64 = 200_000;

/// What a rollup run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollupRun {
    /// The watermark before and after: events with seq in `(from, to]` were read.
    pub from: i64,
    pub to: i64,
}

/// Sums of rollup rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollupTotals {
    pub executions: i64,
    pub errors: i64,
    pub timeouts: i64,
    pub cache_hits: i64,
    pub timed: i64,
    pub duration_ms: f64,
    pub memory_mib_s: f64,
    pub buckets: [i64; BUCKETS],
}

/// A column the rollups are summed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollupKey {
    Day,
    Group,
    Plugin,
    Kind,
    Component,
}

impl RollupKey {
    fn column(self) -> &'static str {
        match self {
            RollupKey::Day => "day",
            RollupKey::Group => "group_id",
            RollupKey::Plugin => "plugin",
            RollupKey::Kind => "kind",
            RollupKey::Component => "component",
        }
    }
}

/// Which rollup rows to sum, and how.
#[derive(Debug, Clone, Default)]
pub struct RollupQuery {
    /// Days at or after this one (`YYYY-MM-DD`, UTC).
    pub since_day: Option<String>,
    pub group_id: Option<String>,
    pub plugin: Option<String>,
    /// Of one component kind (`action`, `provider`, …, `init` for failed starts).
    pub kind: Option<String>,
    /// The columns to sum by, in this order (none: one row of totals).
    pub by: Vec<RollupKey>,
    /// The largest sums of executions first, instead of by key.
    pub most_executions_first: bool,
    pub limit: Option<i64>,
}

/// One row of sums: the values of the query's `by` columns, in order, and their totals.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupRow {
    pub key: Vec<String>,
    pub totals: RollupTotals,
}

/// The summed columns of a rollup row (the histogram's buckets follow).
const COUNTED: [&str; 7] = [
    "executions",
    "errors",
    "timeouts",
    "cache_hits",
    "timed",
    "duration_ms",
    "memory_mib_s",
];

/// What stands for "every one" in a rollup row's key: no group id, plugin name or kind is `*`.
pub(crate) const ALL: &str = "*";

/// The levels rows are kept at (grouping sets): by organisation or for all (`*`), and by component,
/// by plugin or for all plugins. A page's query reads the level it needs, so that the platform's
/// figures read a row per day and plugin, not one per organisation too.
#[derive(Clone, Copy)]
struct Level {
    by_group: bool,
    detail: Detail,
}

#[derive(Clone, Copy, PartialEq)]
enum Detail {
    Component,
    Plugin,
    None,
}

const LEVELS: [Level; 6] = [
    Level {
        by_group: true,
        detail: Detail::Component,
    },
    Level {
        by_group: true,
        detail: Detail::Plugin,
    },
    Level {
        by_group: true,
        detail: Detail::None,
    },
    Level {
        by_group: false,
        detail: Detail::Component,
    },
    Level {
        by_group: false,
        detail: Detail::Plugin,
    },
    Level {
        by_group: false,
        detail: Detail::None,
    },
];

/// Adds `rollup_delta` to the rows of `level`.
fn upsert_sql(level: Level) -> String {
    let all = format!("'{ALL}'");
    let group = if level.by_group {
        "group_id"
    } else {
        all.as_str()
    };
    let (plugin, kind, component) = match level.detail {
        Detail::Component => ("plugin", "kind", "component"),
        Detail::Plugin => ("plugin", all.as_str(), all.as_str()),
        Detail::None => (all.as_str(), all.as_str(), all.as_str()),
    };
    let mut keys = vec!["day"];
    if level.by_group {
        keys.push("group_id");
    }
    match level.detail {
        Detail::Component => keys.extend(["plugin", "kind", "component"]),
        Detail::Plugin => keys.push("plugin"),
        Detail::None => {}
    }
    let counted: Vec<String> = COUNTED
        .iter()
        .map(|c| c.to_string())
        .chain((0..BUCKETS).map(bucket_column))
        .collect();
    let sums = counted
        .iter()
        .map(|c| format!("SUM({c})"))
        .collect::<Vec<_>>()
        .join(", ");
    let updates = counted
        .iter()
        .map(|c| format!("{c} = execution_rollups.{c} + excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO execution_rollups (day, group_id, plugin, kind, component, {}) \
         SELECT day, {group}, {plugin}, {kind}, {component}, {sums} FROM rollup_delta WHERE true \
         GROUP BY {} \
         ON CONFLICT (day, group_id, plugin, kind, component) DO UPDATE SET {updates}",
        counted.join(", "),
        keys.join(", ")
    )
}

fn bucket_column(i: usize) -> String {
    format!("b{i:02}")
}

impl Store {
    /// Rolls up the execution events recorded since the last run; returns what it read. Runs from
    /// several tasks or servers at once take turns (the watermark's row is locked by each).
    pub async fn roll_up_executions(&self) -> Result<RollupRun> {
        let bound = self.settled_seq().await?;
        let mut run: Option<RollupRun> = None;
        loop {
            let mut tx = self.begin().await?;
            // The first statement writes, so that SQLite takes its write lock now (a read first would
            // make two concurrent runs fail to upgrade) and PostgreSQL locks the row.
            let from: i64 = sqlx::query(
                "UPDATE rollup_watermarks SET updated_at = $1 WHERE name = 'executions' RETURNING covered_seq",
            )
            .bind(crate::now_rfc3339())
            .fetch_one(tx.conn())
            .await?
            .try_get("covered_seq")?;
            let run = run.get_or_insert(RollupRun { from, to: from });
            if from >= bound {
                tx.commit().await?;
                run.to = run.to.max(from);
                return Ok(*run);
            }
            let to = bound.min(from + STEP);
            // The step's events summed once into a temporary table, then added to each level.
            sqlx::query::<Any>(&self.delta_sql(from, to))
                .execute(tx.conn())
                .await?;
            for level in LEVELS {
                sqlx::query::<Any>(&upsert_sql(level))
                    .execute(tx.conn())
                    .await?;
            }
            sqlx::query("DROP TABLE rollup_delta")
                .execute(tx.conn())
                .await?;
            sqlx::query("UPDATE rollup_watermarks SET covered_seq = $1 WHERE name = 'executions'")
                .bind(to)
                .execute(tx.conn())
                .await?;
            tx.commit().await?;
            run.to = to;
        }
    }

    /// The largest seq with no event below it still to commit (see the module's comment).
    async fn settled_seq(&self) -> Result<i64> {
        let mut tx = self.begin().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("LOCK TABLE events IN SHARE MODE")
                .execute(tx.conn())
                .await?;
        }
        let seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM events")
            .fetch_one(tx.conn())
            .await?
            .try_get("n")?;
        tx.commit().await?;
        Ok(seq)
    }

    /// The statement that sums the executions with `from < seq <= to` into the temporary table
    /// `rollup_delta`, by day, organisation, plugin, kind and component. The metadata is parsed once per
    /// event on PostgreSQL (`json_to_record`); SQLite keeps a parsed document for the following
    /// `json_extract`s. The seqs are numbers, inlined (a `CREATE TABLE … AS` takes no parameters on
    /// PostgreSQL).
    fn delta_sql(&self, from: i64, to: i64) -> String {
        let condition = executions_condition(self.backend());
        let source = match self.backend() {
            Backend::Sqlite => format!(
                "SELECT substr(time, 1, 10) AS day, COALESCE(group_id, '') AS group_id, \
                   COALESCE(json_extract(metadata, '$.plugin'), '') AS plugin, \
                   COALESCE(json_extract(metadata, '$.kind'), json_extract(metadata, '$.operation'), '') AS kind, \
                   COALESCE(json_extract(metadata, '$.component'), '') AS component, \
                   type, json_extract(metadata, '$.error') AS error, json_extract(metadata, '$.cause') AS cause, \
                   COALESCE(json_extract(metadata, '$.cache_hit'), 0) = 1 AS cache_hit, \
                   CAST(json_extract(metadata, '$.duration_ms') AS REAL) AS duration_ms, \
                   CAST(json_extract(metadata, '$.memory_bytes') AS REAL) AS memory_bytes \
                 FROM events WHERE seq > {from} AND seq <= {to} AND {condition}"
            ),
            Backend::Postgres => format!(
                "SELECT substr(time, 1, 10) AS day, COALESCE(group_id, '') AS group_id, \
                   COALESCE(m.plugin, '') AS plugin, COALESCE(m.kind, m.operation, '') AS kind, \
                   COALESCE(m.component, '') AS component, type, m.error, m.cause, \
                   COALESCE(m.cache_hit, false) AS cache_hit, m.duration_ms, m.memory_bytes \
                 FROM events CROSS JOIN LATERAL json_to_record(metadata::json) AS m(plugin text, \
                   kind text, operation text, component text, error text, cause text, cache_hit boolean, \
                   duration_ms double precision, memory_bytes double precision) \
                 WHERE seq > {from} AND seq <= {to} AND {condition}"
            ),
        };
        let failed = "type = 'plugin_error_occurred'";
        // A timeout names its cause (since issue 17); older records say it in the engine's words.
        let timeout = format!(
            "{failed} AND (cause = 'timeout' OR (cause IS NULL AND error LIKE '%did not answer within % s; its worker was ended%'))"
        );
        let timed = "duration_ms IS NOT NULL AND NOT cache_hit";
        let mut sums = vec![
            "COUNT(*)".to_string(),
            format!("SUM(CASE WHEN {failed} THEN 1 ELSE 0 END)"),
            format!("SUM(CASE WHEN {timeout} THEN 1 ELSE 0 END)"),
            "SUM(CASE WHEN cache_hit THEN 1 ELSE 0 END)".to_string(),
            format!("SUM(CASE WHEN {timed} THEN 1 ELSE 0 END)"),
            format!("COALESCE(SUM(CASE WHEN {timed} THEN duration_ms END), 0)"),
            format!(
                "COALESCE(SUM(CASE WHEN {timed} THEN COALESCE(memory_bytes, 0) / 1048576.0 * duration_ms / 1000.0 END), 0)"
            ),
        ];
        let mut lower: Option<f64> = None;
        for upper in LATENCY_BUCKETS_MS.iter().map(Some).chain([None]) {
            let above = lower
                .map(|l| format!(" AND duration_ms > {l}"))
                .unwrap_or_default();
            let below = upper
                .map(|u| format!(" AND duration_ms <= {u}"))
                .unwrap_or_default();
            sums.push(format!(
                "SUM(CASE WHEN {timed}{above}{below} THEN 1 ELSE 0 END)"
            ));
            lower = upper.copied();
        }
        let columns = COUNTED
            .iter()
            .map(|c| c.to_string())
            .chain((0..BUCKETS).map(bucket_column))
            .zip(sums)
            .map(|(column, sum)| format!("{sum} AS {column}"))
            .collect::<Vec<_>>()
            .join(", ");
        // A call to a component the plugin lacks is the caller's mistake (refused, as the breaker and
        // the streak take it), not a run of the plugin: counted, anyone could raise a plugin's public
        // error rate, and grow the rollups by a row per name made up.
        format!(
            "CREATE TEMPORARY TABLE rollup_delta AS \
             SELECT day, group_id, plugin, kind, component, {columns} FROM ({source}) e \
             WHERE (cause IS NULL OR cause <> 'no_component') \
             GROUP BY day, group_id, plugin, kind, component"
        )
    }

    /// Each plugin's executions since `since_day`, for the plugins that at least `min_groups`
    /// organisations ran: one row per plugin, counted in SQL.
    pub async fn rollup_executions_by_plugin(
        &self,
        since_day: &str,
        min_groups: i64,
    ) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(&format!(
            "SELECT plugin, CAST(SUM(executions) AS BIGINT) AS executions FROM execution_rollups \
             WHERE day >= $1 AND group_id <> '{ALL}' AND plugin <> '{ALL}' AND kind = '{ALL}' \
             GROUP BY plugin HAVING COUNT(DISTINCT group_id) >= $2"
        ))
        .bind(since_day)
        .bind(min_groups)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("plugin")?, row.try_get("executions")?)))
            .collect()
    }

    /// The rollups summed as `query` says, in SQL.
    pub async fn rollup_rows(&self, query: &RollupQuery) -> Result<Vec<RollupRow>> {
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        for (column, value) in [
            ("day >=", &query.since_day),
            ("group_id =", &query.group_id),
            ("plugin =", &query.plugin),
            ("kind =", &query.kind),
        ] {
            if let Some(value) = value {
                binds.push(value.clone());
                conditions.push(format!("{column} ${}", binds.len()));
            }
        }
        // The level of rows that answers the query (see `LEVELS`).
        let by = |k: RollupKey| query.by.contains(&k);
        if query.group_id.is_none() {
            conditions.push(if by(RollupKey::Group) {
                format!("group_id <> '{ALL}'")
            } else {
                format!("group_id = '{ALL}'")
            });
        }
        let components = query.kind.is_some() || by(RollupKey::Kind) || by(RollupKey::Component);
        let plugins = components || query.plugin.is_some() || by(RollupKey::Plugin);
        conditions.push(if components {
            format!("kind <> '{ALL}'")
        } else if plugins {
            format!("plugin <> '{ALL}' AND kind = '{ALL}'")
        } else {
            format!("plugin = '{ALL}'")
        });
        let where_clause = format!(" WHERE {}", conditions.join(" AND "));
        let keys: Vec<&str> = query.by.iter().map(|k| k.column()).collect();
        let int = |c: &str| format!("CAST(COALESCE(SUM({c}), 0) AS BIGINT) AS {c}");
        let real = |c: &str| format!("CAST(COALESCE(SUM({c}), 0) AS DOUBLE PRECISION) AS {c}");
        let mut columns: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        columns.extend(
            ["executions", "errors", "timeouts", "cache_hits", "timed"]
                .into_iter()
                .map(int),
        );
        columns.extend(["duration_ms", "memory_mib_s"].into_iter().map(real));
        columns.extend((0..BUCKETS).map(|i| int(&bucket_column(i))));
        let group_by = if keys.is_empty() {
            String::new()
        } else {
            format!(" GROUP BY {}", keys.join(", "))
        };
        let order = match (query.most_executions_first, keys.is_empty()) {
            (true, _) => {
                let ties = if keys.is_empty() {
                    String::new()
                } else {
                    format!(", {}", keys.join(", "))
                };
                format!(" ORDER BY executions DESC{ties}")
            }
            (false, false) => format!(" ORDER BY {}", keys.join(", ")),
            (false, true) => String::new(),
        };
        let limit = query
            .limit
            .map(|n| format!(" LIMIT {}", n.max(0)))
            .unwrap_or_default();
        let sql = format!(
            "SELECT {} FROM execution_rollups{where_clause}{group_by}{order}{limit}",
            columns.join(", ")
        );
        let mut statement = sqlx::query::<Any>(&sql);
        for b in &binds {
            statement = statement.bind(b);
        }
        statement
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| row_of(row, &keys))
            .collect()
    }
}

fn row_of(row: &AnyRow, keys: &[&str]) -> Result<RollupRow> {
    let mut buckets = [0; BUCKETS];
    for (i, bucket) in buckets.iter_mut().enumerate() {
        *bucket = row.try_get(bucket_column(i).as_str())?;
    }
    Ok(RollupRow {
        key: keys
            .iter()
            .map(|k| row.try_get::<String, _>(*k))
            .collect::<std::result::Result<_, _>>()?,
        totals: RollupTotals {
            executions: row.try_get("executions")?,
            errors: row.try_get("errors")?,
            timeouts: row.try_get("timeouts")?,
            cache_hits: row.try_get("cache_hits")?,
            timed: row.try_get("timed")?,
            duration_ms: row.try_get("duration_ms")?,
            memory_mib_s: row.try_get("memory_mib_s")?,
            buckets,
        },
    })
}
