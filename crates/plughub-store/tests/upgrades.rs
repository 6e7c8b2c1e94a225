//! Upgrades: every migration, run on a store that holds data written at each earlier schema version.
//!
//! For each backend and each schema version `k` from 1 to N-1 (N migrations), a fresh database is
//! brought to version `k` by sqlx's own migrator given the first `k` migrations only, so that
//! `_sqlx_migrations` is exactly what an older plughub left behind. Rows that fit version `k` go into
//! every table it has: the tables, columns, types, NOT NULLs, foreign keys and CHECKs are read from the
//! database's own catalogue, so a table added by a new migration is filled without a change here.
//! Then `Store::open` applies `k+1..N`. The path from `k` crosses every later migration with data in
//! place, so, over all `k`, each migration runs on data written at every version before it.
//!
//! After the upgrade: every row is still there, column for column; what later migrations derive from
//! older rows is what they promise (0008's storage totals, 0013's rollup watermark, 0014's notifier
//! floor); and the store reads every table through its public API and takes new writes on top.

use futures::{FutureExt, StreamExt};
use plughub_domain::{ConnectionKind, EventType, NewEvent, Plan, Role, ThingKind};
use plughub_store::{
    CLAIM_GRANTED, CLAIM_PENDING, EventFilter, ExecutionScope, Location, MemoryQuery, NewMemory,
    NewThing, RollupQuery, Store, VERSION_PUBLISHED, VERSION_QUARANTINED,
};
use serde_json::{Value as Json, json};
use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, Connection, Row as _};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

#[tokio::test]
async fn sqlite_stores_of_every_earlier_schema_version_upgrade_keeping_their_data() {
    upgrades_from_every_earlier_version(Backend::Sqlite, OldLog::AsPlughubWritesIt).await;
}

#[tokio::test]
async fn postgres_stores_of_every_earlier_schema_version_upgrade_keeping_their_data() {
    upgrades_from_every_earlier_version(Backend::Postgres, OldLog::AsPlughubWritesIt).await;
}

#[tokio::test]
async fn sqlite_stores_whose_log_holds_nuls_from_before_they_were_cleaned_upgrade_and_roll_up() {
    upgrades_from_every_earlier_version(Backend::Sqlite, OldLog::WithNuls).await;
}

// PostgreSQL's JSON functions refuse a NUL (`\u0000`) anywhere in the text they parse, and plughub
// wrote NULs as they came until schema 14. From schema 1 to 8 a failed run holding one made migration
// 0009 fail (its partial indexes parse the metadata of every failed run); from 9 to 14 every rollup
// failed on it. `Store::open` now replaces them before the migrations (0018 marks it done).
#[tokio::test]
async fn postgres_stores_whose_log_holds_nuls_from_before_they_were_cleaned_upgrade_and_roll_up() {
    upgrades_from_every_earlier_version(Backend::Postgres, OldLog::WithNuls).await;
}

/// What the event log of the older store holds besides the usual events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OldLog {
    AsPlughubWritesIt,
    /// Runs whose metadata holds a NUL, as plughub wrote them until it replaced NULs (the plughub of
    /// schema 14; from 15 on it never writes one).
    WithNuls,
}

/// Versions upgraded at once.
const AT_ONCE: usize = 4;

/// The newest schema of a plughub that wrote NULs in events' metadata as they came.
const NULS_WRITTEN_UNTIL: usize = 14;

async fn upgrades_from_every_earlier_version(backend: Backend, old_log: OldLog) {
    sqlx::any::install_default_drivers();
    let total = all_migrations(backend).await.migrations.len();
    assert!(
        total >= 2,
        "{backend:?}: {total} migration(s): nothing to upgrade"
    );
    let newest_older = match old_log {
        OldLog::AsPlughubWritesIt => total - 1,
        OldLog::WithNuls => NULS_WRITTEN_UNTIL.min(total - 1),
    };
    // Every version is tried, a few at once (each waits on its database most of the time), and
    // every failure is told at the end: one broken migration shows as the versions it breaks.
    let mut failed: Vec<(usize, String)> = futures::stream::iter(1..=newest_older)
        .map(|k| async move {
            let db = Db::fresh(backend).await;
            // The database is dropped whatever the upgrade does, so that a failure leaves none.
            let outcome = std::panic::AssertUnwindSafe(upgrade_from(&db, k, total, old_log))
                .catch_unwind()
                .await;
            db.remove().await;
            let panic = outcome.err()?;
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Some((k, message))
        })
        .buffer_unordered(AT_ONCE)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    failed.sort();
    let failed: Vec<String> = failed
        .into_iter()
        .map(|(k, message)| format!("from schema version {k}: {message}"))
        .collect();
    assert!(
        failed.is_empty(),
        "{backend:?}: {} upgrade(s) to schema version {total} failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// Version `k` with data, upgraded by `Store::open` to `total`, then checked.
async fn upgrade_from(db: &Db, k: usize, total: usize, old_log: OldLog) {
    let backend = db.backend;
    let at = format!("{backend:?}, from schema version {k}");

    let mut conn = db.connect().await;
    let mut older = all_migrations(backend).await;
    older.migrations = Cow::Owned(older.migrations[..k].to_vec());
    older
        .run(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{at}: migrations 1..{k}: {e}"));
    let schema = read_schema(&mut conn, backend).await;
    // In one transaction, as a test's data has no history to keep apart (and one commit is quicker).
    let mut tx = conn.begin().await.unwrap();
    let mut inserted = fill(&mut tx, &schema).await;
    if old_log == OldLog::WithNuls {
        put_runs_with_nuls(&mut tx, backend, k, &mut inserted).await;
    }
    tx.commit().await.unwrap();
    let mut before = snapshot(&mut conn, backend, &schema).await;
    for (table, rows) in &before {
        assert!(
            !rows.is_empty() || EMPTY_AT_REST.contains(&table.as_str()),
            "{at}: {table} holds no rows to upgrade"
        );
    }
    // On PostgreSQL, the NULs of the older events become U+FFFD before the migrations (as plughub
    // writes them since): its JSON functions refuse NULs. SQLite keeps them as they were.
    if backend == Backend::Postgres
        && let Some(events) = before.get_mut("events")
    {
        for row in events.iter_mut() {
            for value in row.iter_mut() {
                *value = value.replace("\\u0000", "\u{FFFD}");
            }
        }
    }
    conn.close().await.expect("close");

    let store = Store::open(&db.location)
        .await
        .unwrap_or_else(|e| panic!("{at}: Store::open could not upgrade it: {e}"));
    assert_eq!(
        store.migrations_missing().await.or_fail(&at),
        Vec::<i64>::new(),
        "{at}: migrations left unapplied"
    );

    let mut conn = db.connect().await;
    let applied: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
    assert_eq!(applied, total as i64, "{at}: migrations recorded");
    // No migration drops a table or a column yet: were one to, it must say here where the rows went.
    let newest = read_schema(&mut conn, backend).await;
    for (name, table) in &schema {
        let kept = newest
            .get(name)
            .unwrap_or_else(|| panic!("{at}: table {name} holding rows was dropped"));
        for column in &table.columns {
            assert!(
                kept.columns.iter().any(|c| c.name == column.name),
                "{at}: column {name}.{} holding values was dropped",
                column.name
            );
        }
    }
    // Every row, column for column, as it was (the columns of version k; later ones are new).
    let after = snapshot(&mut conn, backend, &schema).await;
    for (table, rows) in &before {
        assert_eq!(
            after.get(table),
            Some(rows),
            "{at}: the rows of {table} changed in the upgrade"
        );
    }
    conn.close().await.expect("close");

    derived_data_is_what_the_migrations_promise(&store, &inserted, k, &at).await;
    every_table_reads_through_the_store(&store, &inserted, &at).await;
    the_store_takes_new_writes(&store, &inserted, &at).await;
    store.close().await;
}

// ----- The databases -----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database: a temporary SQLite data directory, or a PostgreSQL database that `remove` drops.
struct Db {
    backend: Backend,
    location: Location,
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg_database: Option<String>,
}

impl Db {
    async fn fresh(backend: Backend) -> Db {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let data = dir.path().join("data");
                std::fs::create_dir_all(&data).expect("data directory");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    data.join(Location::SQLITE_FILE).display()
                );
                Db {
                    backend,
                    location: Location::DataDir(data),
                    url,
                    _dir: Some(dir),
                    pg_database: None,
                }
            }
            Backend::Postgres => {
                let name = format!("plughub_upgrade_{}", uuid::Uuid::new_v4().simple());
                // Commits do not wait for the disk: a test database outlives no crash, and the
                // server's flushes were most of the time taken.
                let url = format!(
                    "{}?options[synchronous_commit]=off",
                    plughub_testkit::fresh_postgres_database(&name).await
                );
                Db {
                    backend,
                    location: Location::Url(url.clone()),
                    url,
                    _dir: None,
                    pg_database: Some(name),
                }
            }
        }
    }

    /// A connection of its own, beside the store's pool; on SQLite with foreign keys enforced, as the
    /// store's connections have them, so that the rows put in are consistent.
    async fn connect(&self) -> AnyConnection {
        let mut conn = AnyConnection::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url));
        if self.backend == Backend::Sqlite {
            // Not waiting for the disk (the store's own connections keep their settings).
            for pragma in ["PRAGMA foreign_keys = ON", "PRAGMA synchronous = OFF"] {
                sqlx::query(pragma).execute(&mut conn).await.unwrap();
            }
        }
        conn
    }

    async fn remove(self) {
        if let Some(name) = &self.pg_database {
            let mut admin = sqlx::PgConnection::connect(&plughub_testkit::postgres_admin_url())
                .await
                .expect("connect to the PostgreSQL server");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .expect("drop the test database");
            let _ = admin.close().await;
        }
    }
}

