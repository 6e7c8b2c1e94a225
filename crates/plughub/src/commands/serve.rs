//! `plughub serve`: the server, with the catalogue usable at once (the starter, when nothing else is there)
//! and a live sync in the background that replaces it.

use crate::cli::{EgressMapArgs, ServeArgs, StoreArgs};
use crate::context;
use anyhow::{Context, Result};
use plughub_catalog::sync::NoProgress;
use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_server::AppState;
use std::sync::Arc;
use std::time::Duration;

pub async fn run(store_args: &StoreArgs, egress: &EgressMapArgs, args: ServeArgs) -> Result<()> {
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
        let owns = match &owner.org {
            Some(org) => format!("you own the platform and the organisation '{org}'"),
            None => "you own the platform".to_string(),
        };
        eprintln!(
            "first start: open http://{address}/login and sign in as {} with the password {} (shown this once): {owns}. Invite people from the Members page, or make them with `plughub admin create-user`.",
            owner.email, owner.password
        );
    }
    // The starting collections, once per store (plughub_market's seed module says why here and not in
    // a migration).
    let seeded = plughub_market::collections::Collections::new(&catalog)
        .seed_once()
        .await
        .context("cannot make the starting collections")?;
    if seeded > 0 {
        tracing::info!(collections = seeded, "made the starting collections");
    }
    // The line scripts and tests wait for; keep its shape.
    crate::output::out!("plughub listening on http://{address}");

    let sync_options = context::sync_options(&args.sources);
    if !args.no_sync {
        match &sync_options {
            Ok(options) => {
                let options = options.clone();
                let catalog = catalog.clone();
                tokio::spawn(async move {
                    match catalog.sync(&options, &NoProgress).await {
                        Ok(report) => {
                            tracing::info!(status = %report.status, discovered = report.discovered,
                            updated = report.updated, total = report.total, "background catalogue sync finished")
                        }
                        Err(plughub_catalog::CatalogError::TooSoon { .. }) => {}
                        Err(e @ plughub_catalog::CatalogError::SyncElsewhere) => {
                            tracing::info!("{e}")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "background catalogue sync failed; the catalogue is unchanged")
                        }
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "no background catalogue sync"),
        }
    }

    if args.catalog_poll > 0 {
        follow_catalog(catalog.clone(), Duration::from_secs(args.catalog_poll));
    }

    let mut state = app_state(
        store_args,
        egress,
        catalog,
        policy(&args),
        args.booted_workers,
    )
    .await?;
    // Platform owners may start a sync through the API (`POST /api/admin/catalog/sync`), from the same
    // sources, with --no-sync too.
    if let Ok(options) = sync_options {
        state = state.with_catalog_sync(options);
    }
    state.access.trusted_proxies = args.trusted_proxies.clone();
    if let Some(url) = &args.public_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        anyhow::bail!(
            "--public-url {url}: give an http:// or https:// URL, e.g. https://plughub.example.org"
        );
    }
    state = state.with_public_url(args.public_url.clone());
    if !args.trusted_proxies.is_empty() {
        tracing::info!(proxies = ?args.trusted_proxies.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "X-Forwarded-For is believed from these proxies only");
    }
    // Notifications and webhooks: the operator's address policy for webhook targets, and a round of
    // telling and delivering every few seconds.
    let store = state.catalog.store().clone();
    state = state.with_notifier(plughub_notify::Notifier::new(store).with_policy(
        plughub_notify::WebhookPolicy {
            allow_loopback: args.webhook_allow_loopback || args.webhook_loopback_only,
            trusted_addresses: args.webhook_trusted_addresses.clone(),
            loopback_only: args.webhook_loopback_only,
        },
    ));
    state.notifier.clone().spawn(Duration::from_secs(5));
    if let Some(lifecycle) = &state.lifecycle
        && args.update_check_every > 0
    {
        check_updates(
            lifecycle.runner.clone(),
            Duration::from_secs(args.update_check_every),
        );
    }
    if let Some(lifecycle) = &state.lifecycle {
        // Idle warm workers end, and those another server's change made stale, without waiting for a run.
        lifecycle.runner.spawn_warm_reaper(Duration::from_secs(30));
    }
    // Every analytics read rolls up the tail first; this keeps that tail to a minute's executions.
    let analytics = plughub_analytics::Analytics::new(state.catalog.store().clone());
    analytics.keep_rolling(Duration::from_secs(60));
    if args.retain_executions > 0 {
        analytics.keep_retaining(
            Duration::from_secs(args.retain_executions.saturating_mul(86_400)),
            Duration::from_secs(3_600),
        );
    }
    let runner = state.lifecycle.as_ref().map(|l| l.runner.clone());
    let store = state.catalog.store().clone();
    let served = plughub_server::serve(
        listener,
        state,
        shutdown_signal(),
        Duration::from_secs(args.shutdown_deadline),
    )
    .await;
    if let Some(runner) = runner {
        // Workers end (a run the deadline cut ends with its worker: recorded whole, or not at all), and
        // the other servers on the store need not wait for this one's leases to expire.
        runner.shut_down().await;
    }
    // Every event is written before its caller is answered; closing the pool ends its connections
    // cleanly (PostgreSQL sees no broken connection, SQLite checkpoints its log).
    store.close().await;
    let cut = served?;
    tracing::info!(cut_requests = cut, "plughub serve stopped");
    Ok(())
}

