//! The web UI's catalogue and detail pages at the starter catalogue's size (386 plugins): the server's
//! time to answer each (p50, p99 over repeated requests through the router, in process, one request at
//! a time) and what a first visit transfers (the page, its stylesheet, script and icon; no compression).
//! Run: cargo bench -p plughub-server --bench pages

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use plughub_server::{AppState, router};
use plughub_store::{Location, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const ROUNDS: usize = 300;

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Vec<u8>) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Location::DataDir(dir.path().join("data")))
        .await
        .unwrap();
    let catalog = Catalog::open(store.clone()).await.unwrap();
    let plugins = catalog.status().await.unwrap().plugins;
    let app = router(AppState::new(Arc::new(catalog), Accounts::new(store), None));
    println!(
        "catalogue: {plugins} plugins (the starter), SQLite, {ROUNDS} requests per page after 20 to warm up"
    );
    println!(
        "{:<52} {:>9} {:>9} {:>10} {:>12}",
        "page", "p50 ms", "p99 ms", "HTML KB", "first load KB"
    );
    for uri in [
        "/plugins",
        "/plugins?q=discord",
        "/plugins?q=send+messages+to+telegram&kind=action&sort=stars",
        "/plugins?page=10",
        "/plugins/@elizaos/plugin-discord",
        "/plugins/@elizaos/plugin-solana",
        "/plugins/@elizaos/plugin-openai",
    ] {
        let (status, html) = get(&app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        // A first visit also fetches what the page links from /assets (then kept for a year).
        let text = String::from_utf8_lossy(&html).into_owned();
        let mut assets: Vec<&str> = text
            .split('"')
            .filter(|s| s.starts_with("/assets/"))
            .collect();
        assets.sort_unstable();
        assets.dedup();
        let mut first_load = html.len();
        for asset in assets {
            let (status, bytes) = get(&app, asset).await;
            assert_eq!(status, StatusCode::OK, "{asset}");
            first_load += bytes.len();
        }
        for _ in 0..20 {
            get(&app, uri).await;
        }
        let mut times = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let (status, _) = get(&app, uri).await;
            times.push(started.elapsed());
            assert_eq!(status, StatusCode::OK);
        }
        times.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<52} {:>9.2} {:>9.2} {:>10.1} {:>12.1}",
            uri,
            ms(percentile(&times, 0.50)),
            ms(percentile(&times, 0.99)),
            html.len() as f64 / 1024.0,
            first_load as f64 / 1024.0
        );
    }
}