/// The migrations of the store's folder, read at run time (the store embeds the same files).
async fn all_migrations(backend: Backend) -> Migrator {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        });
    Migrator::new(folder.as_path())
        .await
        .unwrap_or_else(|e| panic!("read {}: {e}", folder.display()))
}

// ----- The schema, as the database has it ---------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Text,
    Int,
    Real,
    Blob,
}

#[derive(Debug)]
struct Column {
    name: String,
    ty: Type,
    not_null: bool,
    /// Filled by the database (SQLite's INTEGER PRIMARY KEY, PostgreSQL's identity): never given.
    generated: bool,
}

#[derive(Debug)]
struct ForeignKey {
    column: String,
    table: String,
    to: String,
}

#[derive(Debug)]
struct Table {
    columns: Vec<Column>,
    foreign_keys: Vec<ForeignKey>,
}

/// The tables (but sqlx's own), by name.
type Schema = BTreeMap<String, Table>;

async fn read_schema(conn: &mut AnyConnection, backend: Backend) -> Schema {
    match backend {
        Backend::Sqlite => read_sqlite_schema(conn).await,
        Backend::Postgres => read_postgres_schema(conn).await,
    }
}

async fn read_sqlite_schema(conn: &mut AnyConnection) -> Schema {
    let tables = sqlx::query(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for table in tables {
        let name: String = table.get("name");
        let sql: String = table.get("sql");
        // The statement as written, comments and all: a comment may say "check".
        let code: String = sql
            .lines()
            .map(|line| line.split("--").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
            .to_uppercase();
        let has_check = code
            .match_indices("CHECK")
            .any(|(at, _)| code[at + "CHECK".len()..].trim_start().starts_with('('));
        refuse_unknown_checks(&name, has_check.then_some(sql));
        let columns = sqlx::query(
            "SELECT name, type, \"notnull\" AS not_null, pk FROM pragma_table_info($1) ORDER BY cid",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let key_columns = columns.iter().filter(|c| c.get::<i64, _>("pk") > 0).count();
        let columns = columns
            .iter()
            .map(|c| {
                let declared: String = c.get("type");
                let declared = declared.to_uppercase();
                // SQLite's own affinity rules.
                let ty = if declared.contains("INT") {
                    Type::Int
                } else if ["CHAR", "CLOB", "TEXT"]
                    .iter()
                    .any(|t| declared.contains(t))
                {
                    Type::Text
                } else if declared.contains("BLOB") {
                    Type::Blob
                } else if ["REAL", "FLOA", "DOUB"]
                    .iter()
                    .any(|t| declared.contains(t))
                {
                    Type::Real
                } else {
                    panic!("{name}: a column of type {declared}: give it values here");
                };
                Column {
                    name: c.get("name"),
                    ty,
                    // SQLite lets a key other than the rowid hold NULL; plughub never puts one there.
                    not_null: c.get::<i64, _>("not_null") == 1 || c.get::<i64, _>("pk") > 0,
                    // The rowid's alias.
                    generated: c.get::<i64, _>("pk") == 1
                        && key_columns == 1
                        && declared == "INTEGER",
                }
            })
            .collect();
        let foreign_keys = sqlx::query(
            "SELECT \"table\" AS parent, \"from\" AS col, \"to\" AS parent_col, seq \
             FROM pragma_foreign_key_list($1)",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|fk| {
            assert_eq!(
                fk.get::<i64, _>("seq"),
                0,
                "{name}: a foreign key of several columns: give it values here"
            );
            ForeignKey {
                column: fk.get("col"),
                table: fk.get("parent"),
                to: fk
                    .get::<Option<String>, _>("parent_col")
                    .unwrap_or_else(|| "id".into()),
            }
        })
        .collect();
        schema.insert(
            name,
            Table {
                columns,
                foreign_keys,
            },
        );
    }
    schema
}

async fn read_postgres_schema(conn: &mut AnyConnection) -> Schema {
    let tables = sqlx::query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
         AND table_name::text <> '_sqlx_migrations' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for table in tables {
        let name: String = table.get("name");
        let checks: Vec<String> = sqlx::query(
            "SELECT pg_get_constraintdef(c.oid)::text AS def FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid \
             WHERE c.contype = 'c' AND t.relname::text = $1 AND t.relnamespace = 'public'::regnamespace",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("def"))
        .collect();
        refuse_unknown_checks(&name, (!checks.is_empty()).then(|| checks.join(", ")));
        let columns = sqlx::query(
            "SELECT column_name::text AS name, data_type::text AS ty, is_nullable::text AS nullable, \
             is_identity::text AS identity, COALESCE(column_default::text, '') AS dflt \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name::text = $1 \
             ORDER BY ordinal_position",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|c| {
            let declared: String = c.get("ty");
            let ty = match declared.as_str() {
                "text" => Type::Text,
                "bigint" | "integer" | "smallint" => Type::Int,
                "double precision" | "real" => Type::Real,
                "bytea" => Type::Blob,
                other => panic!("{name}: a column of type {other}: give it values here"),
            };
            Column {
                name: c.get("name"),
                ty,
                not_null: c.get::<String, _>("nullable") == "NO",
                generated: c.get::<String, _>("identity") == "YES"
                    || c.get::<String, _>("dflt").starts_with("nextval("),
            }
        })
        .collect();
        let foreign_keys = sqlx::query(
            "SELECT a.attname::text AS col, p.relname::text AS parent, pa.attname::text AS parent_col, \
             cardinality(c.conkey)::int8 AS n FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid \
             JOIN pg_class p ON p.oid = c.confrelid \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
             JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1] \
             WHERE c.contype = 'f' AND t.relname::text = $1 AND t.relnamespace = 'public'::regnamespace \
             ORDER BY 1",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|fk| {
            assert_eq!(
                fk.get::<i64, _>("n"),
                1,
                "{name}: a foreign key of several columns: give it values here"
            );
            ForeignKey {
                column: fk.get("col"),
                table: fk.get("parent"),
                to: fk.get("parent_col"),
            }
        })
        .collect();
        schema.insert(
            name,
            Table {
                columns,
                foreign_keys,
            },
        );
    }
    schema
}

/// No table has a CHECK constraint yet, so the values below know none. When one gets one, this says so
/// instead of an insert failing obscurely: give the table's values that satisfy it in `make_realistic`
/// and list it here.
fn refuse_unknown_checks(table: &str, check: Option<String>) {
    const CHECKS_HONOURED: &[&str] = &[];
    if let Some(check) = check {
        assert!(
            CHECKS_HONOURED.contains(&table),
            "{table} has a CHECK constraint ({check}): make its values satisfy it in make_realistic"
        );
    }
}

// ----- The data ----------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    Int(i64),
    Real(f64),
    Blob(Vec<u8>),
    Null(Type),
}

