//! Analyzer throughput on real plugin bundles, one core, and the findings on the popular plugins.
//! Fetches the packages from the npm registry of the user's npm configuration (verified and extracted as
//! an install does); without one, measures the test corpus and says so.
//! Run: cargo bench -p plughub-analyzer --bench analyzer

use plughub_install::{ExtractLimits, fetch_from_npm};
use plughub_npm::{NpmClient, npm_registry_url};
use std::path::PathBuf;
use std::time::Instant;

const PLUGINS: [&str; 12] = [
    "@elizaos/plugin-sql",
    "@elizaos/plugin-bootstrap",
    "@elizaos/plugin-openai",
    "@elizaos/plugin-anthropic",
    "@elizaos/plugin-discord",
    "@elizaos/plugin-telegram",
    "@elizaos/plugin-twitter",
    "@elizaos/plugin-evm",
    "@elizaos/plugin-solana",
    "@elizaos/plugin-knowledge",
    "@elizaos/plugin-mcp",
    "@elizaos/plugin-ollama",
];

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut packages: Vec<(String, PathBuf)> = Vec::new();
    match npm_registry_url() {
        Ok(registry) => {
            let client = NpmClient::new(&registry);
            for name in PLUGINS {
                let dest = work.path().join(name.replace('/', "__"));
                match runtime.block_on(fetch_from_npm(
                    &client,
                    name,
                    None,
                    None,
                    &dest,
                    &ExtractLimits::default(),
                )) {
                    Ok(p) => packages.push((format!("{}@{}", p.name, p.version), p.dir)),
                    Err(e) => println!("skipped {name}: {e}"),
                }
            }
        }
        Err(e) => println!("no npm registry ({e}); measuring the test corpus only"),
    }
    if packages.is_empty() {
        let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/hostile-package");
        packages.push(("test corpus".into(), corpus));
    }

    println!("| plugin | files | bytes | score | findings |");
    println!("| --- | --- | --- | --- | --- |");
    let mut total_bytes = 0u64;
    let mut total_secs = 0f64;
    for (label, dir) in &packages {
        let report = plughub_analyzer::analyze_package(dir).unwrap();
        // Throughput: the best of five runs, so one slow scheduling does not count.
        let best = (0..5)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(plughub_analyzer::analyze_package(dir).unwrap());
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        total_bytes += report.bytes;
        total_secs += best;
        let findings: Vec<String> = report
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{} {} {}:{} ({})",
                    f.severity.as_str(),
                    f.rule.id(),
                    f.file,
                    f.line,
                    f.message
                )
            })
            .collect();
        println!(
            "| {label} | {} | {} | {} | {} |",
            report.files,
            report.bytes,
            report.score,
            if findings.is_empty() {
                "none".to_string()
            } else {
                findings.join("<br>")
            }
        );
        println!(
            "<!-- {label}: {:.1} MB/s -->",
            report.bytes as f64 / best / 1e6
        );
    }
    println!(
        "\nanalyzer throughput, one core: {:.1} MB/s over {} packages ({:.1} MB in {:.1} ms)",
        total_bytes as f64 / total_secs / 1e6,
        packages.len(),
        total_bytes as f64 / 1e6,
        total_secs * 1e3
    );
}
