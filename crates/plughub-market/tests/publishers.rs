//! The publisher model on both stores: claims granted and refused, holding, verification and its
//! revocation, each with its event.

use plughub_domain::EventType;
use plughub_market::MarketError;
use plughub_market::publishers::Publishers;
use plughub_store::{EventFilter, Store};
use plughub_testkit::{BACKENDS, TestStore};

async fn person(store: &Store, email: &str) -> String {
    let mut tx = store.begin().await.unwrap();
    let p = tx.create_person(email, email, None, "test").await.unwrap();
    tx.commit().await.unwrap();
    p.id
}

async fn events_of(store: &Store, event_type: EventType) -> Vec<plughub_domain::StoredEvent> {
    store
        .events(&EventFilter {
            event_type: Some(event_type),
            ..Default::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_claim_granted_makes_its_claimant_hold_the_publisher_and_one_refused_does_not() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let publishers = Publishers::new(t.store.clone());
        let ada = person(&t.store, "ada@acme.test").await;
        let bob = person(&t.store, "bob@elsewhere.test").await;
        let owner = person(&t.store, "owner@plughub.test").await;

        assert!(!publishers.holds(&ada, "@acme").await.unwrap());
        assert_eq!(
            publishers.publisher("@acme").await.unwrap().status,
            "unclaimed"
        );

        let claim = publishers
            .claim(&ada, "@acme", "I maintain @acme/plugin-x on npm")
            .await
            .unwrap();
        assert_eq!(claim.status, "pending", "{backend:?}");
        assert_eq!(claim.namespace, "@acme");
        assert_eq!(claim.person_email, "ada@acme.test");
        // A claim waiting is not a holding, and a second one by the same person is refused.
        assert!(!publishers.holds(&ada, "@acme").await.unwrap());
        let again = publishers.claim(&ada, "@acme", "again").await.unwrap_err();
        assert!(matches!(again, MarketError::Conflict(_)), "{again:?}");

        let rival = publishers.claim(&bob, "@acme", "trust me").await.unwrap();
        assert_eq!(publishers.claims(Some("pending")).await.unwrap().len(), 2);

        let granted = publishers
            .grant(&claim.id, "npm maintainers list names ada", &owner)
            .await
            .unwrap();
        assert_eq!(granted.status, "granted");
        assert_eq!(
            granted.decision_note.as_deref(),
            Some("npm maintainers list names ada")
        );
        let refused = publishers
            .refuse(&rival.id, "no evidence", &owner)
            .await
            .unwrap();
        assert_eq!(refused.status, "refused");

        assert!(
            publishers.holds(&ada, "@acme").await.unwrap(),
            "{backend:?}"
        );
        assert!(!publishers.holds(&bob, "@acme").await.unwrap());
        // Holding one namespace is not holding another.
        assert!(!publishers.holds(&ada, "@acme2").await.unwrap());
        assert_eq!(publishers.publisher("@acme").await.unwrap().status, "held");
        let people = publishers.people("@acme").await.unwrap();
        assert_eq!(people.len(), 1);
        assert_eq!(people[0].display_name, "ada@acme.test");

        // A decided claim stays decided.
        let twice = publishers.grant(&rival.id, "", &owner).await.unwrap_err();
        assert!(matches!(twice, MarketError::Conflict(_)), "{twice:?}");
        assert!(!publishers.holds(&bob, "@acme").await.unwrap());

        let publisher_id = t.store.publisher("@acme").await.unwrap().unwrap().id;
        let claimed = events_of(&t.store, EventType::PublisherClaimed).await;
        assert_eq!(claimed.len(), 2);
        assert!(
            claimed
                .iter()
                .all(|e| e.target.as_deref() == Some(publisher_id.as_str()))
        );
        let grants = events_of(&t.store, EventType::PublisherClaimGranted).await;
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].actor, owner);
        assert_eq!(grants[0].metadata["person"], ada.as_str());
        let refusals = events_of(&t.store, EventType::PublisherClaimRefused).await;
        assert_eq!(refusals.len(), 1);
        assert_eq!(refusals[0].metadata["person"], bob.as_str());
        t.cleanup().await;
    }
}

#[tokio::test]
async fn verification_is_for_held_publishers_and_is_revocable() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let publishers = Publishers::new(t.store.clone());
        let ada = person(&t.store, "ada@acme.test").await;
        let owner = person(&t.store, "owner@plughub.test").await;

        assert!(!publishers.is_verified("plugin-solo").await.unwrap());
        let early = publishers
            .set_verified("plugin-solo", true, "", &owner)
            .await
            .unwrap_err();
        assert!(matches!(early, MarketError::Conflict(_)), "{early:?}");

        let claim = publishers
            .claim(&ada, "plugin-solo", "I published plugin-solo")
            .await
            .unwrap();
        // Claimed but not held: still not verifiable.
        assert!(
            publishers
                .set_verified("plugin-solo", true, "", &owner)
                .await
                .is_err()
        );
        publishers.grant(&claim.id, "", &owner).await.unwrap();

        let verified = publishers
            .set_verified("plugin-solo", true, "domain email checked", &owner)
            .await
            .unwrap();
        assert!(verified.verified, "{backend:?}");
        assert!(verified.verified_at.is_some());
        assert!(publishers.is_verified("plugin-solo").await.unwrap());
        assert!(matches!(
            publishers
                .set_verified("plugin-solo", true, "", &owner)
                .await,
            Err(MarketError::Conflict(_))
        ));

        let revoked = publishers
            .set_verified("plugin-solo", false, "maintainer left", &owner)
            .await
            .unwrap();
        assert!(!revoked.verified);
        assert!(revoked.verified_at.is_none());
        assert!(!publishers.is_verified("plugin-solo").await.unwrap());
        // Still held: revoking verification takes nobody's holding away.
        assert!(publishers.holds(&ada, "plugin-solo").await.unwrap());

        let verifications = events_of(&t.store, EventType::PublisherVerified).await;
        assert_eq!(verifications.len(), 1);
        assert_eq!(verifications[0].metadata["note"], "domain email checked");
        let revocations = events_of(&t.store, EventType::PublisherVerificationRevoked).await;
        assert_eq!(revocations.len(), 1);
        assert_eq!(revocations[0].actor, owner);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn bad_claims_change_nothing() {
    let t = TestStore::new(plughub_testkit::TestBackend::Sqlite).await;
    let publishers = Publishers::new(t.store.clone());
    let ada = person(&t.store, "ada@acme.test").await;
    for (namespace, evidence) in [("@Acme", "x"), ("@acme/plugin-x", "x"), ("@acme", "  ")] {
        let e = publishers
            .claim(&ada, namespace, evidence)
            .await
            .unwrap_err();
        assert!(matches!(e, MarketError::Invalid(_)), "{namespace}: {e:?}");
    }
    assert!(publishers.claimed().await.unwrap().is_empty());
    assert!(
        events_of(&t.store, EventType::PublisherClaimed)
            .await
            .is_empty()
    );
    t.cleanup().await;
}