impl Value {
    fn text(&self) -> &str {
        match self {
            Value::Text(text) => text,
            other => panic!("{other:?} is not text"),
        }
    }

    fn json(&self) -> Json {
        serde_json::from_str(self.text()).expect("JSON text")
    }

    fn is_null(&self) -> bool {
        matches!(self, Value::Null(_))
    }
}

type Row = BTreeMap<String, Value>;
/// The rows put in, by table, in the order they went in.
type Inserted = BTreeMap<String, Vec<Row>>;

/// Rows per table (but `events`, which has one per kind of event below). Two, so that a nullable
/// column is set in one row and NULL in the other. Every value differs between the rows (texts name
/// their table, column and row; each row of a parent gets its own child), so every UNIQUE constraint
/// and primary key holds whatever its columns.
const ROWS: usize = 2;

/// Tables whose rows refer to another table's without a foreign key, or sum them: filled after it.
const FILLED_AFTER: &[(&str, &[&str])] = &[
    ("events", &["groups", "things", "people"]),
    ("execution_leases", &["groups"]),
    ("execution_rollups", &["groups"]),
    ("runtime_usage", &["runtime_cache", "memories"]),
    ("notifications", &["events"]),
    ("webhook_deliveries", &["events"]),
];

const PLUGIN: &str = "@elizaos/plugin-hello";
/// The client whose sign-ins the events record.
const SIGN_IN_CLIENT: &str = "203.0.113.7";

/// Puts rows in every table, parents before children.
/// What PostgreSQL keeps of a NUL in older events' metadata: U+FFFD (see the NUL tests above).
fn without_nuls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => *text = text.replace('\0', "\u{FFFD}"),
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_nuls),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(without_nuls),
        _ => {}
    }
}

/// Tables that hold rows only inside a transaction, never at rest: `event_deletion_permits` (0017) would
/// let anyone delete events while a row is in it.
const EMPTY_AT_REST: &[&str] = &["event_deletion_permits"];

async fn fill(conn: &mut AnyConnection, schema: &Schema) -> Inserted {
    let mut inserted = Inserted::new();
    for name in insertion_order(schema) {
        if EMPTY_AT_REST.contains(&name.as_str()) {
            continue;
        }
        let table = &schema[&name];
        let count = if name == "events" {
            FIXTURE_EVENTS
        } else {
            ROWS
        };
        let mut rows: Vec<Row> = Vec::new();
        for i in 0..count {
            let mut row = Row::new();
            for column in table.columns.iter().filter(|c| !c.generated) {
                let fk = table.foreign_keys.iter().find(|f| f.column == column.name);
                let value = match fk {
                    // A table that refers to itself (a sub-group): the first row has no parent.
                    Some(fk) if fk.table == name => match i {
                        0 => Value::Null(column.ty),
                        _ => rows[i - 1][&fk.to].clone(),
                    },
                    _ if !column.not_null && i % 2 == 1 => Value::Null(column.ty),
                    Some(fk) => {
                        let parents = &inserted[&fk.table];
                        parents[i % parents.len()][&fk.to].clone()
                    }
                    None => generic_value(&name, column, i),
                };
                row.insert(column.name.clone(), value);
            }
            make_realistic(&name, i, &mut row, &inserted);
            insert(conn, &name, &row).await;
            rows.push(row);
        }
        inserted.insert(name, rows);
    }
    inserted
}

