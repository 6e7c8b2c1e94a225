#![doc = include_str!("../README.md")]

use plughub_store::{Location, Store};
use sqlx::Connection;
use std::path::PathBuf;

/// A fixture plugin of `fixtures/` (a real npm package folder): `plugin-hello` has one component of each
/// kind, `plugin-hostile` misbehaves in every way a worker must survive, `plugin-stuck-init` never
/// finishes its init, `plugin-echo-model` is a text model that puts its key in its answers.
pub fn fixture_plugin(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A plugin plughub carries in its binary (`plugins/` at the workspace's root), e.g. `plugin-local-model`.
pub fn bundled_plugin(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins")
        .join(name)
}

/// The PostgreSQL server the tests use: `PLUGHUB_TEST_DATABASE_URL`, else the local server on loopback.
pub fn postgres_admin_url() -> String {
    std::env::var("PLUGHUB_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// The backends every store test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

pub const BACKENDS: [TestBackend; 2] = [TestBackend::Sqlite, TestBackend::Postgres];

/// A store that lives as long as this value: a temporary data directory, or a fresh PostgreSQL database
/// that `cleanup` drops.
pub struct TestStore {
    pub store: Store,
    pub location: Location,
    _dir: Option<tempfile::TempDir>,
    pg_database: Option<String>,
}

impl TestStore {
    pub async fn new(backend: TestBackend) -> TestStore {
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let location = Location::DataDir(dir.path().join("data"));
                let store = Store::open(&location).await.expect("open SQLite store");
                TestStore {
                    store,
                    location,
                    _dir: Some(dir),
                    pg_database: None,
                }
            }
            TestBackend::Postgres => {
                let name = format!("plughub_test_{}", uuid::Uuid::new_v4().simple());
                let url = fresh_postgres_database(&name).await;
                let location = Location::Url(url);
                let store = Store::open(&location).await.expect("open PostgreSQL store");
                TestStore {
                    store,
                    location,
                    _dir: None,
                    pg_database: Some(name),
                }
            }
        }
    }

    /// Another handle on the same store, as a second process or node would open it.
    pub async fn reopen(&self) -> Store {
        Store::open(&self.location).await.expect("reopen store")
    }

    /// Appends an event stamped `time` (RFC 3339, as the store writes times) rather than now: for what
    /// happened long ago (an uninstall 91 days back). The store itself only ever stamps now.
    pub async fn append_event_at(
        &self,
        event_type: &str,
        actor: &str,
        target: Option<&str>,
        group_id: Option<&str>,
        time: &str,
        metadata: &serde_json::Value,
    ) {
        sqlx::any::install_default_drivers();
        let url = match &self.location {
            Location::DataDir(dir) => {
                format!("sqlite://{}", dir.join(Location::SQLITE_FILE).display())
            }
            Location::Url(url) => url.clone(),
        };
        let mut conn = sqlx::AnyConnection::connect(&url)
            .await
            .expect("connect to the test store");
        sqlx::query(
            "INSERT INTO events (id, type, actor, target, group_id, time, metadata) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(event_type)
        .bind(actor)
        .bind(target)
        .bind(group_id)
        .bind(time)
        .bind(metadata.to_string())
        .execute(&mut conn)
        .await
        .expect("insert the event");
        let _ = conn.close().await;
    }

    /// Closes the store and drops a PostgreSQL test database.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(name) = self.pg_database {
            let mut admin = admin_connection().await;
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
}

async fn admin_connection() -> sqlx::PgConnection {
    let url = postgres_admin_url();
    sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!(
            "the store tests need a PostgreSQL server at {url} ({e}); start one (scripts/test.sh installs and \
             starts it) or point PLUGHUB_TEST_DATABASE_URL at one"
        )
    })
}

/// Creates a database and returns its URL.
pub async fn fresh_postgres_database(name: &str) -> String {
    let mut admin = admin_connection().await;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let url = postgres_admin_url();
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// The registry snapshot the repository carries (`data/elizaos-registry` in this crate), so a clone made
/// anywhere runs its tests with nothing beside it.
pub fn registry_snapshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/elizaos-registry")
}

pub mod http;
pub mod registry;
pub mod runtime_calls;
pub mod tarball;

/// Ends the connections of the database at `url` that listen for other servers' changes, as a
/// PostgreSQL restart or a network cut would: the servers must reconnect and catch up. Returns how
/// many were ended.
pub async fn cut_listeners(url: &str) -> i64 {
    let database = url.rsplit('/').next().unwrap_or_default().to_string();
    let mut admin = admin_connection().await;
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND datname = $2) AS ended",
    )
    .bind(plughub_store::LISTENER_NAME)
    .bind(database)
    .fetch_one(&mut admin)
    .await
    .expect("end the listeners")
}

/// A connection to the database at `url` holding the advisory lock `key` for as long as it lives (a
/// server that is syncing the catalogue, seen from another).
pub async fn hold_advisory_lock(url: &str, key: i64) -> sqlx::PgConnection {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to hold a lock");
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(key)
        .execute(&mut conn)
        .await
        .expect("take the lock");
    conn
}
