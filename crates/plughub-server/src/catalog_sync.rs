//! Catalogue syncs a platform owner starts through the API: one at a time on a server, in the
//! background, from the sources the server was started with.

use crate::error::ApiError;
use axum::http::StatusCode;
use plughub_catalog::sync::NoProgress;
use plughub_catalog::{Catalog, CatalogError, SyncOptions};
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// What this server syncs the catalogue from, and the sync it is running.
#[derive(Clone, Default)]
pub struct CatalogSyncs {
    options: Option<Arc<SyncOptions>>,
    running: Arc<Mutex<Option<Running>>>,
}

#[derive(Clone)]
struct Running {
    started_at: String,
    started_by: String,
}

/// A server's catalogue sync: what it reads, and whether one runs now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncState {
    /// Whether this server is running a sync now.
    pub running: bool,
    /// When the running sync started (RFC 3339).
    pub started_at: Option<String>,
    /// Who started the running sync.
    pub started_by: Option<String>,
    /// What a sync started here reads: registry files or URLs, and `npm:<registry>`. Empty when this
    /// server has no sources (then a sync cannot be started here).
    pub sources: Vec<String>,
}

impl CatalogSyncs {
    /// Syncs from what `options` says.
    pub fn new(options: SyncOptions) -> CatalogSyncs {
        CatalogSyncs {
            options: Some(Arc::new(options)),
            running: Default::default(),
        }
    }

    pub fn state(&self) -> SyncState {
        let running = self.running.lock().expect("not poisoned").clone();
        let mut sources: Vec<String> = Vec::new();
        if let Some(options) = &self.options {
            sources.extend(options.registries.iter().cloned());
            if let Some(npm) = &options.npm_registry {
                sources.push(format!("npm:{npm}"));
            }
        }
        SyncState {
            running: running.is_some(),
            started_at: running.as_ref().map(|r| r.started_at.clone()),
            started_by: running.map(|r| r.started_by),
            sources,
        }
    }

    /// Starts a sync of `catalog` in the background, by `actor`: refused while one runs here
    /// (`sync_running`) or sooner than the sources' interval after the last (`too_soon`).
    pub async fn start(&self, catalog: Arc<Catalog>, actor: &str) -> Result<SyncState, ApiError> {
        let Some(options) = self.options.clone() else {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_sync_sources",
                "this server has no catalogue sources to sync from: sync with `plughub catalog sync` on its machine",
            ));
        };
        {
            let mut running = self.running.lock().expect("not poisoned");
            if let Some(r) = running.as_ref() {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "sync_running",
                    format!(
                        "a catalogue sync started by {} at {} is running: GET /api/catalog/status says when it ends",
                        r.started_by, r.started_at
                    ),
                ));
            }
            *running = Some(Running {
                started_at: plughub_store::now_rfc3339(),
                started_by: actor.to_string(),
            });
        }
        // The claim is held: clear it when this returns early or the sync ends, however it ends.
        let claim = Claim(self.running.clone());
        match plughub_catalog::sync::check_interval(catalog.store(), options.min_interval).await {
            Ok(()) => {}
            Err(CatalogError::TooSoon {
                ago_secs,
                interval_secs,
            }) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "too_soon",
                    format!(
                        "the last catalogue sync started {ago_secs} s ago; syncs run at most once every {interval_secs} s: try again in {} s",
                        interval_secs.saturating_sub(ago_secs).max(1)
                    ),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let state = self.state();
        let mut options = (*options).clone();
        options.actor = actor.to_string();
        tokio::spawn(async move {
            let _claim = claim;
            match catalog.sync(&options, &NoProgress).await {
                Ok(report) => {
                    tracing::info!(status = %report.status, discovered = report.discovered,
                    updated = report.updated, total = report.total, by = %options.actor, "catalogue sync finished")
                }
                Err(e) => {
                    tracing::warn!(error = %e, by = %options.actor, "catalogue sync failed; the catalogue is unchanged")
                }
            }
        });
        Ok(state)
    }
}

/// A sync's hold on its server's one running sync, let go when dropped.
struct Claim(Arc<Mutex<Option<Running>>>);

impl Drop for Claim {
    fn drop(&mut self) {
        *self.0.lock().expect("not poisoned") = None;
    }
}
