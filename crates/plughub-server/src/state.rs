use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use plughub_domain::sign_in::Network;
use std::sync::Arc;
use std::time::Duration;

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
    /// What /metrics serves: the HTTP requests, installs, the catalogue, the store's statements, and
    /// the runner's series.
    pub metrics: Arc<crate::metrics::ServerMetrics>,
    /// Who a request comes from (tokens, sessions), on the same store as the catalogue.
    pub accounts: Accounts,
    /// Installed plugins (install, configure, grant, uninstall); `None` serves the catalogue only.
    pub lifecycle: Option<Lifecycle>,
    /// Where requests come from, and how long what they were allowed holds.
    pub access: Access,
    /// Catalogue syncs started through the API: their sources, and the one running.
    pub catalog_syncs: crate::catalog_sync::CatalogSyncs,
    /// Notifications and webhook deliveries (its address policy checks webhook targets).
    pub notifier: plughub_notify::Notifier,
    /// The address clients reach this server at (`--public-url`), for absolute URLs it hands out (the
    /// tarballs of `/npm/`); none: taken from each request's Host header, over http.
    pub public_url: Option<String>,
    /// The npm registry `/npm/` passes names not published to plughub through from: the default
    /// registry of the server's npm configuration, without its credentials (`/npm/` is public).
    pub npm_upstream: Option<plughub_npm::NpmClient>,
    /// `@scope`s (lower case) the server's npm configuration routes to a registry of their own.
    pub npm_routed_scopes: Vec<String>,
    /// plughub as a registry: publishing, its checks and moderation, publish tokens.
    pub registry: plughub_registry::Registry,
    /// Becomes true once the server is shutting down: `/readyz` says so, and live streams of
    /// executions end so that their connections let the server stop.
    pub closing: tokio::sync::watch::Receiver<bool>,
}

/// The operator's settings of who a request comes from, and how long an open stream's check holds.
#[derive(Clone, Debug)]
pub struct Access {
    /// Reverse proxies whose `X-Forwarded-For` is believed (`--trusted-proxy`); none by default, so
    /// that no client can pick the address its failed sign-ins are counted under.
    pub trusted_proxies: Vec<Network>,
    /// How often a live stream checks again that its caller may still see it, and ends if not.
    pub stream_recheck: Duration,
}

/// Every 5 s: with a token's check reused for up to `TOKEN_RECHECK` (1 s), a revocation or a removed
/// role made on any server ends a stream within 10 s.
pub const STREAM_RECHECK: Duration = Duration::from_secs(5);

impl Default for Access {
    fn default() -> Access {
        Access {
            trusted_proxies: Vec::new(),
            stream_recheck: STREAM_RECHECK,
        }
    }
}

/// What changes and runs installed plugins: the runner, with its installer and the keys that seal
/// their secrets.
#[derive(Clone)]
pub struct Lifecycle {
    pub runner: plughub_runner::Runner,
}

impl AppState {
    /// The state of a server on `catalog` and `accounts`, running plugins with `lifecycle` when given.
    pub fn new(
        catalog: Arc<Catalog>,
        accounts: Accounts,
        lifecycle: Option<Lifecycle>,
    ) -> AppState {
        let metrics = crate::metrics::ServerMetrics::new(
            lifecycle.as_ref().map(|l| l.runner.metrics()),
            catalog.store().metrics(),
        );
        let npm_config = lifecycle
            .as_ref()
            .map(|l| l.runner.installer().npm().config());
        let npm_upstream =
            npm_config.map(|c| plughub_npm::NpmClient::new(&upstream_url(&c.registry)));
        let npm_routed_scopes = npm_config
            .map(|c| c.scopes.keys().cloned().collect())
            .unwrap_or_default();
        AppState {
            public_url: None,
            npm_upstream,
            npm_routed_scopes,
            metrics: Arc::new(metrics),
            accounts,
            lifecycle,
            access: Access::default(),
            catalog_syncs: Default::default(),
            notifier: plughub_notify::Notifier::new(catalog.store().clone()),
            // npm of the npm configuration is asked whether it has a namespace before one is published.
            registry: plughub_registry::Registry::from_npm_config(catalog.store().clone()),
            catalog,
            // Never closing, until `crate::serve` gives it its own.
            closing: tokio::sync::watch::channel(false).1,
        }
        .with_notifier_keys()
    }

    /// Gives the notifier the key ring of the lifecycle, which seals webhook secrets as it seals
    /// plugins' secret settings; a server without lifecycle has none (it makes and sends no webhooks).
    fn with_notifier_keys(mut self) -> AppState {
        if let Some(keys) = self.lifecycle.as_ref().map(|l| l.runner.shared_keys()) {
            self.notifier = self.notifier.with_keys(keys);
        }
        self
    }

    /// The same, syncing the catalogue from `options` when a platform owner asks.
    pub fn with_catalog_sync(mut self, options: plughub_catalog::SyncOptions) -> AppState {
        self.catalog_syncs = crate::catalog_sync::CatalogSyncs::new(options);
        self
    }

    /// The same, telling of events with `notifier` (the operator's webhook policy, the retries).
    /// It seals and opens webhook secrets with the lifecycle's key ring.
    pub fn with_notifier(mut self, notifier: plughub_notify::Notifier) -> AppState {
        self.notifier = notifier;
        self.with_notifier_keys()
    }

    /// The same, handing out URLs under `url` (`https://plughub.example.org`).
    pub fn with_public_url(mut self, url: Option<String>) -> AppState {
        self.public_url = url.map(|u| u.trim_end_matches('/').to_string());
        self
    }

    /// The same, passing names not published to plughub through from `registry` on `/npm/`.
    pub fn with_npm_upstream(mut self, registry: &str) -> AppState {
        self.npm_upstream = Some(plughub_npm::NpmClient::new(&upstream_url(registry)));
        self
    }

    /// The same, with the scopes the server's npm configuration sends to registries of their own: the
    /// public pass-through never answers for them (their packages are not the default registry's).
    pub fn with_npm_routed_scopes(mut self, scopes: Vec<String>) -> AppState {
        self.npm_routed_scopes = scopes;
        self
    }

    /// The same, publishing with `registry` (its npm registry and limits).
    pub fn with_registry(mut self, registry: plughub_registry::Registry) -> AppState {
        self.registry = registry;
        self
    }

    /// The same, with the operator's `access` settings.
    pub fn with_access(mut self, access: Access) -> AppState {
        self.access = access;
        self
    }
}

/// The upstream of the public pass-through: the operator's registry URL without its user name and
/// password (reqwest would send them as Basic credentials to anyone's request).
fn upstream_url(registry: &str) -> String {
    plughub_npm::without_userinfo(registry)
}
