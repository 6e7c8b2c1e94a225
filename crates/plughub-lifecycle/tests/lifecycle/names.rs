//! Names given to installs and updates: a name the catalogue holds means the catalogue's plugin; any other
//! is installed as written only when its package.json looks like an elizaOS plugin's, or when the one
//! installing says it is a private plugin.

use crate::common::*;
use plughub_domain::names::{Catalogue, candidate_names};
use plughub_install::InstallError;
use std::sync::Arc;

/// A catalogue holding `names`, resolving a query to the first spelling of it that it holds, as the
/// catalogue's index does.
struct Held(&'static [&'static str]);

impl Catalogue for Held {
    fn resolve(&self, name: &str) -> Option<String> {
        candidate_names(name)
            .into_iter()
            .find(|c| self.0.contains(&c.as_str()))
    }

    fn suggest(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
}

/// A package that is no plugin: no elizaos keyword, no agentConfig, no @elizaos/core dependency.
fn publish_library(npm: &LoopbackNpm, name: &str, version: &str) {
    let manifest = json!({ "name": name, "version": version, "main": "index.js",
                           "keywords": ["string", "pad"] });
    npm.publish_version(
        manifest.clone(),
        package(
            &manifest,
            &[("index.js", "module.exports = (s) => ' ' + s;")],
        ),
        None,
    );
}

fn is_not_a_plugin(error: &LifecycleError) -> bool {
    matches!(
        error,
        LifecycleError::Install(InstallError::NotAPlugin { .. })
    )
}

#[tokio::test]
async fn a_short_name_means_the_catalogue_plugin_and_a_stranger_is_refused_before_anything() {
    let (t, npm, dir) = world().await;
    publish_with(&npm, "@elizaos/plugin-solana", "1.0.0", json!({}));
    // The unrelated npm packages the short names also name.
    publish_library(&npm, "solana", "3.0.0");
    publish_library(&npm, "left-pad", "1.3.0");
    publish_library(&npm, "@acme/plugin-solana", "1.0.0");
    let mut inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    inst.set_catalogue(Arc::new(Held(&["@elizaos/plugin-solana"])));

    let record = inst
        .install("acme", "solana", &opts("alice"))
        .await
        .unwrap();
    assert_eq!(
        (record.plugin.as_str(), record.version()),
        ("@elizaos/plugin-solana", "1.0.0")
    );

    // Refused on its package document alone: no tarball fetched, no instance, no event.
    let requests = npm.requests();
    let events = story(&t.store, "acme").await;
    let err = inst
        .install("acme", "left-pad", &opts("alice"))
        .await
        .unwrap_err();
    assert!(is_not_a_plugin(&err), "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with("left-pad@1.3.0 is not in the catalogue and does not look like an elizaOS plugin: no elizaos keyword, no agentConfig, no @elizaos/core dependency")
            && message.contains("--not-in-catalogue"),
        "{message}"
    );
    assert_eq!(npm.requests(), requests + 1, "only the package document");
    assert_eq!(story(&t.store, "acme").await, events);
    let names = |list: Vec<plughub_lifecycle::InstanceRecord>| {
        list.into_iter().map(|r| r.plugin).collect::<Vec<_>>()
    };
    assert_eq!(
        names(inst.list("acme").await.unwrap()),
        ["@elizaos/plugin-solana"]
    );

    // A scoped name stays its scope's: acme's package is not the catalogue's plugin of that short name.
    let err = inst
        .install("acme", "@acme/plugin-solana", &opts("alice"))
        .await
        .unwrap_err();
    assert!(is_not_a_plugin(&err), "{err}");

    // Vouched for as a private plugin, it is installed as written.
    let private = InstallOptions {
        not_in_catalogue: true,
        ..opts("alice")
    };
    let record = inst.install("acme", "left-pad", &private).await.unwrap();
    assert_eq!(
        (record.plugin.as_str(), record.version()),
        ("left-pad", "1.3.0")
    );

    // An update by the short name updates the catalogue's plugin the install chose.
    publish_with(&npm, "@elizaos/plugin-solana", "1.1.0", json!({}));
    let outcome = inst
        .update("acme", "solana", None, &opts("alice"))
        .await
        .unwrap();
    assert_eq!(
        (
            outcome.plugin.as_str(),
            outcome.from.as_str(),
            outcome.to.as_str()
        ),
        ("@elizaos/plugin-solana", "1.0.0", "1.1.0")
    );
    t.cleanup().await;
}

#[tokio::test]
async fn with_no_catalogue_every_name_must_look_like_a_plugin() {
    let (t, npm, dir) = world().await;
    publish_library(&npm, "solana", "3.0.0");
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    let err = inst
        .install("acme", "solana", &opts("alice"))
        .await
        .unwrap_err();
    assert!(is_not_a_plugin(&err), "{err}");
    assert!(inst.list("acme").await.unwrap().is_empty());
    t.cleanup().await;
}
