//! Published plugins, fetched from the npm registry of this machine's npm configuration as an install
//! fetches them (integrity verified, extracted with limits): their components are read from their bundles
//! as published. Pinned versions, so that what is asserted stays true; skipped, saying why, when the
//! registry cannot be reached.

use plughub_analyzer::{analyze_package, package_facts};
use plughub_domain::{ComponentKind, PackageFacts, PluginKind};
use plughub_install::{ExtractLimits, fetch_from_npm};
use plughub_npm::{NpmClient, npm_registry_url};

async fn facts_of(name: &str, version: &str) -> Option<PackageFacts> {
    let registry = match npm_registry_url() {
        Ok(url) => url,
        Err(e) => {
            println!("SKIPPED {name}: {e}");
            return None;
        }
    };
    let client = NpmClient::new(&registry);
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("package");
    let fetched = match fetch_from_npm(
        &client,
        name,
        Some(version),
        None,
        &dest,
        &ExtractLimits::default(),
    )
    .await
    {
        Ok(f) => f,
        Err(e) => {
            println!("SKIPPED {name}@{version}: {e}");
            return None;
        }
    };
    let report = analyze_package(&fetched.dir).unwrap();
    Some(package_facts(&fetched.dir, &report, String::new()))
}

fn named(facts: &PackageFacts, kind: ComponentKind) -> Vec<&str> {
    facts
        .components
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| c.name.as_str())
        .collect()
}

#[tokio::test]
async fn bootstrap_declares_its_actions_providers_evaluator_and_services() {
    let Some(facts) = facts_of("@elizaos/plugin-bootstrap", "1.7.2").await else {
        return;
    };
    let actions = named(&facts, ComponentKind::Action);
    for action in ["REPLY", "IGNORE", "NONE", "SEND_MESSAGE", "GENERATE_IMAGE"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert_eq!(actions.len(), 13, "{actions:?}");
    assert_eq!(named(&facts, ComponentKind::Evaluator), ["REFLECTION"]);
    let providers = named(&facts, ComponentKind::Provider);
    assert!(
        providers.contains(&"TIME") && providers.len() >= 15,
        "{providers:?}"
    );
    assert!(named(&facts, ComponentKind::Service).contains(&"embedding-generation"));
    let reply = facts.components.iter().find(|c| c.name == "REPLY").unwrap();
    assert!(reply.similes.contains(&"RESPOND".to_string()), "{reply:?}");
    assert!(reply.description.as_deref().is_some_and(|d| !d.is_empty()));
    assert!(!facts.is(PluginKind::Client) && !facts.is(PluginKind::Model));
}

#[tokio::test]
async fn a_model_plugin_declares_its_model_types_once_across_its_builds() {
    // Three builds (node ESM, CommonJS, browser) of one plugin: each model once.
    let Some(facts) = facts_of("@elizaos/plugin-openai", "1.6.0").await else {
        return;
    };
    let models = named(&facts, ComponentKind::Model);
    for model in ["TEXT_SMALL", "TEXT_LARGE", "TEXT_EMBEDDING", "OBJECT_LARGE"] {
        assert!(models.contains(&model), "{model} in {models:?}");
    }
    let mut unique = models.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), models.len(), "{models:?}");
    assert_eq!(facts.kinds, [PluginKind::Model]);
    assert!(facts.needs_network());
    assert!(facts.permissions.secrets.contains("OPENAI_API_KEY"));
}

#[tokio::test]
async fn a_connector_is_a_client() {
    let Some(facts) = facts_of("@elizaos/plugin-telegram", "1.6.4").await else {
        return;
    };
    assert!(facts.is(PluginKind::Client), "{:?}", facts.kinds);
    assert_eq!(named(&facts, ComponentKind::Service), ["telegram"]);
}
