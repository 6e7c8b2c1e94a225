//! The catalogue's pages: search with facets (a GET form, so it works without JavaScript and the URL
//! holds the whole state), one plugin, and the install flow.

use super::markdown::{self, Base};
use super::permissions::explain;
use super::{Page, Viewer};
use crate::handlers::plugins::ListParams;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use plughub_catalog::{CatalogError, PluginDetail, SearchResults, TrialMark};
use serde::Serialize;
use std::collections::BTreeMap;

/// The query's pairs without the empty ones: an empty field of the form leaves its filter open.
fn given_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn query_of(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A search result as a card shows it.
#[derive(Serialize)]
struct Card<'a> {
    name: &'a str,
    description: Option<&'a str>,
    version: Option<&'a str>,
    compat: Vec<(String, String)>,
    compat_unknown: bool,
    verified: bool,
    deprecated: bool,
    replacement: Option<&'a str>,
    stars: u64,
    /// The reviews' average and how many.
    rating: Option<f64>,
    reviews: u64,
    updated: Option<&'a str>,
    topics: &'a [String],
    license: Option<&'a str>,
    /// `yes`, `no` or `untried`, and the trial that says so.
    runs: &'static str,
    trial: Option<&'a TrialMark>,
}

/// One facet's choices, as a select shows them.
#[derive(Serialize)]
struct Facet {
    name: &'static str,
    label: &'static str,
    selected: String,
    /// Value, label with count.
    choices: Vec<(String, String)>,
}

const FACETS: [(&str, &str); 6] = [
    ("topic", "Topic"),
    ("kind", "Kind"),
    ("compat", "Works with core"),
    ("runs", "Runs on plughub"),
    ("license", "License"),
    ("permission", "Asks for"),
];

/// How a facet's value reads in its choices, where the value alone says too little.
fn choice_label(facet: &str, value: &str) -> String {
    match (facet, value) {
        ("runs", "yes") => "runs".to_string(),
        ("runs", "no") => "fails".to_string(),
        _ => value.to_string(),
    }
}

