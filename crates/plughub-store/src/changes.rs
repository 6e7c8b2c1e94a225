//! What changed in the store, heard by every server on it. On PostgreSQL each appended event is
//! announced with `NOTIFY` in the transaction that writes it (so it is heard once committed, never
//! before), and each server listens on one connection of its own; a server that lost that connection
//! hears nothing until it is back, so it then says `Resync`: whoever follows something reads it again.
//! On SQLite there is one server, and no announcement: followers read the store as before.

use crate::{Backend, Result, Store};
use plughub_domain::{EventType, StoredEvent};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use std::time::Duration;
use tokio::sync::broadcast;

/// The channel events are announced on.
const CHANNEL: &str = "plughub_events";

/// The name the listening connection gives itself (`application_name`), to be found among the
/// server's connections.
pub const LISTENER_NAME: &str = "plughub-listener";

/// A change heard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Events were appended: the newest `seq` of `group` (none: the platform's), and for an event that
    /// changes an installed plugin, its type and target.
    Appended {
        group: Option<String>,
        seq: i64,
        event_type: Option<String>,
        target: Option<String>,
    },
    /// Changes may have been missed (the listener was away, or a follower fell behind): read again.
    Resync,
}

/// Executions are announced once per group and write (many at a time); other events one by one, with
/// what they changed.
fn is_run_record(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::PluginActionExecuted
            | EventType::PluginErrorOccurred
            | EventType::PluginAttemptFailed
            | EventType::PluginNetworkRequest
    )
}

/// Announces `stored` on `conn`'s transaction (PostgreSQL only; a no-op elsewhere).
pub(crate) async fn announce(conn: &mut AnyConnection, stored: &[StoredEvent]) -> Result<()> {
    if conn.backend_name() != "PostgreSQL" || stored.is_empty() {
        return Ok(());
    }
    let mut changes: Vec<Change> = Vec::new();
    for event in stored {
        if is_run_record(event.event_type) {
            match changes.iter_mut().find(|c| {
                matches!(c, Change::Appended { group, event_type: None, .. } if *group == event.group_id)
            }) {
                Some(Change::Appended { seq, .. }) => *seq = (*seq).max(event.seq),
                _ => changes.push(Change::Appended {
                    group: event.group_id.clone(),
                    seq: event.seq,
                    event_type: None,
                    target: None,
                }),
            }
        } else {
            changes.push(Change::Appended {
                group: event.group_id.clone(),
                seq: event.seq,
                event_type: Some(event.event_type.as_str().to_string()),
                target: event.target.clone(),
            });
        }
    }
    for change in changes {
        let payload = serde_json::to_string(&change).expect("changes serialise");
        // A payload is at most 8,000 bytes: ids and a type name are far below.
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The announcements this process hears, one listening connection per database however many handles
/// on it the process opened, started on first use.
static LISTENERS: std::sync::Mutex<Vec<(String, broadcast::Sender<Change>)>> =
    std::sync::Mutex::new(Vec::new());

impl Store {
    /// The changes every server on this store makes, as they are committed (PostgreSQL); `None` on
    /// SQLite, where followers read the store themselves.
    pub fn changes(&self) -> Option<broadcast::Receiver<Change>> {
        if self.backend() != Backend::Postgres {
            return None;
        }
        let url = self.listen_url.clone()?;
        let mut listeners = LISTENERS.lock().expect("not poisoned");
        // One whose task ended (nobody followed it any more) is started again.
        listeners.retain(|(_, sender)| sender.receiver_count() > 0);
        if let Some((_, sender)) = listeners.iter().find(|(u, _)| *u == url) {
            return Some(sender.subscribe());
        }
        let (sender, receiver) = broadcast::channel(1024);
        tokio::spawn(listen(url.clone(), sender.clone()));
        listeners.push((url, sender));
        Some(receiver)
    }
}

/// Listens for as long as anyone follows; reconnects when the connection is lost, then says `Resync`.
async fn listen(url: String, sender: broadcast::Sender<Change>) {
    let url = with_application_name(&url);
    let mut wait = Duration::from_millis(200);
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect(&url).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other servers' changes; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "cannot listen for other servers' changes; trying again");
            tokio::time::sleep(wait).await;
            continue;
        }
        wait = Duration::from_millis(200);
        // Whatever was announced while no one listened is read again by those who follow it.
        let _ = sender.send(Change::Resync);
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if let Ok(change) = serde_json::from_str::<Change>(notification.payload()) {
                        let _ = sender.send(change);
                    }
                }
                // The connection was lost: a new one, then a resync.
                Ok(None) | Err(_) => {
                    tracing::info!(
                        "the connection that hears other servers' changes was lost; reconnecting"
                    );
                    break;
                }
            }
            if sender.receiver_count() == 0 {
                // Nobody follows any more (the server is stopping).
                return;
            }
        }
    }
}

fn with_application_name(url: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}application_name={LISTENER_NAME}")
}

/// The advisory lock's key for catalogue syncs: any number no other program on the database uses.
pub const CATALOG_SYNC_LOCK: i64 = 0x706c_7567_6875_6201;

/// Held while this server syncs the catalogue. On PostgreSQL it is a transaction's advisory lock, let go
/// when the transaction ends, which dropping this does however the sync ends (a server that dies lets it
/// go with its connection).
pub struct CatalogSyncLock {
    _held: Option<sqlx::Transaction<'static, sqlx::Any>>,
}

impl Store {
    /// The right to sync the catalogue now, or `None` when another server on the store is syncing it.
    /// On SQLite, with one server, always granted.
    pub async fn try_lock_catalog_sync(&self) -> Result<Option<CatalogSyncLock>> {
        if self.backend() != Backend::Postgres {
            return Ok(Some(CatalogSyncLock { _held: None }));
        }
        let mut tx = self.raw_pool().begin().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(CATALOG_SYNC_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        Ok(locked.then_some(CatalogSyncLock { _held: Some(tx) }))
    }
}
