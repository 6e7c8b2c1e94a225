//! The starting collections: made once, of the registry snapshot's real plugins, and not made again
//! once a platform owner changed or deleted them.

use plughub_catalog::Catalog;
use plughub_domain::EventType;
use plughub_market::collections::{Collections, SEED_ACTOR};
use plughub_store::EventFilter;
use plughub_testkit::{BACKENDS, TestStore};

#[tokio::test]
async fn the_starting_collections_are_made_once_of_plugins_the_catalogue_holds() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let catalog = Catalog::open(t.store.clone()).await.unwrap();
        let collections = Collections::new(&catalog);
        assert_eq!(collections.seed_once().await.unwrap(), 4, "{backend:?}");
        let made = collections.visible_to(None).await.unwrap();
        let slugs: Vec<&str> = made.iter().map(|c| c.slug.as_str()).collect();
        assert_eq!(
            slugs,
            vec![
                "defi-and-wallets",
                "knowledge-and-memory",
                "model-providers",
                "social-connectors"
            ]
        );
        for collection in &made {
            assert!(collection.plugins.len() >= 5, "{}", collection.slug);
            assert!(
                collection.plugins.iter().all(|p| p.in_catalogue),
                "{}",
                collection.slug
            );
            assert!(collection.organisation.is_none());
        }
        let models = made.iter().find(|c| c.slug == "model-providers").unwrap();
        assert_eq!(models.plugins[0].name, "@elizaos/plugin-openai");

        // Deleted by an owner: a restart does not bring it back.
        collections
            .delete("model-providers", "owner")
            .await
            .unwrap();
        assert_eq!(collections.seed_once().await.unwrap(), 0);
        assert_eq!(collections.visible_to(None).await.unwrap().len(), 3);
        let seeded = t
            .store
            .events(&EventFilter {
                event_type: Some(EventType::CollectionChanged),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(seeded.len(), 4);
        assert!(seeded.iter().all(|e| e.actor == SEED_ACTOR));
        t.cleanup().await;
    }
}
