//! Deprecation of catalogue plugins. npm's own `deprecated` field comes with the catalogue's data (the
//! latest version's, in `PluginView::deprecated`); a platform owner may also deprecate a plugin, naming
//! a replacement, and lift it again. Both count as deprecated: hidden from search unless asked for
//! (`deprecated=any`), and shown with the replacement wherever the plugin appears.

use crate::{MarketError, Result};
use plughub_catalog::Catalog;
use plughub_domain::ThingKind;
use plughub_store::DeprecationRecord;
use serde::Serialize;

/// The longest reason kept.
pub const MAX_REASON: usize = 500;

/// A platform owner's deprecation of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Deprecation {
    pub plugin: String,
    /// The catalogue plugin to use instead.
    pub replacement: Option<String>,
    pub reason: String,
    pub deprecated_at: String,
}

impl From<DeprecationRecord> for Deprecation {
    fn from(r: DeprecationRecord) -> Self {
        Deprecation {
            plugin: r.plugin,
            replacement: r.replacement,
            reason: r.reason,
            deprecated_at: r.deprecated_at,
        }
    }
}

/// Platform deprecations, on the catalogue (whose names they take, and whose search they change).
pub struct Deprecations<'c> {
    catalog: &'c Catalog,
}

impl<'c> Deprecations<'c> {
    pub fn new(catalog: &'c Catalog) -> Deprecations<'c> {
        Deprecations { catalog }
    }

    /// Every platform deprecation, by plugin.
    pub async fn list(&self) -> Result<Vec<Deprecation>> {
        Ok(self
            .catalog
            .store()
            .plugin_deprecations()
            .await?
            .into_iter()
            .map(Deprecation::from)
            .collect())
    }

    /// A platform owner (`actor`) deprecates `plugin`, naming what to use instead (or replaces its
    /// deprecation). Both names are the catalogue's, by any usual spelling; the search index follows at
    /// once.
    pub async fn deprecate(
        &self,
        plugin: &str,
        replacement: Option<&str>,
        reason: &str,
        actor: &str,
    ) -> Result<Deprecation> {
        let (name, target) = self.entry(plugin).await?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(MarketError::Invalid(
                "say why the plugin is deprecated (reason): its users read it".into(),
            ));
        }
        if reason.chars().count() > MAX_REASON {
            return Err(MarketError::Invalid(format!(
                "the reason is longer than {MAX_REASON} characters: shorten it"
            )));
        }
        let replacement = match replacement.map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(r) => {
                let (replacement, _) = self.entry(r).await.map_err(|_| {
                    MarketError::Invalid(format!(
                        "the replacement '{r}' is not in the catalogue: name a catalogue plugin, or none"
                    ))
                })?;
                if replacement == name {
                    return Err(MarketError::Invalid(
                        "a plugin cannot be its own replacement".into(),
                    ));
                }
                Some(replacement)
            }
        };
        let record = DeprecationRecord {
            plugin: name,
            replacement,
            reason: reason.to_string(),
            deprecated_by: actor.to_string(),
            deprecated_at: plughub_store::now_rfc3339(),
        };
        let mut tx = self.catalog.store().begin().await?;
        tx.put_plugin_deprecation(&record, &target).await?;
        tx.commit().await?;
        self.refresh().await?;
        Ok(record.into())
    }

    /// A platform owner (`actor`) lifts their deprecation of `plugin`, returned as it was. npm's own deprecation, if any,
    /// stays: only its publisher can lift it.
    pub async fn undeprecate(&self, plugin: &str, actor: &str) -> Result<Deprecation> {
        let (name, target) = self.entry(plugin).await?;
        let lifted = self.catalog.store().plugin_deprecation(&name).await?;
        let mut tx = self.catalog.store().begin().await?;
        let done = tx.remove_plugin_deprecation(&name, &target, actor).await?;
        tx.commit().await?;
        let Some(lifted) = lifted.filter(|_| done) else {
            return Err(MarketError::NotFound(format!(
                "{name} is not deprecated by a platform owner"
            )));
        };
        self.refresh().await?;
        Ok(lifted.into())
    }

    /// The catalogue's name and entry id of the plugin `name` means.
    async fn entry(&self, name: &str) -> Result<(String, String)> {
        let found = self.catalog.resolve_name(name).ok_or_else(|| {
            MarketError::NotFound(format!(
                "no plugin named '{name}' in the catalogue (search it with GET /api/plugins?q=…)"
            ))
        })?;
        let thing = self
            .catalog
            .store()
            .thing_by_name(ThingKind::ElizaosPlugin, None, &found)
            .await?
            .ok_or_else(|| {
                MarketError::NotFound(format!("no plugin named '{found}' in the catalogue"))
            })?;
        Ok((found, thing.id))
    }

    async fn refresh(&self) -> Result<()> {
        self.catalog
            .refresh()
            .await
            .map_err(|e| MarketError::Catalog(e.to_string()))
    }
}