fn facets(results: &SearchResults, pairs: &[(String, String)]) -> Vec<Facet> {
    let counted = results.facets.clone().unwrap_or_default();
    FACETS
        .iter()
        .map(|(name, label)| {
            let selected = pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let mut values: Vec<(String, u64)> = counted
                .get(*name)
                .map(|m: &BTreeMap<String, u64>| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
                .unwrap_or_default();
            // The most common first; a chosen value stays offered even when it counts nothing.
            values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            values.truncate(40);
            if !selected.is_empty() && !values.iter().any(|(v, _)| *v == selected) {
                values.push((selected.clone(), 0));
            }
            let choices = values
                .into_iter()
                .map(|(v, n)| {
                    let shown = format!("{} ({n})", choice_label(name, &v));
                    (v, shown)
                })
                .collect();
            Facet {
                name,
                label,
                selected,
                choices,
            }
        })
        .collect()
}

/// `GET /plugins`: the search page.
pub async fn search(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> Response {
    let mut pairs = given_pairs(raw.as_deref());
    // The organisation switcher's choice is the page's, not the search's.
    let wanted_org = pairs
        .iter()
        .find(|(k, _)| k == "org")
        .map(|(_, v)| v.clone());
    pairs.retain(|(k, _)| k != "org");
    let page = Page::new(&viewer, "catalog", &uri).in_org(wanted_org.as_deref());
    let text = pairs
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let params: Result<ListParams, _> =
        serde_urlencoded::from_str(&query_of(&pairs)).map_err(|e| e.to_string());
    let request = params.and_then(|p| p.into_request().map_err(|e| e.message));
    let mut request = match request {
        Ok(r) => r,
        Err(why) => {
            return page.error(
                StatusCode::BAD_REQUEST,
                "Search",
                &format!("This search cannot be made: {why}. Change it, or start again from the catalogue."),
            );
        }
    };
    request.facets = true;
    let results = match state.catalog.search(&request) {
        Ok(r) => r,
        Err(e) => {
            return page.error(StatusCode::BAD_REQUEST, "Search", &e.to_string());
        }
    };
    let status = state.catalog.status().await.ok();
    let cards: Vec<Card> = results
        .hits
        .iter()
        .map(|h| Card {
            name: &h.name,
            description: h.description.as_deref(),
            version: h.latest_version.as_deref(),
            compat: h
                .compat
                .iter()
                .map(|(m, s)| {
                    (
                        m.as_str().to_string(),
                        serde_json::to_value(s)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                    )
                })
                .collect(),
            compat_unknown: h.compat_unknown,
            verified: h.verified,
            deprecated: h.deprecated,
            replacement: h.replacement.as_deref(),
            stars: h.stars,
            rating: h.rating,
            reviews: h.reviews,
            updated: h.updated_at.as_deref().map(|d| d.get(..10).unwrap_or(d)),
            topics: &h.topics,
            license: h.license.as_deref(),
            runs: h.runs.as_str(),
            trial: h.trial.as_ref(),
        })
        .collect();
    let facets = facets(&results, &pairs);
    pairs.retain(|(k, _)| k != "page");
    let pages = results.total.div_ceil(results.per_page.max(1));
    let link = |n: usize| {
        let mut p = pairs.clone();
        if n > 1 {
            p.push(("page".into(), n.to_string()));
        }
        format!("/plugins?{}", query_of(&p))
    };
    let did_you_mean = results.did_you_mean.as_ref().map(|better| {
        let mut p: Vec<(String, String)> =
            pairs.iter().filter(|(k, _)| k != "q").cloned().collect();
        p.insert(0, ("q".into(), better.clone()));
        (better.clone(), format!("/plugins?{}", query_of(&p)))
    });
    let selected = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let title = if text.is_empty() {
        "Plugins".to_string()
    } else {
        format!("{text} · plugins")
    };
    page.render(
        "catalog.html",
        &title,
        context! {
            q => text,
            cards => Serde(&cards),
            total => results.total,
            page => results.page,
            pages => pages,
            prev => (results.page > 1).then(|| link(results.page - 1)),
            next => (results.page < pages).then(|| link(results.page + 1)),
            facets => Serde(&facets),
            sort => selected("sort"),
            verified => selected("verified"),
            deprecated => selected("deprecated"),
            min_rating => selected("min_rating"),
            did_you_mean => Serde(&did_you_mean),
            starter => status.as_ref().filter(|s| s.starter_only).map(|s| s.starter_generated_at.clone().unwrap_or_default()),
            filtered => pairs.iter().any(|(k, _)| k != "q" && k != "sort"),
        },
    )
}

/// `GET /plugins/{name}` and `GET /plugins/{name}/install`.
pub async fn plugin(
    State(state): State<AppState>,
    viewer: Viewer,
    uri: Uri,
    axum::extract::Path(name): axum::extract::Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (name, installing) = match name.strip_suffix("/install") {
        Some(n) => (n.to_string(), true),
        None => (name, false),
    };
    let wanted_org = given_pairs(raw.as_deref())
        .into_iter()
        .find(|(k, _)| k == "org")
        .map(|(_, v)| v);
    let page = Page::new(&viewer, "catalog", &uri).in_org(wanted_org.as_deref());
    let detail = match state.catalog.info(&name).await {
        Ok(d) => d,
        Err(CatalogError::UnknownPlugin { suggestions, .. }) => {
            let hint = if suggestions.is_empty() {
                "Search the catalogue for it.".to_string()
            } else {
                format!("Did you mean {}?", suggestions.join(", "))
            };
            return page.error(
                StatusCode::NOT_FOUND,
                "No such plugin",
                &format!("The catalogue has no plugin named {name}. {hint}"),
            );
        }
        Err(e) => return page.error(StatusCode::INTERNAL_SERVER_ERROR, "Plugin", &e.to_string()),
    };
    if installing {
        if let Some(sign_in) = page.sign_in_first(&uri) {
            return sign_in;
        }
        let Some(org) = page.org() else {
            return page.no_org();
        };
        if !page.may().install {
            return page.error(
                StatusCode::FORBIDDEN,
                "Install",
                &format!(
                    "Your role in {} ({}) does not allow installing plugins: ask an owner of the organisation.",
                    org.group,
                    org.role.as_str()
                ),
            );
        }
        return page.render(
            "install.html",
            &format!("Install {}", detail.view.name),
            context! { plugin => plugin_context(&detail), installable_orgs => installable_orgs(&viewer) },
        );
    }
    let rating = plughub_market::reviews::Reviews::new(state.catalog.store().clone())
        .rating_of(&detail.view.name)
        .await
        .unwrap_or_default();
    // The page stands without it: a reputation that cannot be read is left out, and logged.
    let reputation = crate::handlers::reputation::reputation_of(&state, &detail.view.name)
        .await
        .inspect_err(
            |e| tracing::warn!(plugin = %detail.view.name, error = %e.message, "no reputation"),
        )
        .ok();
    page.render(
        "plugin.html",
        &detail.view.name.clone(),
        context! {
            plugin => plugin_context(&detail),
            installable_orgs => installable_orgs(&viewer),
            rating => Serde(&rating),
            reputation => Serde(reputation),
        },
    )
}

/// The organisations where the viewer may install.
fn installable_orgs(viewer: &Viewer) -> Vec<String> {
    viewer
        .orgs()
        .filter(|m| viewer.abilities(m).install)
        .map(|m| m.group.clone())
        .collect()
}

/// What the detail and install pages show of a plugin; the README as sanitised HTML.
fn plugin_context(detail: &PluginDetail) -> minijinja::Value {
    let view = &detail.view;
    let base = view.repository.as_deref().and_then(Base::from_repository);
    let readme = detail
        .readme
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .map(|r| minijinja::Value::from_safe_string(markdown::render(r, base.as_ref())));
    let (requested, components, kinds) = match &detail.package {
        Some(facts) => {
            let mut by_kind: BTreeMap<String, Vec<&plughub_domain::Component>> = BTreeMap::new();
            for c in &facts.components {
                by_kind
                    .entry(c.kind.as_str().to_string())
                    .or_default()
                    .push(c);
            }
            (
                explain(&facts.permissions),
                minijinja::Value::from(Serde(by_kind)),
                facts.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            )
        }
        None => (vec![], minijinja::Value::UNDEFINED, vec![]),
    };
    context! {
        name => Serde(&view.name),
        description => Serde(&view.description),
        latest_version => Serde(&view.latest_version),
        verified => Serde(&view.verified),
        deprecated => Serde(&view.deprecated),
        replacement => Serde(&view.replacement),
        publisher => plughub_domain::names::namespace_of(&view.name),
        provenance => Serde(
            detail
                .releases
                .iter()
                .find(|r| Some(&r.version) == view.latest_version.as_ref())
                .and_then(|r| r.provenance.as_ref())
        ),
        license => Serde(&view.license),
        stars => Serde(&view.stars),
        topics => Serde(&view.topics),
        repository => Serde(&view.repository),
        homepage => Serde(&view.homepage),
        maintainers => Serde(&view.maintainers),
        updated => Serde(&view.updated_at),
        sources => Serde(&view.sources),
        flags => Serde(&view.flags),
        compat => Serde(&view.compat),
        compat_unknown => Serde(&view.compat_unknown),
        settings => Serde(&detail.settings.params),
        settings_notes => Serde(&detail.settings.notes),
        releases => Serde(&detail.releases),
        trials => Serde(&detail.trials),
        runs => detail.runs.as_str(),
        facts => Serde(&detail.package),
        requested => Serde(&requested),
        components => components,
        kinds => kinds,
        readme => readme,
    }
}