/// Several servers may share one store: a sync on one changes the catalogue under the others' search
/// indexes, so each looks for changes now and then and rebuilds its own.
fn follow_catalog(catalog: Arc<plughub_catalog::Catalog>, every: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is at once, and the index was just built.
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match catalog.refresh_if_changed().await {
                Ok(true) => tracing::info!(
                    plugins = catalog.index().len(),
                    "the catalogue was changed in the store (by another server or command); search index rebuilt"
                ),
                Ok(false) => {}
                // A database that is away for a moment: the index in hand is still served; try again.
                Err(e) => {
                    tracing::warn!(error = %e, "cannot check the catalogue for changes; will try again")
                }
            }
        }
    });
}

/// Looks for newer versions of installed plugins every `every` (the first time after one period: a
/// server that restarts often does not ask the registry at each start). The notifier tells of them.
fn check_updates(runner: plughub_runner::Runner, every: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match plughub_notify::updates::check(runner.installer()).await {
                Ok(notices) if !notices.is_empty() => {
                    tracing::info!(
                        notices = notices.len(),
                        "newer versions of installed plugins found"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "update check failed; will try again"),
            }
        }
    });
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

fn policy(args: &ServeArgs) -> ExecutionPolicy {
    let mut policy = ExecutionPolicy::default();
    if let Some(rate) = args.executions_per_minute {
        policy.executions_per_minute = rate;
    }
    if let Some(n) = args.recycle_after {
        policy.recycle_after = n;
    }
    if let Some(seconds) = args.recycle_age {
        policy.recycle_age = Duration::from_secs(seconds);
    }
    if let Some(mb) = args.recycle_memory_growth {
        policy.recycle_memory_growth_mb = mb;
    }
    if let Some(n) = args.breaker_failures {
        policy.breaker_failures = n;
    }
    policy
}

/// What the server's handlers use: the catalogue, the accounts on the same store, and the runner of
/// this machine's data directory (installer, keys, sandbox) under `policy`, keeping `booted_workers`
/// workers booted ahead of need for each set of limits it runs plugins under.
pub async fn app_state(
    store_args: &StoreArgs,
    egress: &EgressMapArgs,
    catalog: Arc<plughub_catalog::Catalog>,
    policy: ExecutionPolicy,
    booted_workers: usize,
) -> Result<AppState> {
    let accounts = plughub_accounts::Accounts::new(catalog.store().clone());
    // Installs and updates through the API resolve names with the catalogue it serves.
    let runner =
        crate::commands::run::runner_with(store_args, egress, policy, Some(catalog.clone()))
            .await?
            .with_booted_workers(booted_workers);
    let lifecycle = plughub_server::Lifecycle { runner };
    Ok(AppState::new(catalog, accounts, Some(lifecycle)))
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use std::time::Duration;

    fn policy_of(args: &[&str]) -> super::ExecutionPolicy {
        let cli = Cli::try_parse_from(["plughub", "serve"].iter().chain(args)).unwrap();
        let Command::Serve(serve) = cli.command else {
            panic!("not serve");
        };
        super::policy(&serve)
    }

    #[test]
    fn recycling_flags_set_the_policy_and_zero_turns_a_rule_off() {
        let default = policy_of(&[]);
        assert_eq!(default, super::ExecutionPolicy::default());
        assert_eq!(default.recycle_age, Duration::from_secs(3_600));
        assert_eq!(default.recycle_memory_growth_mb, 128);
        let set = policy_of(&[
            "--recycle-after",
            "50",
            "--recycle-age",
            "600",
            "--recycle-memory-growth",
            "64",
        ]);
        assert_eq!(set.recycle_after, 50);
        assert_eq!(set.recycle_age, Duration::from_secs(600));
        assert_eq!(set.recycle_memory_growth_mb, 64);
        let off = policy_of(&["--recycle-age", "0", "--recycle-memory-growth", "0"]);
        assert_eq!(off.recycle_age, Duration::ZERO);
        assert!(!off.recycles_by_memory());
        assert_eq!(off.recycle_reason(99, Duration::MAX, u64::MAX), None);
    }
}
