#![doc = include_str!("../README.md")]

mod accounts;
mod catalog;
mod changes;
mod clock;
mod connections;
mod deprecations;
mod error;
mod events;
mod group_removal;
mod groups;
mod invitations;
mod leases;
mod location;
mod notify;
mod publishers;
mod registry;
mod retention;
mod reviews;
mod rollups;
mod runtime_state;
mod things;
mod timing;
mod trials;
mod tx;

pub use accounts::{MemberRecord, PersonRecord, SessionRecord, TokenRecord};
pub use catalog::{CatalogFingerprint, CatalogRow, SyncRun, SyncSummary};
pub use changes::{CATALOG_SYNC_LOCK, CatalogSyncLock, Change, LISTENER_NAME};
pub use clock::{format_time, now_rfc3339};
pub use deprecations::DeprecationRecord;
pub use error::StoreError;
pub use events::{EventCursor, EventFilter, ExecutionScope};
pub use group_removal::GroupRemoval;
pub use groups::GroupSummary;
pub use invitations::InvitationRecord;
pub use location::{Backend, Location};
pub use notify::{
    AttemptRecord, DeliveryOutcome, DeliveryRecord, NewNotification, NotificationRecord,
};
pub use publishers::{
    CLAIM_GRANTED, CLAIM_PENDING, CLAIM_REFUSED, ClaimRecord, PUBLISHER_HELD, PUBLISHER_UNCLAIMED,
    PublisherPersonRecord,
};
pub use registry::{
    BlockedHashRecord, NamespaceDecisionRecord, NewRegistryVersion, PublishTokenRecord,
    RegistryVersionRecord, VERSION_PUBLISHED, VERSION_QUARANTINED, VERSION_REJECTED,
    VERSION_UNPUBLISHED,
};
pub use retention::RetentionRun;
pub use reviews::{BanRecord, PUBLISHED, ReportRecord, ReviewRow};
pub use rollups::{
    BUCKETS, LATENCY_BUCKETS_MS, RollupKey, RollupQuery, RollupRow, RollupRun, RollupTotals,
};
pub use runtime_state::{MemoryQuery, NewMemory};
pub use timing::StoreMetrics;
pub use tx::{NewThing, StoreTx};

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Connection};
use std::time::Duration;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A handle on the store; cheap to clone (it wraps a connection pool).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    description: String,
    /// The task that writes appended events in batches, started on first use.
    event_writer: std::sync::Arc<std::sync::OnceLock<events::EventWriter>>,
    /// Groups read already, by name: a group's row never changes once made (see `groups.rs`).
    groups_seen: groups::GroupsSeen,
    /// Its statements' latency, for the server's `/metrics`.
    metrics: std::sync::Arc<StoreMetrics>,
    /// Where a PostgreSQL store's listener connects (see `changes.rs`).
    listen_url: Option<String>,
}

