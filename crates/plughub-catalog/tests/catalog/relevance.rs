//! Search relevance on the real registry snapshot (main and next merged).

use crate::import;
use plughub_catalog::{Catalog, SearchRequest, SortOrder};
use plughub_domain::CoreMajor;
use plughub_testkit::{TestBackend, TestStore};
use tokio::sync::OnceCell;

struct Fixture {
    _store: TestStore,
    catalog: Catalog,
}

static FIXTURE: OnceCell<Fixture> = OnceCell::const_new();

async fn catalog() -> &'static Catalog {
    &FIXTURE
        .get_or_init(|| async {
            let store = TestStore::new(TestBackend::Sqlite).await;
            import(
                &store.store,
                &["generated-registry.json", "next/generated-registry.json"],
            )
            .await;
            let catalog = Catalog::open(store.store.clone()).await.unwrap();
            Fixture {
                _store: store,
                catalog,
            }
        })
        .await
        .catalog
}

fn names(catalog: &Catalog, request: &SearchRequest) -> Vec<String> {
    catalog
        .search(request)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.name)
        .collect()
}

fn top(catalog: &Catalog, query: &str) -> Vec<String> {
    names(catalog, &SearchRequest::new(query))
}

#[tokio::test(flavor = "multi_thread")]
async fn exact_and_normalised_names_come_first() {
    let c = catalog().await;
    for q in [
        "solana",
        "plugin-solana",
        "@elizaos/solana",
        "@elizaos/plugin-solana",
        "Solana",
    ] {
        assert_eq!(top(c, q)[0], "@elizaos/plugin-solana", "{q}");
    }
    for (q, want) in [
        ("openai", "@elizaos/plugin-openai"),
        ("discord", "@elizaos/plugin-discord"),
        ("evm", "@elizaos/plugin-evm"),
    ] {
        assert_eq!(top(c, q)[0], want, "{q}");
    }
    // A short name that two scopes use: elizaOS's own first (as its CLI resolves it), then the other.
    assert_eq!(
        top(c, "mattermost")[..2],
        ["@elizaos/plugin-mattermost", "@bealers/plugin-mattermost"]
    );
    assert_eq!(
        top(c, "@bealers/mattermost")[0],
        "@bealers/plugin-mattermost"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn typos_still_find_the_plugin() {
    let c = catalog().await;
    for (q, want) in [
        ("solanna", "@elizaos/plugin-solana"),
        ("discrod", "@elizaos/plugin-discord"),
        ("telegarm", "@elizaos/plugin-telegram"),
        ("opnai", "@elizaos/plugin-openai"),
    ] {
        let hits = top(c, q);
        assert!(hits.iter().take(3).any(|h| h == want), "{q}: {hits:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn words_in_descriptions_and_topics_match() {
    let c = catalog().await;
    let hits = top(c, "weather");
    assert!(
        hits.contains(&"@elizaos/plugin-open-weather".to_string()),
        "{hits:?}"
    );
}

/// The words of a plugin's name, description and topics (the snapshot has no READMEs or packages).
fn text_of(hit: &plughub_catalog::SearchHit) -> String {
    format!(
        "{} {} {}",
        hit.name,
        hit.description.as_deref().unwrap_or(""),
        hit.topics.join(" ")
    )
    .to_lowercase()
}

/// Whether `text` has one of the forms of a word.
fn has_any(text: &str, forms: &[&str]) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| forms.contains(&w))
}

#[tokio::test(flavor = "multi_thread")]
async fn all_words_first_then_most_words_never_an_empty_page() {
    let c = catalog().await;
    // Neither word is in the synonym table, so a plugin has both exactly when its text has these forms.
    let mut r = SearchRequest::new("solana trading");
    r.per_page = 100;
    let hits = c.search(&r).unwrap().hits;
    let both: Vec<bool> = hits
        .iter()
        .map(|h| {
            let text = text_of(h);
            has_any(&text, &["solana"]) && has_any(&text, &["trade", "trades", "trading", "traded"])
        })
        .collect();
    let with_both = both.iter().filter(|b| **b).count();
    assert!(with_both >= 2, "{hits:?}");
    assert!(
        both[..with_both].iter().all(|b| *b),
        "every plugin with both words comes before any with one: {:?}",
        hits.iter().map(|h| &h.name).collect::<Vec<_>>()
    );
    assert!(hits.len() > with_both, "then those with one of the words");

    // A word nothing has does not empty the page: the other words still rank as they would alone.
    let alone = top(c, "solana");
    let with_noise = top(c, "solana qqqzzzxq");
    assert_eq!(with_noise[..5], alone[..5]);
    for q in [
        "telegram bot",
        "send tweets",
        "generate music",
        "phone calls",
    ] {
        assert!(!top(c, q).is_empty(), "{q}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn words_match_by_their_stems() {
    let c = catalog().await;
    assert_eq!(top(c, "trading charts"), top(c, "trade chart"));
    assert_eq!(top(c, "charts")[0], "@elizaos/plugin-chart");
    // "automated tweet posting" is found by "tweets" and by "posting".
    let hits = top(c, "posting tweets");
    assert!(
        hits[..3].contains(&"@elizaos/plugin-twitter".to_string()),
        "{hits:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn synonyms_of_the_field_find_what_the_plugin_calls_it() {
    let c = catalog().await;
    for (q, want) in [
        // No description says "eth"; plugin-evm says "EVM-compatible chains".
        ("eth transfer", "@elizaos/plugin-evm"),
        // plugin-tts says "text-to-speech", nothing says "speech synthesis".
        ("speech synthesis", "@elizaos/plugin-tts"),
        // plugin-bedrock names Claude; plugin-anthropic has no description at all.
        ("claude", "@elizaos/plugin-anthropic"),
    ] {
        let hits = top(c, q);
        assert!(hits.iter().take(3).any(|h| h == want), "{q}: {hits:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn typos_prefer_the_popular_plugin_and_say_what_was_meant() {
    let c = catalog().await;
    let results = c.search(&SearchRequest::new("twiter")).unwrap();
    assert_eq!(results.did_you_mean.as_deref(), Some("twitter"));
    // plugin-twitter has the most stars of the twitter plugins (38).
    assert_eq!(results.hits[0].name, "@elizaos/plugin-twitter");
    let results = c.search(&SearchRequest::new("solanna wallet")).unwrap();
    assert_eq!(results.did_you_mean.as_deref(), Some("solana wallet"));
    assert_eq!(results.hits[0].name, "@elizaos/plugin-solana");
    // Words the catalogue has are never "corrected".
    for q in ["solana", "discord bot", "evm", "nft"] {
        assert_eq!(
            c.search(&SearchRequest::new(q)).unwrap().did_you_mean,
            None,
            "{q}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_query_of_the_evaluation_set_returns_an_empty_page() {
    use plughub_catalog::search::evaluation::{QUERY_SET, parse};
    let c = catalog().await;
    let set = parse(QUERY_SET).unwrap();
    assert!(set.len() >= 60);
    let empty: Vec<&str> = set
        .iter()
        .filter(|j| top(c, &j.query).is_empty())
        .map(|j| j.query.as_str())
        .collect();
    assert!(empty.is_empty(), "empty pages: {empty:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_narrow_to_what_they_say() {
    let c = catalog().await;
    let mut r = SearchRequest::new("");
    r.topic = Some("defi".into());
    r.per_page = 100;
    let results = c.search(&r).unwrap();
    assert!(results.total >= 5, "{}", results.total);
    assert!(
        results
            .hits
            .iter()
            .all(|h| h.topics.contains(&"defi".to_string()))
    );

    let mut r = SearchRequest::new("");
    r.compat = Some(CoreMajor::V2);
    r.verified_compat_only = true;
    r.per_page = 100;
    let results = c.search(&r).unwrap();
    assert!(results.total > 10);
    assert!(results.hits.iter().all(|h| h.compat.get(&CoreMajor::V2)
        == Some(&plughub_catalog::compat::CompatStatus::Compatible)));

    let mut r = SearchRequest::new("");
    r.verified = Some(false);
    r.per_page = 100;
    assert!(
        c.search(&r)
            .unwrap()
            .hits
            .iter()
            .all(|h| !h.name.starts_with("@elizaos/"))
    );

    // Facet counts add up to the total for a one-value facet.
    let mut r = SearchRequest::new("crypto");
    r.facets = true;
    let results = c.search(&r).unwrap();
    let verified: u64 = results.facets.as_ref().unwrap()["verified"].values().sum();
    assert_eq!(verified as usize, results.total);
}

#[tokio::test(flavor = "multi_thread")]
async fn sorting_and_pages() {
    let c = catalog().await;
    let mut r = SearchRequest::new("");
    r.sort = SortOrder::Stars;
    r.per_page = 50;
    let first = c.search(&r).unwrap();
    assert!(
        first.hits.windows(2).all(|w| w[0].stars >= w[1].stars),
        "by stars"
    );
    r.page = 2;
    let second = c.search(&r).unwrap();
    assert_eq!(first.total, second.total);
    assert!(
        second
            .hits
            .iter()
            .all(|h| !first.hits.iter().any(|f| f.name == h.name)),
        "pages do not overlap"
    );
    assert!(first.hits.last().unwrap().stars >= second.hits[0].stars);
    r.page = 1_000;
    assert!(c.search(&r).unwrap().hits.is_empty());
    // Far past the end: an empty page, not room made for every hit before it (which took the server
    // down asking for a terabyte).
    for page in [u32::MAX as usize, usize::MAX] {
        r.page = page;
        let past = c.search(&r).unwrap();
        assert!(past.hits.is_empty());
        assert_eq!((past.page, past.total), (page, first.total));
    }

    // Package documents carry no download counts: by downloads, ties fall back to stars.
    let mut r = SearchRequest::new("");
    r.sort = SortOrder::Downloads;
    let hits = c.search(&r).unwrap().hits;
    assert!(hits.windows(2).all(|w| w[0].stars >= w[1].stars));
}

/// The catalogue a first start serves (the starter: the registry snapshot, npm's documents, and the facts
/// plughub read from every package npm has), with those facts as the store holds them.
struct FirstStart {
    _store: TestStore,
    catalog: Catalog,
    facts: std::collections::HashMap<String, plughub_domain::PackageFacts>,
}

static FIRST_START: OnceCell<FirstStart> = OnceCell::const_new();

async fn first_start() -> &'static FirstStart {
    FIRST_START
        .get_or_init(|| async {
            let store = TestStore::new(TestBackend::Sqlite).await;
            let catalog = Catalog::open(store.store.clone()).await.unwrap();
            let facts = plughub_catalog::package_facts_by_name(&store.store)
                .await
                .unwrap();
            FirstStart {
                _store: store,
                catalog,
                facts,
            }
        })
        .await
}

/// Every plugin the request finds, all pages.
fn all_found(c: &Catalog, mut r: SearchRequest) -> Vec<String> {
    r.per_page = SearchRequest::MAX_PER_PAGE;
    let mut out = Vec::new();
    loop {
        let page = c.search(&r).unwrap();
        out.extend(page.hits.into_iter().map(|h| h.name));
        if out.len() >= page.total {
            return out;
        }
        r.page += 1;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_permission_filter_keeps_what_the_packages_ask_for() {
    let f = first_start().await;
    let c = &f.catalog;
    assert!(f.facts.len() >= 50, "{} plugins with facts", f.facts.len());
    let mut no_network = SearchRequest::new("");
    no_network.deprecated = None;
    no_network.without_permissions = vec!["network.external".into()];
    let found = all_found(c, no_network);
    let expected: std::collections::BTreeSet<&String> = f
        .facts
        .iter()
        .filter(|(_, facts)| !facts.needs_network())
        .map(|(name, _)| name)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        found.iter().collect::<std::collections::BTreeSet<_>>(),
        expected,
        "exactly the plugins whose package was read and asks for no network"
    );

    // With words too, and counted as a facet: a plugin plughub has not read is "unknown", never "none".
    let mut r = SearchRequest::new("");
    r.deprecated = None;
    r.facets = true;
    let results = c.search(&r).unwrap();
    let permission = &results.facets.as_ref().unwrap()["permission"];
    assert_eq!(
        permission["unknown"] as usize,
        results.total - f.facts.len(),
        "{permission:?}"
    );
    let asked_nothing = f
        .facts
        .values()
        .filter(|facts| facts.permission_names().is_empty())
        .count();
    assert_eq!(
        permission.get("none").copied().unwrap_or(0) as usize,
        asked_nothing
    );
    let mut r = SearchRequest::new("");
    r.deprecated = None;
    r.permission = Some("secrets.access".into());
    for name in all_found(c, r) {
        assert!(
            f.facts[&name]
                .permission_names()
                .contains(&"secrets.access"),
            "{name}"
        );
    }
    let mut r = SearchRequest::new("");
    r.without_permissions = vec!["network".into()];
    assert!(
        r.check_filters()
            .unwrap_err()
            .contains("unknown permission")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kinds_and_components_come_from_the_packages() {
    let f = first_start().await;
    let c = &f.catalog;
    let mut r = SearchRequest::new("");
    r.deprecated = None;
    r.kind = Some("evaluator".into());
    let evaluators = all_found(c, r);
    assert!(!evaluators.is_empty());
    for name in &evaluators {
        assert!(
            f.facts[name].is(plughub_domain::PluginKind::Evaluator),
            "{name}"
        );
    }
    // A component's name finds its plugin: plugin-bootstrap's MUTE_ROOM action, which its name and
    // descriptions never mention.
    assert_eq!(top(c, "mute room")[0], "@elizaos/plugin-bootstrap");
    let mut r = SearchRequest::new("");
    r.kind = Some("actions".into());
    assert!(r.check_filters().unwrap_err().contains("unknown kind"));
}
