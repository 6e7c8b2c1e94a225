//! `plughub serve`: the server, with the catalogue usable at once (the starter, when nothing else is there)
//! and a live sync in the background that replaces it.

use crate::cli::{ServeArgs, StoreArgs};
use crate::context;
use anyhow::{Context, Result};
use plughub_catalog::sync::NoProgress;
use plughub_server::AppState;
use std::sync::Arc;

pub async fn run(store_args: &StoreArgs, args: ServeArgs) -> Result<()> {
    let catalog = Arc::new(context::open_catalog(store_args).await?);
    let status = catalog.status().await?;
    tracing::info!(store = %status.store, plugins = status.plugins, "catalogue loaded");
    if status.starter_only {
        tracing::info!(
            generated_at = status.starter_generated_at.as_deref().unwrap_or("?"),
            "serving the starter catalogue carried by plughub until a live sync succeeds"
        );
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another server using it? try --listen 127.0.0.1:0)",
                args.listen
            )
        })?;
    let address = listener.local_addr()?;
    // The first start makes the platform owner, and says once how to log in.
    let accounts = plughub_accounts::Accounts::new(catalog.store().clone());
    if let Some(owner) = accounts.first_start("serve").await? {
        eprintln!(
            "first start: the platform owner is {} with the password {} (shown this once). Make people and tokens with `plughub admin create-user` and `plughub admin create-token`.",
            owner.email, owner.password
        );
    }
    // The line scripts and tests wait for; keep its shape.
    crate::output::out!("plughub listening on http://{address}");

    if !args.no_sync {
        match context::sync_options(&args.sources) {
            Ok(options) => {
                let catalog = catalog.clone();
                tokio::spawn(async move {
                    match catalog.sync(&options, &NoProgress).await {
                        Ok(report) => {
                            tracing::info!(status = %report.status, discovered = report.discovered,
                            updated = report.updated, total = report.total, "background catalogue sync finished")
                        }
                        Err(plughub_catalog::CatalogError::TooSoon { .. }) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "background catalogue sync failed; the catalogue is unchanged")
                        }
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "no background catalogue sync"),
        }
    }

    plughub_server::serve(
        listener,
        AppState {
            catalog,
            executor: std::sync::Arc::new(plughub_engine::Executor::new(
                Default::default(),
                Default::default(),
            )),
            accounts,
            lifecycle: Some(lifecycle(store_args).await?),
        },
        shutdown_signal(),
    )
    .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// The launcher of this machine's data directory (installer, keys, sandbox), for the API's lifecycle
/// routes.
async fn lifecycle(store_args: &StoreArgs) -> Result<plughub_server::Lifecycle> {
    Ok(plughub_server::Lifecycle {
        launcher: crate::commands::run::launcher(store_args).await?,
    })
}