impl Store {
    /// Opens (and creates, for SQLite) the store at `location` and brings its schema up to date.
    pub async fn open(location: &Location) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (url, backend) = location.connect_url()?;
        let max = match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 10,
        };
        // One direct connection first: a refused or misaddressed server fails at once with the driver's own
        // reason, where the pool would retry until its acquire timeout.
        let probe =
            tokio::time::timeout(Duration::from_secs(15), sqlx::AnyConnection::connect(&url)).await;
        match probe {
            Ok(Ok(conn)) => conn
                .close()
                .await
                .map_err(|e| StoreError::connect(location, e))?,
            Ok(Err(e)) => return Err(StoreError::connect(location, e)),
            Err(_) => return Err(StoreError::connect(location, sqlx::Error::PoolTimedOut)),
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers (the server) go on while a sync writes.
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        // In WAL mode NORMAL syncs at checkpoints, not at every commit: a crash of
                        // plughub loses nothing, a power cut may lose the last commits but never
                        // corrupts the store; a commit no longer waits for the disk (every execution
                        // commits its record).
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| StoreError::connect(location, e))?;
        let store = Store {
            event_writer: Default::default(),
            groups_seen: Default::default(),
            listen_url: (backend == Backend::Postgres).then(|| url.clone()),
            metrics: Default::default(),
            pool,
            backend,
            description: location.describe(),
        };
        if backend == Backend::Postgres {
            let cleaned = events::clean_old_nuls(&store.pool).await?;
            if cleaned > 0 {
                tracing::info!(
                    events = cleaned,
                    "NULs in older events' metadata replaced before the migrations"
                );
            }
        }
        store
            .migrator()
            .run(&store.pool)
            .await
            .map_err(StoreError::Migrate)?;
        // A permit is only ever held inside a transaction; one found at rest (a database edited by
        // hand) would let anyone delete events, so it goes.
        sqlx::query("DELETE FROM event_deletion_permits")
            .execute(&store.pool)
            .await?;
        Ok(store)
    }

    /// Whether `location` holds a plughub store already (a restore goes only where none is): the SQLite
    /// file exists, or the database has plughub's migrations table.
    pub async fn exists_at(location: &Location) -> Result<bool> {
        match location {
            Location::DataDir(dir) => Ok(dir.join(Location::SQLITE_FILE).exists()),
            Location::Url(_) => {
                sqlx::any::install_default_drivers();
                let (url, _) = location.connect_url()?;
                let mut conn = sqlx::AnyConnection::connect(&url)
                    .await
                    .map_err(|e| StoreError::connect(location, e))?;
                let found: Option<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_name = '_sqlx_migrations' AND table_schema = current_schema()",
                )
                .fetch_optional(&mut conn)
                .await?;
                let _ = conn.close().await;
                Ok(found.is_some())
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where the store lives, for messages (a PostgreSQL URL is shown without its password).
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Starts a transaction; its mutations take their events, and nothing is visible until `commit`.
    pub async fn begin(&self) -> Result<StoreTx<'static>> {
        let started = std::time::Instant::now();
        // SQLite's plain BEGIN reads first and asks for the write lock at the first write; when another
        // connection wrote in between, that upgrade fails at once with "database is locked" (a snapshot
        // that is no longer the newest cannot be written from, so the busy timeout never waits for it).
        // BEGIN IMMEDIATE takes the write lock up front, where the busy timeout does wait. Transactions
        // here are for writing; reads go through the pool.
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        self.metrics.observe(timing::Kind::Begin, started);
        Ok(StoreTx::new(tx?, self.metrics.clone()))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// What the store's statements have cost, to register with a server's series.
    pub fn metrics(&self) -> &StoreMetrics {
        &self.metrics
    }

    /// A consistent copy of the SQLite store in the new file `path`, taken while it serves: `VACUUM INTO`
    /// reads one snapshot (writers go on meanwhile) and writes a compact database with no log beside it.
    pub async fn copy_sqlite_into(&self, path: &std::path::Path) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Invalid(
                "a file copy is of the SQLite store; PostgreSQL is copied with pg_dump".into(),
            ));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path.display().to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The newest migration applied: the schema's version, for a backup's manifest.
    pub async fn schema_version(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Whether the store answers a statement now.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The versions of this binary's migrations the store has not applied: none once `open` ran, unless
    /// the schema was changed under the server (a restore of an older backup on the same database).
    pub async fn migrations_missing(&self) -> Result<Vec<i64>> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&self.pool)
                .await?;
        Ok(self
            .migrator()
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect())
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// The pool, its statements timed.
    pub(crate) fn pool(&self) -> timing::Timed<'_, &AnyPool> {
        timing::Timed {
            inner: &self.pool,
            metrics: &self.metrics,
        }
    }

    /// The pool itself, to take a connection from.
    pub(crate) fn raw_pool(&self) -> &AnyPool {
        &self.pool
    }
}
