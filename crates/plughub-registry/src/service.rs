//! The registry over the store: its limits, who publishes, and what its operations share (finding a
//! version in a state, the catalogue entry of a package). The operations are in the modules beside:
//! `publish` (an upload and its checks), `moderation` (release, reject, blocklist, namespace decisions),
//! `versions` (unpublish, dist-tags), `tokens` (publish tokens), `entry` (the catalogue entry).

use crate::{RegistryError, Result};
use plughub_domain::ThingKind;
use plughub_npm::NpmClient;
use plughub_store::{RegistryVersionRecord, Store};

/// How large an upload may be. All configurable; the defaults are generous for plugins, which are a few
/// hundred kilobytes built.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_tarball_bytes: u64,
    pub max_unpacked_bytes: u64,
    pub max_files: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_tarball_bytes: 10 << 20,
            max_unpacked_bytes: 50 << 20,
            max_files: 2000,
        }
    }
}

/// The installer's risk threshold by default (plughub-lifecycle's `risk_threshold`): a version the
/// installer would refuse is not published without a moderator.
pub const DEFAULT_RISK_THRESHOLD: u32 = 50;

/// Who publishes: a person signed in (with an API token or a session), or a publish token, which may
/// publish to its one namespace only.
#[derive(Debug, Clone)]
pub enum Publisher {
    Person(String),
    Token {
        person_id: String,
        namespace: String,
    },
}

impl Publisher {
    pub fn person_id(&self) -> &str {
        match self {
            Publisher::Person(id) | Publisher::Token { person_id: id, .. } => id,
        }
    }
}

/// plughub as a registry, over the store.
#[derive(Clone)]
pub struct Registry {
    pub(crate) store: Store,
    /// The npm registry asked whether it has a namespace; `None`: there is none to ask, and a namespace
    /// without a platform owner's decision is refused (fail closed). Unset until first needed when it comes from the npm configuration
    /// (reading that runs `npm`, which a server that never publishes should not wait for).
    pub(crate) npm: std::sync::Arc<std::sync::OnceLock<Option<NpmClient>>>,
    pub limits: Limits,
    pub risk_threshold: u32,
}

impl Registry {
    pub fn new(store: Store, npm: Option<NpmClient>) -> Registry {
        let registry = Registry::from_npm_config(store);
        let _ = registry.npm.set(npm);
        registry
    }

    /// A registry asking the npm registry of the npm configuration (`plughub_npm::npm_registry_url`),
    /// read when a namespace is first checked.
    pub fn from_npm_config(store: Store) -> Registry {
        Registry {
            store,
            npm: Default::default(),
            limits: Limits::default(),
            risk_threshold: DEFAULT_RISK_THRESHOLD,
        }
    }

    pub(crate) async fn npm(&self) -> Option<NpmClient> {
        if let Some(npm) = self.npm.get() {
            return npm.clone();
        }
        let url = tokio::task::spawn_blocking(plughub_npm::npm_registry_url)
            .await
            .ok()
            .and_then(Result::ok);
        // With the scopes (and their credentials) of the npm configuration: a scope it routes to a
        // registry of its own is looked for there.
        self.npm
            .get_or_init(|| {
                url.map(|u| NpmClient::with_config(plughub_npm::NpmConfig::with_files(&u)))
            })
            .clone()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// One version of `name` in `status`, or not found / conflict saying where it stands.
    pub(crate) async fn version_in(
        &self,
        name: &str,
        version: &str,
        status: &str,
    ) -> Result<RegistryVersionRecord> {
        let record = self
            .store
            .registry_version(name, version)
            .await?
            .ok_or_else(|| {
                RegistryError::NotFound(format!(
                    "{name}@{version} was never published to plughub (GET /api/registry/packages/{name} lists its versions)"
                ))
            })?;
        if record.status != status {
            return Err(RegistryError::Conflict(format!(
                "{name}@{version} is {}, not {status}",
                record.status
            )));
        }
        Ok(record)
    }

    pub(crate) async fn entry_id(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .store
            .thing_by_name(ThingKind::ElizaosPlugin, None, name)
            .await?
            .map(|t| t.id))
    }
}