/// Tables in an order where each comes after those it refers to (by name among the ready ones, so the
/// order is always the same).
fn insertion_order(schema: &Schema) -> Vec<String> {
    let after = |table: &str| -> BTreeSet<String> {
        let mut deps: BTreeSet<String> = schema[table]
            .foreign_keys
            .iter()
            .map(|f| f.table.clone())
            .filter(|t| t != table)
            .collect();
        for (t, before) in FILLED_AFTER {
            if *t == table {
                deps.extend(
                    before
                        .iter()
                        .filter(|b| schema.contains_key(**b))
                        .map(|b| b.to_string()),
                );
            }
        }
        deps
    };
    let mut order: Vec<String> = Vec::new();
    while order.len() < schema.len() {
        let next = schema
            .keys()
            .find(|t| !order.contains(t) && after(t).iter().all(|d| order.contains(d)))
            .unwrap_or_else(|| panic!("the foreign keys make a cycle beyond {order:?}"))
            .clone();
        order.push(next);
    }
    order
}

/// A value of the column's type in the form plughub writes it: times as the store's fixed-width
/// RFC 3339 text, JSON columns as JSON, texts unique in the database.
fn generic_value(table: &str, column: &Column, i: usize) -> Value {
    let name = column.name.as_str();
    match column.ty {
        Type::Int => Value::Int(3 + i as i64),
        Type::Real => Value::Real(12.5 * (i + 1) as f64),
        // The start of a gzip stream, as a tarball's.
        Type::Blob => Value::Blob(vec![0x1f, 0x8b, 0x08, 0x00, i as u8]),
        Type::Text => Value::Text(match name {
            "expires_at" | "next_attempt_at" => format!("2099-01-0{}T00:00:00.000Z", i + 1),
            _ if name.ends_with("_at") || name == "time" || name == "since" => {
                format!("2025-10-0{}T09:30:00.000Z", i + 1)
            }
            "day" => format!("2025-10-0{}", i + 1),
            "email" => format!("person{i}@example.test"),
            "metadata" | "properties" | "report" | "payload" | "manifest" | "checks" => {
                json!({ "table": table, "row": i }).to_string()
            }
            "value" => json!({ "greeting": format!("hello {i}") }).to_string(),
            "needs" => json!(["program:chromium"]).to_string(),
            _ => format!("{table}.{name}.{i}"),
        }),
    }
}

/// What a generic value cannot know: the closed sets of kinds, types, roles and statuses the store
/// parses, the JSON each reader expects, and the columns whose value follows from other rows.
fn make_realistic(table: &str, i: usize, row: &mut Row, inserted: &Inserted) {
    // Sets a column of this version (a column a later migration adds is not there yet), unless the
    // row leaves it NULL.
    fn set(row: &mut Row, column: &str, value: impl Into<String>) {
        if let Some(v) = row.get_mut(column)
            && !v.is_null()
        {
            *v = Value::Text(value.into());
        }
    }
    let first = |table: &str, column: &str| inserted[table][0][column].text().to_string();
    let pick = |choices: [&str; 2]| choices[i % 2].to_string();
    match table {
        "groups" => set(row, "plan", pick([Plan::Pro.as_str(), Plan::Free.as_str()])),
        "memberships" | "invitations" => {
            set(
                row,
                "role",
                pick([Role::OrgOwner.as_str(), Role::OrgUser.as_str()]),
            );
        }
        "things" => {
            // An installed plugin in an organisation, and a catalogue entry (global: no group).
            set(
                row,
                "kind",
                pick([
                    ThingKind::PluginInstance.as_str(),
                    ThingKind::ElizaosPlugin.as_str(),
                ]),
            );
            set(row, "name", format!("@acme/plugin-{i}"));
            set(row, "status", pick(["active", "listed"]));
            let properties = match i % 2 {
                0 => json!({ "plugin": PLUGIN, "version": "1.2.0", "settings": {} }),
                _ => json!({ "description": "Says hello", "latest": "1.2.0" }),
            };
            set(row, "properties", properties.to_string());
        }
        "connections" => set(
            row,
            "kind",
            pick([
                ConnectionKind::PluginInstalledIn.as_str(),
                ConnectionKind::ReviewOf.as_str(),
            ]),
        ),
        "knowledge" => set(row, "kind", pick(["readme", "description"])),
        "catalog_syncs" => set(row, "status", pick(["ok", "starter"])),
        "events" => {
            *row = fixture_event(
                i,
                &first("groups", "id"),
                &first("things", "id"),
                &first("people", "id"),
            )
        }
        "memories" => {
            let text = format!("Remember the Blue Door {i}");
            let content = json!({ "id": row["id"].text(), "content": { "text": text } });
            set(row, "content", content.to_string());
            set(row, "body", text.to_lowercase());
            // 0008's size: the bytes of what the row stores.
            let size = row["content"].text().len() + row["body"].text().len();
            if let Some(v) = row.get_mut("size") {
                *v = Value::Int(size as i64);
            }
        }
        "runtime_cache" => {
            let size = row["key"].text().len() + row["value"].text().len();
            if let Some(v) = row.get_mut("size") {
                *v = Value::Int(size as i64);
            }
        }
        "runtime_usage" => {
            // An instance's total: the sizes of its cache and memories (the store keeps it so).
            let instance = row["instance_id"].text().to_string();
            row.insert(
                "bytes".into(),
                Value::Int(expected_storage(inserted, &instance) as i64),
            );
        }
        "execution_leases" => {
            let groups = &inserted["groups"];
            set(row, "group_id", groups[i % groups.len()]["id"].text());
            set(row, "holder", format!("server-{i}"));
        }
        "publisher_claims" => set(row, "status", pick([CLAIM_GRANTED, CLAIM_PENDING])),
        "publisher_people" => set(row, "how", "claim"),
        "execution_rollups" => {
            // A row by organisation, plugin and component, and the platform's row for all of them.
            let group = first("groups", "id");
            let key = match i % 2 {
                0 => [group.as_str(), PLUGIN, "action", "HELLO"],
                _ => ["*", "*", "*", "*"],
            };
            for (column, value) in ["group_id", "plugin", "kind", "component"]
                .into_iter()
                .zip(key)
            {
                set(row, column, value);
            }
        }
        "notifications" | "webhook_deliveries" => {
            let events = &inserted["events"];
            set(row, "event_id", events[i]["id"].text());
            set(row, "event_type", events[i]["type"].text());
            set(row, "status", pick(["delivered", "pending"]));
        }
        "registry_versions" => {
            set(
                row,
                "status",
                pick([VERSION_PUBLISHED, VERSION_QUARANTINED]),
            );
            set(row, "version", format!("1.0.{i}"));
        }
        "plugin_trials" => {
            set(row, "reached", pick(["loaded", "inited"]));
            set(row, "npm_reached", pick(["loaded", "inited"]));
            set(row, "cause", "init_failed");
        }
        _ => {}
    }
}

