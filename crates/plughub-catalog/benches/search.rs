//! Search latency (p50/p99 over a fixed query set) at the real snapshot's size and at 100,000 synthetic
//! plugins, and the time to import the snapshot. In process, one thread issuing queries. Then the quality
//! of the ranking over the evaluation set (`eval/queries.tsv`): hits@1, hits@3 and MRR per half, and the
//! latency of that set's queries.
//! Run: cargo bench -p plughub-catalog --bench search

use plughub_catalog::search::evaluation::{self, Half, Judged};
use plughub_catalog::search::{Knowledge, SearchIndex};
use plughub_catalog::sync::{self, NoProgress};
use plughub_catalog::{Catalog, PluginView, SearchRequest, SortOrder, SyncOptions};
use plughub_domain::CoreMajor;
use plughub_store::{Location, Store};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const ROUNDS: usize = 200;
const SYNTHETIC: usize = 100_000;

fn queries() -> Vec<SearchRequest> {
    let mut list: Vec<SearchRequest> = [
        "solana",
        "plugin-solana",
        "@elizaos/plugin-openai",
        "discord",
        "solanna",
        "telegarm",
        "opnai",
        "weather",
        "trading bot",
        "defi lending",
        "twitter",
        "nft",
        "knowledge rag",
        "evm wallet",
        "",
    ]
    .iter()
    .map(|q| SearchRequest::new(*q))
    .collect();
    let mut r = SearchRequest::new("crypto");
    r.compat = Some(CoreMajor::V1);
    list.push(r);
    let mut r = SearchRequest::new("");
    r.topic = Some("defi".into());
    r.sort = SortOrder::Stars;
    list.push(r);
    let mut r = SearchRequest::new("ai");
    r.sort = SortOrder::Updated;
    r.page = 2;
    list.push(r);
    let mut r = SearchRequest::new("token");
    r.verified = Some(true);
    list.push(r);
    let mut r = SearchRequest::new("agent");
    r.facets = true;
    list.push(r);
    list
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn measure(label: &str, index: &SearchIndex) {
    measure_queries(label, index, &queries());
}

fn measure_queries(label: &str, index: &SearchIndex, queries: &[SearchRequest]) {
    for q in queries {
        index.search(q).expect("warm-up search");
    }
    let mut samples = Vec::with_capacity(ROUNDS * queries.len());
    for _ in 0..ROUNDS {
        for q in queries {
            let start = Instant::now();
            let results = index.search(q).expect("search");
            samples.push(start.elapsed());
            std::hint::black_box(results);
        }
    }
    samples.sort();
    println!(
        "search {label:>24}: {} plugins, {} queries: p50 {:>8.1} µs  p99 {:>8.1} µs  max {:>8.1} µs",
        index.len(),
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e6,
        percentile(&samples, 0.99).as_secs_f64() * 1e6,
        samples.last().unwrap().as_secs_f64() * 1e6,
    );
}

/// Deterministic synthetic plugins: real views renamed and re-described with words from the snapshot.
fn synthetic(real: &[PluginView], n: usize) -> (Vec<PluginView>, HashMap<String, Knowledge>) {
    let vocabulary: Vec<String> = real
        .iter()
        .filter_map(|v| v.description.as_ref())
        .flat_map(|d| {
            d.split_whitespace().map(|w| {
                w.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            })
        })
        .filter(|w| w.len() > 2)
        .collect();
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let mut views: Vec<PluginView> = real.to_vec();
    let mut readmes = HashMap::new();
    for i in 0..n.saturating_sub(real.len()) {
        let mut v = real[i % real.len()].clone();
        let word = &vocabulary[next() % vocabulary.len()];
        v.name = format!("@synth{}/plugin-{word}-{i}", i % 997);
        v.short_name = format!("{word}-{i}");
        let description: Vec<&str> = (0..12)
            .map(|_| vocabulary[next() % vocabulary.len()].as_str())
            .collect();
        v.description = Some(description.join(" "));
        v.stars = (next() % 500) as u64;
        if i % 10 == 0 {
            let readme: Vec<&str> = (0..200)
                .map(|_| vocabulary[next() % vocabulary.len()].as_str())
                .collect();
            let known = Knowledge {
                readme: Some(readme.join(" ")),
                ..Knowledge::default()
            };
            readmes.insert(v.name.clone(), known);
        }
        views.push(v);
    }
    (views, readmes)
}

fn half_queries(set: &[Judged], half: Half) -> Vec<SearchRequest> {
    set.iter()
        .filter(|j| j.half == half)
        .map(|j| SearchRequest::new(j.query.clone()))
        .collect()
}

fn quality(index: &SearchIndex, set: &[Judged]) {
    println!("quality over {} plugins (first page of 10):", index.len());
    println!("  half        queries  hits@1  hits@3    MRR  empty pages");
    for half in [Half::Tune, Half::Held] {
        let s = evaluation::evaluate(index, set, half).expect("evaluation");
        println!(
            "  {:<10}  {:>7}  {:>5.1}%  {:>5.1}%  {:>5.3}  {:>11}",
            half.as_str(),
            s.queries,
            s.hits_at_1() * 100.0,
            s.hits_at_3() * 100.0,
            s.mrr(),
            s.empty_pages
        );
        if !s.misses.is_empty() {
            println!("    below 3: {}", s.misses.join("; "));
        }
    }
}

fn main() {
    let set = evaluation::parse(evaluation::QUERY_SET).expect("the evaluation set parses");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let snapshot_dir = plughub_testkit::registry_snapshot_dir();
    let main_file = snapshot_dir
        .join("generated-registry.json")
        .display()
        .to_string();
    let next_file = snapshot_dir
        .join("next/generated-registry.json")
        .display()
        .to_string();

    // Sync time for the snapshot into a fresh embedded store, and the no-op re-import.
    let mut fresh = Vec::new();
    let mut noop = Vec::new();
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let store = runtime
            .block_on(Store::open(&Location::DataDir(dir.path().join("data"))))
            .unwrap();
        let options = SyncOptions::offline(vec![main_file.clone(), next_file.clone()]);
        let start = Instant::now();
        runtime
            .block_on(sync::sync(&store, &options, &NoProgress))
            .unwrap();
        fresh.push(start.elapsed());
        let start = Instant::now();
        runtime
            .block_on(sync::sync(&store, &options, &NoProgress))
            .unwrap();
        noop.push(start.elapsed());
    }
    fresh.sort();
    noop.sort();
    println!(
        "sync  snapshot main+next into SQLite: median {:.1} ms (fresh), {:.1} ms (re-import, no change)",
        fresh[2].as_secs_f64() * 1e3,
        noop[2].as_secs_f64() * 1e3
    );

    // The catalogue a first start serves: the starter carried by the binary (the whole registry
    // snapshot merged with what npm had).
    let dir = tempfile::tempdir().unwrap();
    let store = runtime
        .block_on(Store::open(&Location::DataDir(dir.path().join("data"))))
        .unwrap();
    let catalog = runtime.block_on(Catalog::open(store)).unwrap();
    let real_index = catalog.index();
    measure("first-start catalogue", &real_index);
    for half in [Half::Tune, Half::Held] {
        let label = format!("{} set", half.as_str());
        measure_queries(&label, &real_index, &half_queries(&set, half));
    }
    quality(&real_index, &set);

    let (views, readmes) = synthetic(real_index.views(), SYNTHETIC);
    let start = Instant::now();
    let big = SearchIndex::build(views, &readmes).unwrap();
    println!(
        "index build for {} synthetic plugins: {:.2} s",
        big.len(),
        start.elapsed().as_secs_f64()
    );
    measure("100,000 synthetic", &big);
    for half in [Half::Tune, Half::Held] {
        let label = format!("{} set, 100,000", half.as_str());
        measure_queries(&label, &big, &half_queries(&set, half));
    }
}
