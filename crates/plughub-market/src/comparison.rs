//! Plugins side by side: up to three, each with what the catalogue and its analysis know (versions,
//! compatibility, settings, permissions, findings and risk, package size and dependencies, deprecation,
//! publisher) and what plughub's own evidence says (rating, reputation, usage). Catalogue-wide figures
//! only: nothing of one organisation is in a comparison.

use crate::publishers::Publishers;
use crate::{MarketError, Result};
use plughub_catalog::{Catalog, CatalogError, PluginDetail};
use plughub_domain::catalog::Provenance;
use plughub_domain::config_schema::ConfigSchema;
use plughub_domain::names::namespace_of;
use plughub_domain::permissions::Permissions;
use plughub_domain::{CoreMajor, RiskLevel};
use serde::Serialize;
use std::collections::BTreeMap;

/// The most plugins compared at once.
pub const MAX_COMPARED: usize = 3;

/// A comparison: one column per plugin, in the order asked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Comparison {
    pub plugins: Vec<ComparedPlugin>,
}

/// One plugin's column.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComparedPlugin {
    pub name: String,
    pub description: Option<String>,
    pub latest_version: Option<String>,
    /// How many versions npm lists.
    pub versions: usize,
    /// When its newest version was published.
    pub updated_at: Option<String>,
    pub license: Option<String>,
    /// The elizaOS core majors it works with, and how that is known.
    #[schema(value_type = Object)]
    pub compat: BTreeMap<CoreMajor, plughub_catalog::compat::Compat>,
    /// Why it is deprecated (npm's reason or a platform owner's), if it is.
    pub deprecated: Option<String>,
    /// What a platform owner named to use instead.
    pub replacement: Option<String>,
    pub publisher: PublisherBrief,
    /// The settings it declares.
    pub settings: ConfigSchema,
    /// The analysis of its latest analysed package, where there is one.
    pub analysis: Option<AnalysisBrief>,
    /// The unpacked size of its latest version's tarball in bytes, where npm gives it.
    pub unpacked_size: Option<u64>,
    /// Its latest version's runtime dependencies (name → range), where npm gives them.
    pub dependencies: Option<BTreeMap<String, String>>,
    /// npm's provenance attestation of its latest version, shown as information: its signatures are
    /// not checked (offline, the transparency log cannot be reached).
    pub provenance: Option<Provenance>,
    /// Its rating from reviews: not available until reviews are merged into this server.
    pub rating: NotAvailable,
    /// Its reputation and the parts of it: not available until reputation is merged.
    pub reputation: NotAvailable,
    /// Installs, executions, error rate and latency across organisations: not available until analytics
    /// is merged.
    pub usage: NotAvailable,
}

/// The publisher of a plugin, in short.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublisherBrief {
    pub namespace: String,
    /// `unclaimed` or `held`.
    pub status: String,
    pub verified: bool,
}

/// What the static analysis of the package found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AnalysisBrief {
    /// The version analysed.
    pub version: String,
    pub permissions: Permissions,
    /// Whether the package declares its permissions itself (else they were inferred).
    pub permissions_declared: bool,
    #[schema(maximum = 100)]
    pub risk_score: u32,
    pub risk_level: RiskLevel,
    pub findings: u32,
}

/// A figure this server cannot give yet, said so rather than made up.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NotAvailable {
    /// Always false.
    pub available: bool,
    pub reason: String,
}

impl NotAvailable {
    fn because(reason: &str) -> NotAvailable {
        NotAvailable {
            available: false,
            reason: reason.to_string(),
        }
    }
}

/// The plugins a `plugins` list names: comma-separated, each part a name (blanks around it dropped),
/// 1 to `MAX_COMPARED` parts; `None` when a part is blank or there are more. The same rule as the API
/// document's pattern for the parameter, so what it says is refused is refused.
pub fn plugin_list(text: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    if parts.len() > MAX_COMPARED || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    Some(parts.into_iter().map(str::to_string).collect())
}

/// Compares `names` (1 to `MAX_COMPARED`, by any usual spelling). More, or none, is invalid; an
/// unknown name is not found, with the closest names.
pub async fn compare(catalog: &Catalog, names: &[String]) -> Result<Comparison> {
    if names.is_empty() || names.len() > MAX_COMPARED {
        return Err(MarketError::Invalid(format!(
            "compare 1 to {MAX_COMPARED} plugins (you named {}): e.g. plugins=openai,anthropic,groq",
            names.len()
        )));
    }
    let publishers = Publishers::new(catalog.store().clone());
    let mut plugins = Vec::with_capacity(names.len());
    for name in names {
        let detail = catalog.info(name).await.map_err(|e| match e {
            CatalogError::UnknownPlugin { name, suggestions } => {
                MarketError::NotFound(if suggestions.is_empty() {
                    format!("no plugin named '{name}' in the catalogue")
                } else {
                    format!(
                        "no plugin named '{name}' in the catalogue; did you mean {}?",
                        suggestions.join(", ")
                    )
                })
            }
            other => MarketError::Catalog(other.to_string()),
        })?;
        // Two spellings of one plugin (`openai`, `@elizaos/plugin-openai`) make one column.
        if plugins
            .iter()
            .any(|p: &ComparedPlugin| p.name == detail.view.name)
        {
            continue;
        }
        let namespace = namespace_of(&detail.view.name);
        let publisher = publishers.publisher(namespace).await?;
        plugins.push(column(
            detail,
            PublisherBrief {
                namespace: publisher.namespace,
                status: publisher.status,
                verified: publisher.verified,
            },
        ));
    }
    Ok(Comparison { plugins })
}

fn column(detail: PluginDetail, publisher: PublisherBrief) -> ComparedPlugin {
    let view = detail.view;
    let latest = detail
        .releases
        .iter()
        .find(|r| Some(&r.version) == view.latest_version.as_ref());
    ComparedPlugin {
        description: view.description,
        latest_version: view.latest_version.clone(),
        versions: view.versions,
        updated_at: view.updated_at,
        license: view.license,
        compat: view.compat,
        deprecated: view.deprecated,
        replacement: view.replacement,
        publisher,
        settings: detail.settings,
        analysis: detail.package.map(|p| AnalysisBrief {
            version: p.version,
            permissions: p.permissions,
            permissions_declared: p.permissions_declared,
            risk_score: p.risk_score,
            risk_level: p.risk_level,
            findings: p.findings,
        }),
        unpacked_size: latest.and_then(|r| r.unpacked_size),
        dependencies: latest.map(|r| r.dependencies.clone()),
        provenance: latest.and_then(|r| r.provenance.clone()),
        rating: NotAvailable::because("reviews are not part of this server yet"),
        reputation: NotAvailable::because("reputation is not part of this server yet"),
        usage: NotAvailable::because("usage analytics are not part of this server yet"),
        name: view.name,
    }
}