/// The kinds of event an older store holds: installs, runs (recorded, failed, failed to start, a cache
/// hit), a failed install, sign-ins. The runs are what 0009's indexes, 0013's rollups and the quotas
/// count, the sign-ins what 0006's index serves.
const FIXTURE_EVENTS: usize = 9;

fn fixture_event(i: usize, group: &str, instance: &str, person: &str) -> Row {
    let run = |kind: &str, component: &str, extra: Json| {
        let mut m = json!({ "plugin": PLUGIN, "kind": kind, "component": component });
        m.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        m
    };
    let (event_type, actor, target, group_id, metadata) = match i {
        0 => (
            EventType::GroupCreated,
            person,
            None,
            Some(group),
            json!({ "name": "acme", "plan": "pro" }),
        ),
        1 => (
            EventType::PluginInstalled,
            person,
            Some(instance),
            Some(group),
            json!({ "plugin": PLUGIN, "version": "1.2.0" }),
        ),
        2 => (
            EventType::PluginActionExecuted,
            person,
            Some(instance),
            Some(group),
            run(
                "action",
                "HELLO",
                json!({ "duration_ms": 42.5, "memory_bytes": 52_428_800, "cache_hit": false }),
            ),
        ),
        3 => (
            EventType::PluginErrorOccurred,
            person,
            Some(instance),
            Some(group),
            run(
                "provider",
                "TIME",
                json!({ "error": "TIME did not answer within 30 s; its worker was ended", "cause": "timeout" }),
            ),
        ),
        4 => (
            EventType::PluginErrorOccurred,
            person,
            Some(instance),
            Some(group),
            json!({ "plugin": PLUGIN, "operation": "init", "error": "init threw: no API key" }),
        ),
        5 => (
            EventType::PluginErrorOccurred,
            person,
            Some(instance),
            Some(group),
            json!({ "plugin": PLUGIN, "operation": "install", "error": "npm ERR! 404" }),
        ),
        6 => (
            EventType::PluginActionExecuted,
            person,
            Some(instance),
            Some(group),
            run("action", "HELLO", json!({ "cache_hit": true })),
        ),
        7 => (
            EventType::SignInFailed,
            SIGN_IN_CLIENT,
            Some(person),
            None,
            json!({ "email": "person0@example.test" }),
        ),
        8 => (
            EventType::SignedIn,
            SIGN_IN_CLIENT,
            Some(person),
            None,
            json!({}),
        ),
        _ => unreachable!("{FIXTURE_EVENTS} events"),
    };
    event_row(i, event_type, actor, target, group_id, &metadata)
}

/// An event as the store writes it; `i` makes its id and its time (a second apart, in log order).
fn event_row(
    i: usize,
    event_type: EventType,
    actor: &str,
    target: Option<&str>,
    group_id: Option<&str>,
    metadata: &Json,
) -> Row {
    let text = |s: &str| Value::Text(s.to_string());
    let maybe = |s: Option<&str>| s.map_or(Value::Null(Type::Text), text);
    Row::from([
        (
            "id".to_string(),
            text(&format!("0192b1c0-0000-7000-8000-{i:012}")),
        ),
        ("type".into(), text(event_type.as_str())),
        ("actor".into(), text(actor)),
        ("target".into(), maybe(target)),
        ("group_id".into(), maybe(group_id)),
        (
            "time".into(),
            text(&format!("2025-11-01T10:00:{i:02}.000Z")),
        ),
        ("metadata".into(), text(&metadata.to_string())),
    ])
}

/// Runs whose metadata holds a NUL (a plugin's log line or error may), after the usual events.
async fn put_runs_with_nuls(
    conn: &mut AnyConnection,
    backend: Backend,
    k: usize,
    inserted: &mut Inserted,
) {
    let group = inserted["groups"][0]["id"].text().to_string();
    let instance = inserted["things"][0]["id"].text().to_string();
    let run = |i: usize, event_type: EventType, extra: Json| {
        let mut metadata = json!({ "plugin": PLUGIN, "kind": "action", "component": "HELLO" });
        metadata
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        event_row(
            i,
            event_type,
            "person",
            Some(&instance),
            Some(&group),
            &metadata,
        )
    };
    let mut rows = vec![run(
        FIXTURE_EVENTS,
        EventType::PluginActionExecuted,
        json!({ "duration_ms": 3.0, "log": ["line\u{0}"] }),
    )];
    // From 0009 on, PostgreSQL refused to write a failed run holding one (its index of executions
    // could not read it), so only the older stores hold such a run.
    if backend == Backend::Sqlite || k < 9 {
        rows.push(run(
            FIXTURE_EVENTS + 1,
            EventType::PluginErrorOccurred,
            json!({ "error": "bad\u{0}byte" }),
        ));
    }
    for row in rows {
        insert(conn, "events", &row).await;
        inserted.get_mut("events").unwrap().push(row);
    }
}

async fn insert(conn: &mut AnyConnection, table: &str, row: &Row) {
    let columns: Vec<String> = row.keys().map(|c| format!("\"{c}\"")).collect();
    let marks: Vec<String> = (1..=row.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "INSERT INTO \"{table}\" ({}) VALUES ({})",
        columns.join(", "),
        marks.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for value in row.values() {
        query = match value.clone() {
            Value::Text(v) => query.bind(v),
            Value::Int(v) => query.bind(v),
            Value::Real(v) => query.bind(v),
            Value::Blob(v) => query.bind(v),
            Value::Null(Type::Text) => query.bind(None::<String>),
            Value::Null(Type::Int) => query.bind(None::<i64>),
            Value::Null(Type::Real) => query.bind(None::<f64>),
            Value::Null(Type::Blob) => query.bind(None::<Vec<u8>>),
        };
    }
    query
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("insert into {table} {row:?}: {e}"));
}

/// Every table's rows, each column as text (SQLite's `quote`, PostgreSQL's cast), in a fixed order.
async fn snapshot(
    conn: &mut AnyConnection,
    backend: Backend,
    schema: &Schema,
) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut tables = BTreeMap::new();
    for (name, table) in schema {
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|c| match backend {
                Backend::Sqlite => format!("quote(\"{}\")", c.name),
                Backend::Postgres => format!("COALESCE(\"{}\"::text, 'NULL')", c.name),
            })
            .collect();
        let order: Vec<String> = (1..=columns.len()).map(|n| n.to_string()).collect();
        let sql = format!(
            "SELECT {} FROM \"{name}\" ORDER BY {}",
            columns.join(", "),
            order.join(", ")
        );
        let rows = sqlx::query(&sql)
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("read {name}: {e}"))
            .iter()
            .map(|r| (0..columns.len()).map(|c| r.get::<String, _>(c)).collect())
            .collect();
        tables.insert(name.clone(), rows);
    }
    tables
}

