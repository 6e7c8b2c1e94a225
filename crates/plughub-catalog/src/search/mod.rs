//! Search over the catalogue with tantivy: BM25 over name, description, topics, keywords, the components
//! the package declares and the README's sections, with English stemming, the field's synonyms, typo
//! tolerance and "did you mean"; all words first, then most; exact and normalised names first; facets and
//! filters; sorts; pages.

mod analysis;
mod document;
pub mod evaluation;
mod index;
mod query;
mod spelling;
mod synonyms;

pub use document::{ComponentText, Knowledge};
pub use index::SearchIndex;

use crate::compat::CompatStatus;
use crate::trials::{Runs, TrialMark};
use crate::view::PluginView;
use plughub_domain::CoreMajor;
use plughub_domain::PluginKind;
use plughub_domain::permissions::Permission;
use plughub_domain::rating::RatingSummary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    #[default]
    Relevance,
    Stars,
    Downloads,
    Updated,
    /// The reviews' average, then their count.
    Rating,
}

impl std::str::FromStr for SortOrder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "relevance" => Ok(SortOrder::Relevance),
            "stars" | "popularity" => Ok(SortOrder::Stars),
            "downloads" => Ok(SortOrder::Downloads),
            "updated" | "recent" => Ok(SortOrder::Updated),
            "rating" => Ok(SortOrder::Rating),
            other => Err(format!(
                "unknown sort '{other}' (expected relevance, stars, downloads, updated or rating)"
            )),
        }
    }
}

/// A search: words, filters, order and page. Every filter narrows; `None` leaves it open.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchRequest {
    pub query: String,
    pub topic: Option<String>,
    /// A core major the plugin must work with; unverified claims count unless `verified_compat_only`.
    pub compat: Option<CoreMajor>,
    pub verified_compat_only: bool,
    pub kind: Option<String>,
    pub license: Option<String>,
    /// Only plugins whose package asks for this permission (`network.external`, ...), or `none`: asks
    /// for nothing.
    pub permission: Option<String>,
    /// Only plugins known to ask for none of these (`network.external`: plugins that need no network).
    pub without_permissions: Vec<String>,
    /// Published under the `@elizaos` scope.
    pub verified: Option<bool>,
    /// `Some(false)` (the usual default) hides deprecated entries; `None` shows all.
    pub deprecated: Option<bool>,
    /// Only plugins whose reviews average at least this many stars (1 to 5); unreviewed ones have none.
    pub min_rating: Option<f64>,
    /// Only plugins that run on plughub (the trial of their newest tried version inited), that do
    /// not, or that were not tried.
    pub runs: Option<Runs>,
    pub sort: SortOrder,
    /// 1-based.
    pub page: usize,
    pub per_page: usize,
    /// Count the matches by topic, compatibility, license, kind, permission, verified, deprecated and
    /// runs.
    pub facets: bool,
}

impl SearchRequest {
    pub const DEFAULT_PER_PAGE: usize = 20;
    pub const MAX_PER_PAGE: usize = 100;

    /// Refuses filters that can only be mistakes (an unknown permission), saying what is known.
    pub fn check_filters(&self) -> Result<(), String> {
        if let Some(kind) = &self.kind
            && PluginKind::parse(kind.trim()).is_none()
            && kind.trim() != "unknown"
        {
            return Err(format!(
                "unknown kind '{kind}' (known: action, provider, evaluator, service, model, client, adapter, unknown)"
            ));
        }
        let named = self
            .permission
            .iter()
            .filter(|p| p.as_str() != "none")
            .chain(&self.without_permissions);
        for name in named {
            Permission::parse(name).map_err(|e| e.to_string())?;
        }
        if let Some(min) = self.min_rating
            && !(1.0..=5.0).contains(&min)
        {
            return Err(format!("min_rating is 1 to 5 stars, not {min}"));
        }
        Ok(())
    }

    /// A list of permission names as typed: comma-separated, blanks ignored.
    pub fn permission_list(text: &str) -> Vec<String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }

    pub fn new(query: impl Into<String>) -> SearchRequest {
        SearchRequest {
            query: query.into(),
            deprecated: Some(false),
            page: 1,
            per_page: Self::DEFAULT_PER_PAGE,
            ..Default::default()
        }
    }
}

/// One result: a summary of the entry, and its score when sorted by relevance.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchHit {
    pub name: String,
    pub description: Option<String>,
    pub latest_version: Option<String>,
    pub compat: BTreeMap<CoreMajor, CompatStatus>,
    /// A release whose core major is unknown (its core range names no version; the plugin's
    /// `compat_unknown` says which and why).
    pub compat_unknown: bool,
    pub topics: Vec<String>,
    pub license: Option<String>,
    pub stars: u64,
    pub verified: bool,
    pub deprecated: bool,
    /// The plugin a platform owner named to use instead of a deprecated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    pub updated_at: Option<String>,
    pub flagged: bool,
    /// The average of its published reviews' stars; `None` without reviews.
    pub rating: Option<f64>,
    /// How many published reviews it has.
    pub reviews: u64,
    /// Whether it runs on plughub, by the trial of its newest tried version.
    pub runs: Runs,
    /// That trial in short (`null` when untried): how far it got and, when it stopped, why.
    pub trial: Option<TrialMark>,
    pub score: Option<f32>,
}

impl SearchHit {
    /// The core majors at a glance: `v0 v1? v2`, where `?` marks a claim no published version proves,
    /// and `v?` a release whose core major is unknown.
    pub fn compat_summary(&self) -> String {
        let mut marks: Vec<String> = self
            .compat
            .iter()
            .map(|(m, s)| {
                format!(
                    "{}{}",
                    m.as_str(),
                    if *s == CompatStatus::Unverified {
                        "?"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        if self.compat_unknown {
            marks.push("v?".to_string());
        }
        marks.join(" ")
    }

    /// Whether it runs on plughub in a few words: `runs`, `fails at init: hit a sandbox limit` or
    /// `untried`.
    pub fn runs_summary(&self) -> String {
        match (&self.runs, &self.trial) {
            (Runs::Yes, _) => "runs".to_string(),
            (Runs::No, Some(t)) => {
                let stage = t.stopped_at.map_or("", crate::trials::stage_name);
                match &t.cause_label {
                    Some(label) => format!("fails at {stage}: {label}"),
                    None => format!("fails at {stage}"),
                }
            }
            _ => "untried".to_string(),
        }
    }

    fn from_view(
        view: &PluginView,
        rating: &RatingSummary,
        trial: Option<&TrialMark>,
        score: Option<f32>,
    ) -> SearchHit {
        SearchHit {
            name: view.name.clone(),
            description: view.description.clone(),
            latest_version: view.latest_version.clone(),
            compat: view.compat.iter().map(|(m, c)| (*m, c.status)).collect(),
            compat_unknown: !view.compat_unknown.is_empty(),
            topics: view.topics.clone(),
            license: view.license.clone(),
            stars: view.stars,
            verified: view.verified,
            deprecated: view.deprecated.is_some(),
            replacement: view.replacement.clone(),
            updated_at: view.updated_at.clone(),
            flagged: !view.flags.is_empty(),
            rating: rating.average,
            reviews: rating.count,
            runs: Runs::of(trial),
            trial: trial.cloned(),
            score,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
    pub hits: Vec<SearchHit>,
    /// Facet name → value → count, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facets: Option<BTreeMap<String, BTreeMap<String, u64>>>,
    /// The query with its misspelt words corrected, when a word matched nothing and a close one exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did_you_mean: Option<String>,
}
