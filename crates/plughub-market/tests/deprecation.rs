//! A platform deprecation changes the catalogue's fingerprint, so another server on the same store
//! sees it at its next check and hides the plugin from its default search too; lifting it does the same.

use plughub_catalog::{Catalog, SearchRequest};
use plughub_market::deprecation::Deprecations;
use plughub_testkit::{BACKENDS, TestStore};

fn finds(catalog: &Catalog, name: &str) -> bool {
    let results = catalog.search(&SearchRequest::new("twitter")).unwrap();
    results.hits.iter().any(|h| h.name == name)
}

#[tokio::test]
async fn another_server_on_the_store_follows_a_deprecation_and_its_lifting() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let here = Catalog::open(t.store.clone()).await.unwrap();
        let there = Catalog::open(t.reopen().await).await.unwrap();
        let plugin = "@elizaos/plugin-twitter";
        assert!(finds(&there, plugin));

        Deprecations::new(&here)
            .deprecate("twitter", Some("discord"), "Superseded", "owner")
            .await
            .unwrap();
        assert!(!finds(&here, plugin), "{backend:?}");
        assert!(
            there.refresh_if_changed().await.unwrap(),
            "the fingerprint moved"
        );
        assert!(!finds(&there, plugin), "{backend:?}");
        let detail = there.info(plugin).await.unwrap();
        assert_eq!(
            detail.view.replacement.as_deref(),
            Some("@elizaos/plugin-discord")
        );

        Deprecations::new(&here)
            .undeprecate(plugin, "owner")
            .await
            .unwrap();
        assert!(there.refresh_if_changed().await.unwrap());
        assert!(finds(&there, plugin), "{backend:?}");
        t.cleanup().await;
    }
}