/// The bytes an instance's cache and memories take, by 0008's measure (key and value; content and body).
fn expected_storage(inserted: &Inserted, instance: &str) -> usize {
    let rows = |table: &str| inserted.get(table).into_iter().flatten();
    let of = |row: &&Row| row["instance_id"].text() == instance;
    rows("runtime_cache")
        .filter(of)
        .map(|r| r["key"].text().len() + r["value"].text().len())
        .chain(
            rows("memories")
                .filter(of)
                .map(|r| r["content"].text().len() + r["body"].text().len()),
        )
        .sum()
}

// ----- After the upgrade -------------------------------------------------------------------------

/// A store call's answer, or a failure that says from which version, what and where (the failures
/// of all versions are told together, without their panics' places).
trait OrFail<T> {
    fn or_fail(self, at: &str) -> T;
}

impl<T> OrFail<T> for plughub_store::Result<T> {
    #[track_caller]
    fn or_fail(self, at: &str) -> T {
        let place = std::panic::Location::caller();
        match self {
            Ok(answer) => answer,
            Err(e) => panic!("{at}: {e} (upgrades.rs:{})", place.line()),
        }
    }
}

/// What later migrations make of older rows. (0013's watermark and 0007's memory ids are checked by
/// the writes that rely on them, in `the_store_takes_new_writes`.)
async fn derived_data_is_what_the_migrations_promise(
    store: &Store,
    inserted: &Inserted,
    k: usize,
    at: &str,
) {
    // 0008: each instance's total is what its rows take, for rows it measured as for rows put in later.
    for thing in &inserted["things"] {
        let id = thing["id"].text();
        assert_eq!(
            store.storage_used(id).await.or_fail(at),
            expected_storage(inserted, id) as u64,
            "{at}: storage used by {id}"
        );
    }
    let newest_seq = store
        .last_event_seq(&EventFilter::default())
        .await
        .or_fail(at);
    if k < 14 {
        // 0014: the events already in the log are history, not news: the notifier starts after them.
        for cursor in ["notifier", "notifier_floor"] {
            assert_eq!(
                store.notify_cursor(cursor).await.or_fail(at),
                newest_seq,
                "{at}: the {cursor} cursor"
            );
        }
    }
}

