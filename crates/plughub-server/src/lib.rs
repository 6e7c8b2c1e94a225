#![doc = include_str!("../README.md")]

mod auth;
mod catalog_sync;
mod csrf;
mod error;
mod handlers;
mod headers;
mod integers;
mod json;
mod live;
mod metrics;
mod openapi;
mod params;
mod router;
mod state;
mod ui;

pub use catalog_sync::SyncState;
pub use openapi::ApiDoc;
pub use router::router;
pub use state::{Access, AppState, Lifecycle, STREAM_RECHECK};

use std::net::SocketAddr;

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
