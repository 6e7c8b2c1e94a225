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
mod request_id;
mod router;
mod state;
mod ui;

pub use catalog_sync::SyncState;
pub use openapi::ApiDoc;
pub use router::router;
pub use state::{Access, AppState, Lifecycle, STREAM_RECHECK};

use std::net::SocketAddr;

/// Serves until `shutdown` resolves, then shuts down gracefully: no new connection is accepted, `/readyz`
/// answers 503, live streams of executions end, and the requests in flight (runs among them) are
/// waited for, for `deadline` at most. Returns how many requests were still being answered when the deadline
/// passed (0 when everything in flight finished); their requests are cut when the runtime ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    mut state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    deadline: std::time::Duration,
) -> std::io::Result<usize> {
    let (closing, closed) = tokio::sync::watch::channel(false);
    state.closing = closed.clone();
    let open = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = router(state).layer(axum::middleware::from_fn_with_state(
        open.clone(),
        count_open,
    ));
    let signal = async move {
        shutdown.await;
        tracing::info!(
            deadline_seconds = deadline.as_secs(),
            "shutting down: no new connections; waiting for the requests in flight"
        );
        let _ = closing.send(true);
    };
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal);
    let mut closed = closed;
    let deadline_passed = async move {
        if closed.wait_for(|c| *c).await.is_ok() {
            tokio::time::sleep(deadline).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = server.into_future() => served.map(|()| 0),
        () = deadline_passed => {
            let cut = open.load(std::sync::atomic::Ordering::SeqCst);
            tracing::warn!(requests = cut, "the shutdown deadline passed with requests in flight: they are cut");
            Ok(cut)
        }
    }
}

/// Counts the requests being answered, for the shutdown's report.
async fn count_open(
    axum::extract::State(open): axum::extract::State<
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    >,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use std::sync::atomic::Ordering;
    struct Leaving(std::sync::Arc<std::sync::atomic::AtomicUsize>);
    impl Drop for Leaving {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    open.fetch_add(1, Ordering::SeqCst);
    let _leaving = Leaving(open.clone());
    next.run(request).await
}