/// Every row put in, read back through the store's API (which parses kinds, types, roles, plans and
/// JSON, and fails on a value it does not know).
async fn every_table_reads_through_the_store(store: &Store, inserted: &Inserted, at: &str) {
    let ids = |rows: &[Row], column: &str| -> BTreeSet<String> {
        rows.iter().map(|r| r[column].text().to_string()).collect()
    };
    for (table, rows) in inserted {
        match table.as_str() {
            "groups" => {
                let groups = store.groups().await.or_fail(at);
                let read: BTreeSet<String> = groups.iter().map(|g| g.id.clone()).collect();
                assert_eq!(read, ids(rows, "id"), "{at}: groups");
                for row in rows {
                    let group = store.group_by_name(row["name"].text()).await.or_fail(at);
                    assert_eq!(group.unwrap().plan.as_str(), row["plan"].text(), "{at}");
                }
                assert_eq!(
                    store.group_summaries().await.or_fail(at).len(),
                    rows.len(),
                    "{at}"
                );
            }
            "people" => {
                for row in rows {
                    let person = store.person(row["id"].text()).await.or_fail(at).unwrap();
                    assert_eq!(person.email, row["email"].text(), "{at}: people");
                }
            }
            "memberships" => {
                let all = store.all_memberships().await.or_fail(at);
                for row in rows {
                    let held = &all[row["person_id"].text()];
                    assert!(
                        held.iter().any(|m| m.group_id == row["group_id"].text()
                            && m.role.as_str() == row["role"].text()),
                        "{at}: membership {row:?} not in {held:?}"
                    );
                }
            }
            "things" => {
                for row in rows {
                    let thing = store.thing(row["id"].text()).await.or_fail(at).unwrap();
                    assert_eq!(thing.kind.as_str(), row["kind"].text(), "{at}");
                    assert_eq!(thing.properties, row["properties"].json(), "{at}");
                }
            }
            "connections" => {
                for row in rows {
                    let kind: ConnectionKind = row["kind"].text().parse().unwrap();
                    let from = store
                        .connections_from(kind, row["from_id"].text())
                        .await
                        .or_fail(at);
                    assert!(
                        from.iter()
                            .any(|c| c.id == row["id"].text()
                                && c.metadata == row["metadata"].json()),
                        "{at}: connection {row:?}"
                    );
                }
            }
            "events" => {
                let events = store.events(&EventFilter::default()).await.or_fail(at);
                assert_eq!(events.len(), rows.len(), "{at}: events");
                for (event, row) in events.iter().zip(rows) {
                    assert_eq!(event.id, row["id"].text(), "{at}: events in log order");
                    assert_eq!(event.event_type.as_str(), row["type"].text(), "{at}");
                    let mut expected = row["metadata"].json();
                    if store.backend() == plughub_store::Backend::Postgres {
                        without_nuls(&mut expected);
                    }
                    assert_eq!(event.metadata, expected, "{at}");
                }
            }
            "knowledge" => {
                for row in rows {
                    let body = store
                        .knowledge(row["thing_id"].text(), row["kind"].text())
                        .await
                        .or_fail(at);
                    assert_eq!(body.as_deref(), Some(row["body"].text()), "{at}: knowledge");
                }
            }
            "catalog_syncs" => {
                let runs = store.sync_runs(100).await.or_fail(at);
                let read: BTreeSet<String> = runs.iter().map(|r| r.id.clone()).collect();
                assert_eq!(read, ids(rows, "id"), "{at}: catalogue syncs");
            }
            "runtime_cache" => {
                for row in rows {
                    let value = store
                        .cache_get(row["instance_id"].text(), row["key"].text())
                        .await
                        .or_fail(at);
                    assert_eq!(value, Some(row["value"].json()), "{at}: cache");
                }
            }
            "memories" => {
                for row in rows {
                    let room = (!row["room_id"].is_null()).then(|| row["room_id"].text());
                    let kept = store
                        .memories(&MemoryQuery {
                            instance_id: row["instance_id"].text(),
                            agent_id: row["agent_id"].text(),
                            table: Some(row["table_name"].text()),
                            room_id: room,
                            text: Some("blue door"),
                            count: 10,
                        })
                        .await
                        .or_fail(at);
                    assert_eq!(kept, vec![row["content"].json()], "{at}: memories");
                }
            }
            // Checked as each instance's storage, above.
            "runtime_usage" => {}
            "api_tokens" => {
                let tokens = store.all_tokens().await.or_fail(at);
                let read: BTreeSet<String> = tokens.iter().map(|(t, _)| t.id.clone()).collect();
                assert_eq!(read, ids(rows, "id"), "{at}: tokens");
            }
            "sessions" => {
                for row in rows {
                    let session = store.session(row["token_hash"].text()).await.or_fail(at);
                    assert_eq!(
                        session.unwrap().person_id,
                        row["person_id"].text(),
                        "{at}: session"
                    );
                }
            }
            "execution_leases" => {
                for row in rows {
                    let renewed = store
                        .renew_execution_slots(row["holder"].text(), "2099-12-31T00:00:00.000Z")
                        .await
                        .or_fail(at);
                    let Value::Int(slot) = row["slot"] else {
                        panic!("a slot is a number")
                    };
                    assert_eq!(
                        renewed,
                        vec![(row["group_id"].text().to_string(), slot as u32)],
                        "{at}: leases"
                    );
                }
            }
            "invitations" => {
                for row in rows {
                    let invitation = store
                        .invitation_by_hash(row["secret_hash"].text())
                        .await
                        .or_fail(at)
                        .unwrap();
                    assert_eq!(invitation.role.as_str(), row["role"].text(), "{at}");
                }
            }
            "review_votes" => {
                let reviews: Vec<String> = ids(rows, "review_id").into_iter().collect();
                let votes = store.review_votes(&reviews).await.or_fail(at);
                for review in &reviews {
                    let expected = rows
                        .iter()
                        .filter(|r| r["review_id"].text() == review)
                        .count();
                    assert_eq!(votes[review], expected as i64, "{at}: votes");
                }
            }
            "review_reports" => {
                let open = store.open_review_reports().await.or_fail(at);
                let read: BTreeSet<String> = open.iter().map(|r| r.id.clone()).collect();
                let unresolved: Vec<Row> = rows
                    .iter()
                    .filter(|r| r["resolved_at"].is_null())
                    .cloned()
                    .collect();
                assert_eq!(read, ids(&unresolved, "id"), "{at}: open reports");
            }
            "reviewer_bans" => {
                let bans = store.reviewer_bans().await.or_fail(at);
                let read: BTreeSet<String> = bans.iter().map(|b| b.person_id.clone()).collect();
                assert_eq!(read, ids(rows, "person_id"), "{at}: bans");
            }
            "publisher_claims" => {
                let claims = store.publisher_claims(None).await.or_fail(at);
                let read: BTreeSet<String> = claims.iter().map(|c| c.id.clone()).collect();
                assert_eq!(read, ids(rows, "id"), "{at}: claims");
            }
            "publisher_people" => {
                for row in rows {
                    let people = store
                        .publisher_people(row["publisher_id"].text())
                        .await
                        .or_fail(at);
                    assert!(
                        people
                            .iter()
                            .any(|p| p.person_id == row["person_id"].text()),
                        "{at}: publisher people"
                    );
                }
            }
            "plugin_deprecations" => {
                let deprecations = store.plugin_deprecations().await.or_fail(at);
                let read: BTreeSet<String> =
                    deprecations.iter().map(|d| d.plugin.clone()).collect();
                assert_eq!(read, ids(rows, "plugin"), "{at}: deprecations");
            }
            "execution_rollups" => {
                // The platform's row (all organisations and plugins) reads back as it was put in
                // (nothing is rolled up yet: the events' days are later).
                let platform = rows.iter().find(|r| r["plugin"].text() == "*").unwrap();
                let read = store
                    .rollup_rows(&RollupQuery {
                        since_day: Some(platform["day"].text().to_string()),
                        ..Default::default()
                    })
                    .await
                    .or_fail(at);
                assert_eq!(
                    Value::Int(read[0].totals.executions),
                    platform["executions"],
                    "{at}: rollups"
                );
            }
            "rollup_watermarks" => {}
            "notify_cursors" => {
                for row in rows {
                    let Value::Int(seq) = row["seq"] else {
                        panic!("a seq is a number")
                    };
                    assert_eq!(
                        store.notify_cursor(row["name"].text()).await.or_fail(at),
                        seq,
                        "{at}: cursor"
                    );
                }
            }
            "notifications" => {
                for row in rows {
                    let mine = store
                        .notifications(row["person_id"].text(), false, 10, 0)
                        .await
                        .or_fail(at);
                    assert!(
                        mine.iter().any(|n| n.id == row["id"].text()),
                        "{at}: notification {row:?} not in {mine:?}"
                    );
                }
            }
            "webhook_secrets" => {
                let sealed = store.sealed_webhook_secrets().await.or_fail(at);
                let read: BTreeSet<String> = sealed.iter().map(|(w, _)| w.clone()).collect();
                assert_eq!(read, ids(rows, "webhook_id"), "{at}: webhook secrets");
            }
            "webhook_deliveries" => {
                for row in rows {
                    let deliveries = store
                        .deliveries(row["webhook_id"].text(), 10)
                        .await
                        .or_fail(at);
                    assert!(
                        deliveries.iter().any(|d| d.id == row["id"].text()),
                        "{at}: delivery {row:?}"
                    );
                }
            }
            "webhook_attempts" => {
                for row in rows {
                    let attempts = store
                        .delivery_attempts(row["delivery_id"].text())
                        .await
                        .or_fail(at);
                    assert!(
                        attempts
                            .iter()
                            .any(|a| a.attempted_at == row["attempted_at"].text()),
                        "{at}: attempt {row:?}"
                    );
                }
            }
            "update_notices" => {
                // A notice recorded before is not recorded again.
                for row in rows {
                    let mut tx = store.begin().await.or_fail(at);
                    let again = tx
                        .record_update_notice(
                            row["group_id"].text(),
                            row["plugin"].text(),
                            row["version"].text(),
                            NewEvent {
                                event_type: EventType::PluginUpdateAvailable,
                                actor: "notifier".into(),
                                target: None,
                                group_id: Some(row["group_id"].text().to_string()),
                                metadata: json!({}),
                            },
                        )
                        .await
                        .or_fail(at);
                    assert!(
                        again.is_none(),
                        "{at}: update notice {row:?} recorded twice"
                    );
                    tx.rollback().await.or_fail(at);
                }
            }
            "registry_versions" => {
                for row in rows {
                    let package = row["package"].text();
                    let versions = store.registry_versions(package).await.or_fail(at);
                    assert!(
                        versions.iter().any(|v| v.version == row["version"].text()
                            && v.manifest == row["manifest"].json()),
                        "{at}: registry version {row:?}"
                    );
                    let tarball = store
                        .registry_tarball(package, row["version"].text())
                        .await
                        .or_fail(at);
                    assert_eq!(tarball.map(Value::Blob).as_ref(), Some(&row["tarball"]));
                }
            }
            "registry_dist_tags" => {
                for row in rows {
                    let tags = store.dist_tags(row["package"].text()).await.or_fail(at);
                    let tag = (
                        row["tag"].text().to_string(),
                        row["version"].text().to_string(),
                    );
                    assert!(tags.contains(&tag), "{at}: dist-tag {row:?}");
                }
            }
            "registry_blocklist" => {
                let blocked = store.blocked_hashes().await.or_fail(at);
                let read: BTreeSet<String> = blocked.iter().map(|b| b.sha512.clone()).collect();
                assert_eq!(read, ids(rows, "sha512"), "{at}: blocklist");
            }
            "publish_tokens" => {
                for row in rows {
                    let token = store.publish_token(row["id"].text()).await.or_fail(at);
                    assert_eq!(
                        token.unwrap().namespace,
                        row["namespace"].text(),
                        "{at}: publish token"
                    );
                }
            }
            "namespace_decisions" => {
                let decisions = store.namespace_decisions().await.or_fail(at);
                let read: BTreeSet<String> =
                    decisions.iter().map(|d| d.namespace.clone()).collect();
                assert_eq!(read, ids(rows, "namespace"), "{at}: namespace decisions");
            }
            "plugin_trials" => {
                let trials = store.trials(None).await.or_fail(at);
                assert_eq!(trials.len(), rows.len(), "{at}: trials");
            }
            other => panic!(
                "{at}: {other} holds rows that nothing here reads back: read them through the store"
            ),
        }
    }
}

/// The store on top of the upgraded data: new events after the old ones, new things beside them, the
/// executions and sign-ins counted over old and new alike.
async fn the_store_takes_new_writes(store: &Store, inserted: &Inserted, at: &str) {
    let group = inserted["groups"][0]["id"].text();
    let instance = inserted["things"][0]["id"].text();
    let old_seq = store
        .last_event_seq(&EventFilter::default())
        .await
        .or_fail(at);

    let run = store
        .append_event(&NewEvent {
            event_type: EventType::PluginActionExecuted,
            actor: "upgrade-test".into(),
            target: Some(instance.to_string()),
            group_id: Some(group.to_string()),
            metadata: json!({ "plugin": PLUGIN, "kind": "action", "component": "HELLO", "duration_ms": 7.0 }),
        })
        .await
        .or_fail(at);
    assert!(run.seq > old_seq, "{at}: a new event after the old ones");

    let mut tx = store.begin().await.or_fail(at);
    let org = tx
        .create_group("upgraded-org", Plan::Free, None, "upgrade-test")
        .await
        .or_fail(at);
    let thing = tx
        .insert_thing(
            &NewThing {
                kind: ThingKind::PluginInstance,
                name: PLUGIN,
                group_id: Some(&org.id),
                status: "active",
                properties: r#"{"version":"1.2.0"}"#,
            },
            NewEvent {
                event_type: EventType::PluginInstalled,
                actor: "upgrade-test".into(),
                target: None,
                group_id: Some(org.id.clone()),
                metadata: json!({ "plugin": PLUGIN }),
            },
        )
        .await
        .or_fail(at);
    tx.commit().await.or_fail(at);
    assert_eq!(
        store.thing(&thing).await.or_fail(at).unwrap().group_id,
        Some(org.id.clone()),
        "{at}"
    );

    let events = store.events(&EventFilter::default()).await.or_fail(at);
    let old = events.iter().filter(|e| e.seq <= old_seq).count();
    assert_eq!(old, inserted["events"].len(), "{at}: the old events");
    assert_eq!(events.len(), old + 3, "{at}: the new events");

    // Executions by the domain's own rule, counted by the store's SQL (and 0009's indexes).
    let executions = |in_group: bool| {
        events
            .iter()
            .filter(|e| e.is_execution() && (!in_group || e.group_id.as_deref() == Some(group)))
            .count() as i64
    };
    assert!(executions(true) > 1, "{at}: the fixture records runs");
    assert_eq!(
        store
            .count_executions_since(ExecutionScope::Group(group), "2000-01-01T00:00:00.000Z")
            .await
            .or_fail(at),
        executions(true),
        "{at}: executions of the group"
    );
    assert_eq!(
        store
            .count_executions_since(
                ExecutionScope::Instance(instance),
                "2000-01-01T00:00:00.000Z"
            )
            .await
            .or_fail(at),
        executions(true),
        "{at}: executions of the instance"
    );
    assert_eq!(
        store
            .sign_ins_by(SIGN_IN_CLIENT, None, false, 10)
            .await
            .or_fail(at)
            .len(),
        2,
        "{at}: sign-ins"
    );

    // 0013 starts the watermark at 0, whatever the log held: the first rollup reads all of it, the
    // runs recorded before the upgrade as well as the new one.
    let rolled = store.roll_up_executions().await.or_fail(at);
    assert_eq!(
        (rolled.from, rolled.to),
        (0, events.last().unwrap().seq),
        "{at}: the first rollup"
    );
    let totals = store
        .rollup_rows(&RollupQuery {
            since_day: Some("2025-11-01".into()),
            ..Default::default()
        })
        .await
        .or_fail(at);
    assert_eq!(
        totals[0].totals.executions,
        executions(false),
        "{at}: executions rolled up"
    );

    if inserted.contains_key("memories") {
        // 0007: a memory's id is its instance's own: another instance may take an id in use.
        let taken = &inserted["memories"][0];
        let other = &inserted["things"][1]["id"];
        assert_ne!(taken["instance_id"], *other);
        let id = store
            .create_memory(
                &NewMemory {
                    group_id: group,
                    instance_id: other.text(),
                    agent_id: "agent-1",
                    room_id: None,
                    table: "messages",
                    content: &json!({ "id": taken["id"].text(), "content": { "text": "again" } }),
                },
                1 << 20,
            )
            .await
            .unwrap_or_else(|e| panic!("{at}: a memory id of another instance: {e}"));
        assert_eq!(id, taken["id"].text(), "{at}");
        let before = store.storage_used(instance).await.or_fail(at);
        store
            .cache_set(instance, "after-upgrade", &json!(1), 1 << 20)
            .await
            .or_fail(at);
        assert_eq!(
            store.storage_used(instance).await.or_fail(at),
            before + ("after-upgrade".len() + 1) as u64,
            "{at}: storage after a new cache value"
        );
    }
}
