//! The store suite: every test runs on SQLite and on a real PostgreSQL server, through the same code.

use plughub_domain::{EventType, NewEvent, Plan, ThingKind};
use plughub_store::{EventFilter, Location, NewThing, Store, StoreError, SyncRun};
use plughub_testkit::{BACKENDS, TestStore};
use serde_json::json;

fn event(event_type: EventType, actor: &str) -> NewEvent {
    NewEvent {
        event_type,
        actor: actor.into(),
        target: None,
        group_id: None,
        metadata: json!({ "k": "v" }),
    }
}

fn plugin(name: &str) -> NewThing<'_> {
    NewThing {
        kind: ThingKind::ElizaosPlugin,
        name,
        group_id: None,
        status: "listed",
        properties: r#"{"a":1}"#,
    }
}

#[tokio::test]
async fn a_thing_and_its_event_commit_together() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let mut tx = t.store.begin().await.unwrap();
        let id = tx
            .insert_thing(
                &plugin("@elizaos/plugin-a"),
                event(EventType::PluginDiscovered, "test"),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let thing = t
            .store
            .thing_by_name(ThingKind::ElizaosPlugin, None, "@elizaos/plugin-a")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(thing.id, id, "{backend:?}");
        assert_eq!(thing.properties, json!({ "a": 1 }));
        let events = t
            .store
            .events(&EventFilter {
                target: Some(id.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(events.len(), 1, "{backend:?}");
        assert_eq!(events[0].event_type, EventType::PluginDiscovered);
        assert_eq!(events[0].metadata, json!({ "k": "v" }));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_rolled_back_change_leaves_neither_thing_nor_event() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let mut tx = t.store.begin().await.unwrap();
        tx.insert_thing(
            &plugin("@x/plugin-gone"),
            event(EventType::PluginDiscovered, "test"),
        )
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        assert!(
            t.store
                .thing_by_name(ThingKind::ElizaosPlugin, None, "@x/plugin-gone")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            t.store.count_events(&EventFilter::default()).await.unwrap(),
            0,
            "{backend:?}"
        );

        // Dropping a transaction without commit (a crash half-way) is a rollback too.
        {
            let mut tx = t.store.begin().await.unwrap();
            tx.insert_thing(
                &plugin("@x/plugin-gone"),
                event(EventType::PluginDiscovered, "test"),
            )
            .await
            .unwrap();
        }
        assert_eq!(
            t.store
                .count_things(ThingKind::ElizaosPlugin)
                .await
                .unwrap(),
            0,
            "{backend:?}"
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn events_are_append_only() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let mut tx = t.store.begin().await.unwrap();
        tx.append_event(&event(EventType::PluginErrorOccurred, "test"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // Go around the store's API, as a careless migration or script would.
        sqlx::any::install_default_drivers();
        let url = match &t.location {
            Location::DataDir(d) => format!("sqlite://{}", d.join(Location::SQLITE_FILE).display()),
            Location::Url(u) => u.clone(),
        };
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let update = sqlx::query("UPDATE events SET actor = 'someone else'")
            .execute(&pool)
            .await;
        assert!(
            update.unwrap_err().to_string().contains("append-only"),
            "{backend:?}"
        );
        let delete = sqlx::query("DELETE FROM events").execute(&pool).await;
        assert!(
            delete.unwrap_err().to_string().contains("append-only"),
            "{backend:?}"
        );
        pool.close().await;
        assert_eq!(
            t.store.count_events(&EventFilter::default()).await.unwrap(),
            1
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_duplicate_is_a_conflict_and_writes_nothing() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let mut tx = t.store.begin().await.unwrap();
        tx.insert_thing(
            &plugin("@elizaos/plugin-dup"),
            event(EventType::PluginDiscovered, "test"),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let mut tx = t.store.begin().await.unwrap();
        let err = tx
            .insert_thing(
                &plugin("@elizaos/plugin-dup"),
                event(EventType::PluginDiscovered, "test"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{backend:?}: {err}");
        assert!(err.to_string().contains("exists already"), "{err}");
        drop(tx);
        assert_eq!(
            t.store.count_events(&EventFilter::default()).await.unwrap(),
            1,
            "{backend:?}"
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn groups_things_in_groups_and_updates() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let mut tx = t.store.begin().await.unwrap();
        let acme = tx
            .create_group("acme", Plan::Pro, None, "admin")
            .await
            .unwrap();
        let err = tx
            .create_group("acme", Plan::Free, None, "admin")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("exists already"), "{err}");
        drop(tx);
        // The failed statement aborted the transaction on PostgreSQL; create again in a fresh one.
        let mut tx = t.store.begin().await.unwrap();
        let acme2 = tx
            .create_group("acme", Plan::Pro, None, "admin")
            .await
            .unwrap();
        let beta = tx
            .create_group("beta", Plan::Free, Some(&acme2.id), "admin")
            .await
            .unwrap();
        let instance = NewThing {
            kind: ThingKind::PluginInstance,
            name: "@elizaos/plugin-a",
            group_id: Some(&acme2.id),
            status: "draft",
            properties: "{}",
        };
        let id = tx
            .insert_thing(&instance, event(EventType::PluginInstalled, "admin"))
            .await
            .unwrap();
        // The same name in another group is another thing.
        let other = NewThing {
            group_id: Some(&beta.id),
            ..instance.clone()
        };
        tx.insert_thing(&other, event(EventType::PluginInstalled, "admin"))
            .await
            .unwrap();
        tx.update_thing(
            &id,
            "active",
            r#"{"x":true}"#,
            event(EventType::PluginActivated, "admin"),
        )
        .await
        .unwrap();
        let err = tx
            .update_thing(
                "no-such-id",
                "active",
                "{}",
                event(EventType::PluginActivated, "admin"),
            )
            .await;
        assert!(err.is_err());
        tx.commit().await.unwrap();
        assert_ne!(acme.id, acme2.id);

        let groups = t.store.groups().await.unwrap();
        assert_eq!(
            groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
            ["acme", "beta"],
            "{backend:?}"
        );
        assert_eq!(
            t.store
                .group_by_name("beta")
                .await
                .unwrap()
                .unwrap()
                .parent_id,
            Some(acme2.id.clone())
        );
        let mine = t
            .store
            .things(ThingKind::PluginInstance, Some(&acme2.id))
            .await
            .unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].status, "active");
        assert_eq!(mine[0].properties, json!({ "x": true }));
        assert!(
            t.store
                .things(ThingKind::PluginInstance, None)
                .await
                .unwrap()
                .is_empty(),
            "nothing global"
        );
        let activated = EventFilter {
            event_type: Some(EventType::PluginActivated),
            ..Default::default()
        };
        assert_eq!(
            t.store.count_events(&activated).await.unwrap(),
            1,
            "{backend:?}"
        );
        let in_acme = EventFilter {
            group_id: Some(acme2.id.clone()),
            ..Default::default()
        };
        assert_eq!(
            t.store.count_events(&in_acme).await.unwrap(),
            1,
            "the group_created event only"
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn knowledge_is_replaced_and_removed() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let mut tx = t.store.begin().await.unwrap();
        let id = tx
            .insert_thing(
                &plugin("@elizaos/plugin-k"),
                event(EventType::PluginDiscovered, "t"),
            )
            .await
            .unwrap();
        tx.put_knowledge(&id, "readme", "first").await.unwrap();
        tx.put_knowledge(&id, "readme", "second").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            t.store.knowledge(&id, "readme").await.unwrap().as_deref(),
            Some("second"),
            "{backend:?}"
        );
        assert_eq!(
            t.store
                .catalog_knowledge("readme")
                .await
                .unwrap()
                .get(&id)
                .map(String::as_str),
            Some("second")
        );
        let mut tx = t.store.begin().await.unwrap();
        tx.put_knowledge(&id, "readme", "").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(t.store.knowledge(&id, "readme").await.unwrap(), None);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn sync_runs_read_newest_first_and_events_page_by_seq() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let mut tx = t.store.begin().await.unwrap();
        for (i, status) in ["ok", "partial"].iter().enumerate() {
            let run = SyncRun {
                id: format!("run-{i}"),
                started_at: format!("2026-11-2{i}T00:00:00.000Z"),
                finished_at: format!("2026-11-2{i}T00:00:01.000Z"),
                status: status.to_string(),
                report: json!({ "sources": [{ "name": "npm", "error": null }] }),
            };
            tx.record_sync(&run).await.unwrap();
        }
        for _ in 0..5 {
            tx.append_event(&event(EventType::PluginUpdated, "t"))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let runs = t.store.sync_runs(10).await.unwrap();
        assert_eq!(
            runs.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
            ["partial", "ok"],
            "{backend:?}"
        );
        assert_eq!(runs[0].report["sources"][0]["name"], "npm");

        let all = t.store.events(&EventFilter::default()).await.unwrap();
        assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "log order");
        let page = t
            .store
            .events(&EventFilter {
                after_seq: Some(all[1].seq),
                limit: Some(2),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            page.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [all[2].seq, all[3].seq],
            "{backend:?}"
        );
        t.cleanup().await;
    }
}

/// What `/metrics` reads of the store: the catalogue's syncs in short, and the time of every statement
/// by its kind (pool statements, a transaction's, its begin and commit).
#[tokio::test]
async fn the_sync_summary_and_the_statements_timed() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let summary = t.store.catalog_sync_summary().await.unwrap();
        assert_eq!(summary, Default::default(), "{backend:?}");
        let mut tx = t.store.begin().await.unwrap();
        for (i, status) in ["starter", "ok", "failed"].iter().enumerate() {
            tx.record_sync(&SyncRun {
                id: format!("run-{i}"),
                started_at: format!("2026-11-2{i}T00:00:00.000Z"),
                finished_at: format!("2026-11-2{i}T00:00:01.000Z"),
                status: status.to_string(),
                report: json!({}),
            })
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        let summary = t.store.catalog_sync_summary().await.unwrap();
        assert_eq!(summary.newest_status.as_deref(), Some("failed"));
        assert_eq!(
            summary.live_written_at.as_deref(),
            Some("2026-11-21T00:00:01.000Z"),
            "a failed sync wrote nothing: the age runs from the last that did"
        );
        assert_eq!(
            summary.starter_written_at.as_deref(),
            Some("2026-11-20T00:00:01.000Z")
        );

        let mut registry = prometheus_client::registry::Registry::default();
        t.store.metrics().register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        let count = |statement: &str| -> u64 {
            let prefix =
                format!("store_statement_duration_seconds_count{{statement=\"{statement}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&prefix))
                .unwrap_or_else(|| panic!("no {prefix} in {text}"))
                .parse()
                .unwrap()
        };
        assert!(count("select") >= 2, "{backend:?}: {text}");
        assert!(count("insert") >= 3, "{backend:?}: {text}");
        assert!(count("begin") >= 1 && count("commit") >= 1, "{text}");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn reopening_runs_no_migration_twice_and_sees_the_data() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let mut tx = t.store.begin().await.unwrap();
        tx.create_group("kept", Plan::Enterprise, None, "t")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let again = t.reopen().await;
        assert_eq!(
            again.group_by_name("kept").await.unwrap().unwrap().plan,
            Plan::Enterprise,
            "{backend:?}"
        );
        again.close().await;
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_unreachable_postgres_is_a_clear_error() {
    // A loopback port with nothing listening: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let location = Location::Url(format!(
        "postgres://plughub:secret@127.0.0.1:{port}/plughub"
    ));
    let err = Store::open(&location).await.err().expect("must fail");
    let msg = err.to_string();
    assert!(msg.contains("PostgreSQL server running"), "{msg}");
    assert!(
        !msg.contains("secret"),
        "the password must not be shown: {msg}"
    );
}

#[tokio::test]
async fn connections_link_things_and_are_replaced_and_removed() {
    use plughub_domain::ConnectionKind;
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let mut tx = t.store.begin().await.unwrap();
        let acme = tx
            .create_group("acme", Plan::Pro, None, "admin")
            .await
            .unwrap();
        let thing = |kind, name| NewThing {
            kind,
            name,
            group_id: Some(&acme.id),
            status: "draft",
            properties: "{}",
        };
        let instance = tx
            .insert_thing(
                &thing(ThingKind::PluginInstance, "@acme/plugin-a"),
                event(EventType::PluginInstalled, "admin"),
            )
            .await
            .unwrap();
        let mut agents = Vec::new();
        for name in ["eliza", "ada"] {
            agents.push(
                tx.insert_thing(
                    &thing(ThingKind::Agent, name),
                    event(EventType::AgentCreated, "admin"),
                )
                .await
                .unwrap(),
            );
        }
        for (agent, actions) in agents.iter().zip([json!(["A"]), json!(null)]) {
            tx.put_connection(
                ConnectionKind::PluginPowers,
                &instance,
                agent,
                Some(&acme.id),
                &json!({ "enabled_actions": actions }),
            )
            .await
            .unwrap();
        }
        // Putting the same link again replaces its metadata, never doubles it.
        tx.put_connection(
            ConnectionKind::PluginPowers,
            &instance,
            &agents[0],
            Some(&acme.id),
            &json!({ "enabled_actions": ["A", "B"] }),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let powers = t
            .store
            .connections_from(ConnectionKind::PluginPowers, &instance)
            .await
            .unwrap();
        assert_eq!(powers.len(), 2, "{backend:?}");
        assert_eq!(powers[0].to_id, agents[0]);
        assert_eq!(powers[0].metadata, json!({ "enabled_actions": ["A", "B"] }));
        assert_eq!(
            t.store
                .connections_to(ConnectionKind::PluginPowers, &agents[1])
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            t.store
                .connections_to(ConnectionKind::PluginUses, &agents[1])
                .await
                .unwrap()
                .is_empty(),
            "kinds are kept apart"
        );

        let mut tx = t.store.begin().await.unwrap();
        let removed = tx
            .remove_connections(ConnectionKind::PluginPowers, &instance, Some(&agents[0]))
            .await
            .unwrap();
        assert_eq!(removed, 1);
        assert_eq!(
            tx.remove_connections(ConnectionKind::PluginPowers, &instance, None)
                .await
                .unwrap(),
            1
        );
        tx.commit().await.unwrap();
        assert!(
            t.store
                .connections_from(ConnectionKind::PluginPowers, &instance)
                .await
                .unwrap()
                .is_empty()
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn runtime_cache_and_memories_stay_in_their_instance_and_agent() {
    use plughub_store::{MemoryQuery, NewMemory};
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let mut tx = t.store.begin().await.unwrap();
        let acme = tx
            .create_group("acme", Plan::Pro, None, "admin")
            .await
            .unwrap();
        let mut instances = Vec::new();
        for name in ["@a/plugin-one", "@a/plugin-two"] {
            let thing = NewThing {
                kind: ThingKind::PluginInstance,
                name,
                group_id: Some(&acme.id),
                status: "draft",
                properties: "{}",
            };
            instances.push(
                tx.insert_thing(&thing, event(EventType::PluginInstalled, "admin"))
                    .await
                    .unwrap(),
            );
        }
        tx.commit().await.unwrap();
        let (one, two) = (&instances[0], &instances[1]);

        t.store
            .cache_set(one, "k", &json!({ "n": 1 }), u64::MAX)
            .await
            .unwrap();
        t.store
            .cache_set(one, "k", &json!({ "n": 2 }), u64::MAX)
            .await
            .unwrap();
        assert_eq!(
            t.store.cache_get(one, "k").await.unwrap(),
            Some(json!({ "n": 2 }))
        );
        assert_eq!(
            t.store.cache_get(two, "k").await.unwrap(),
            None,
            "{backend:?}"
        );
        assert!(t.store.cache_delete(one, "k").await.unwrap());
        assert!(!t.store.cache_delete(one, "k").await.unwrap());

        for (instance, agent, table, text) in [
            (one, "eliza", "messages", "The weather in Paris"),
            (one, "eliza", "facts", "Paris is in France"),
            (one, "eliza", "messages", "Stock prices"),
            (one, "ada", "messages", "weather for ada"),
            (two, "eliza", "messages", "weather elsewhere"),
        ] {
            let content = json!({ "content": { "text": text }, "roomId": "r1" });
            t.store
                .create_memory(
                    &NewMemory {
                        group_id: &acme.id,
                        instance_id: instance,
                        agent_id: agent,
                        room_id: Some("r1"),
                        table,
                        content: &content,
                    },
                    u64::MAX,
                )
                .await
                .unwrap();
        }
        let query = MemoryQuery {
            instance_id: one,
            agent_id: "eliza",
            table: Some("messages"),
            room_id: None,
            text: None,
            count: 10,
        };
        let recent = t.store.memories(&query).await.unwrap();
        assert_eq!(recent.len(), 2, "{backend:?}");
        assert_eq!(recent[0]["content"]["text"], "Stock prices", "newest first");
        assert!(recent[0]["id"].is_string());
        let every_table = MemoryQuery {
            table: None,
            ..query
        };
        assert_eq!(t.store.memories(&every_table).await.unwrap().len(), 3);
        let facts = MemoryQuery {
            table: Some("facts"),
            ..query
        };
        let facts = t.store.memories(&facts).await.unwrap();
        assert_eq!(facts[0]["content"]["text"], "Paris is in France");
        assert_eq!(facts.len(), 1);
        let weather = MemoryQuery {
            room_id: Some("r1"),
            text: Some("WEATHER"),
            ..query
        };
        let found = t.store.memories(&weather).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["content"]["text"], "The weather in Paris");
        let elsewhere = MemoryQuery {
            room_id: Some("r2"),
            ..query
        };
        assert!(t.store.memories(&elsewhere).await.unwrap().is_empty());
        t.cleanup().await;
    }
}

#[tokio::test]
async fn the_catalogue_fingerprint_follows_every_catalogue_change_and_nothing_else() {
    // The store's times have milliseconds; two writes in one millisecond are one moment to it.
    async fn next_moment() {
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let store = &t.store;
        let mut seen = vec![store.catalog_fingerprint().await.unwrap()];
        assert_eq!(
            store.catalog_fingerprint().await.unwrap(),
            seen[0],
            "{backend:?}: nothing changed"
        );
        let mut changed = |what: &str, now| {
            assert!(!seen.contains(&now), "{backend:?}: {what} went unseen");
            seen.push(now);
        };

        let mut tx = store.begin().await.unwrap();
        let id = tx
            .insert_thing(
                &plugin("@elizaos/plugin-a"),
                event(EventType::PluginDiscovered, "test"),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        changed("a new entry", store.catalog_fingerprint().await.unwrap());

        for (what, status, properties, readme) in [
            ("an update", "listed", r#"{"a":2}"#, None),
            ("a deprecation", "deprecated", r#"{"a":2}"#, None),
            ("a new readme", "deprecated", r#"{"a":3}"#, Some("# a")),
            (
                "a changed readme",
                "deprecated",
                r#"{"a":4}"#,
                Some("# a, again"),
            ),
            ("a removed readme", "deprecated", r#"{"a":5}"#, Some("")),
        ] {
            next_moment().await;
            let mut tx = store.begin().await.unwrap();
            tx.update_thing(
                &id,
                status,
                properties,
                event(EventType::PluginUpdated, "test"),
            )
            .await
            .unwrap();
            if let Some(readme) = readme {
                tx.put_knowledge(&id, "readme", readme).await.unwrap();
            }
            tx.commit().await.unwrap();
            changed(what, store.catalog_fingerprint().await.unwrap());
        }

        let mut tx = store.begin().await.unwrap();
        tx.record_sync(&SyncRun {
            id: "run-1".into(),
            started_at: "2026-11-20T00:00:00.000Z".into(),
            finished_at: "2026-11-20T00:00:01.000Z".into(),
            status: "ok".into(),
            report: json!({}),
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        changed("a sync run", store.catalog_fingerprint().await.unwrap());

        // A trial says whether a plugin runs (search's facet): a new one, and one tried again with the
        // same time stamp (another machine's clock), are both seen.
        let tried = plughub_domain::trial::Trial {
            plugin: "@elizaos/plugin-a".into(),
            package: "@elizaos/plugin-a".into(),
            version: "1.0.0".into(),
            core_major: Some(1),
            registry: "http://127.0.0.1:4873/".into(),
            reached: plughub_domain::trial::Reached::Inited,
            cause: None,
            message: None,
            duration_ms: 1,
            disk_bytes: 1,
            packages: 1,
            manifest: None,
            needs: vec![],
            npm: None,
            rules: "0.1.0/1".into(),
            tried_at: "2026-11-20T00:00:00.000Z".into(),
        };
        for what in ["a trial", "a trial tried again"] {
            let mut tx = store.begin().await.unwrap();
            tx.put_trial(&tried, Some(&id), "compat").await.unwrap();
            tx.commit().await.unwrap();
            changed(what, store.catalog_fingerprint().await.unwrap());
        }

        // What an organisation installs is not the catalogue.
        let before = store.catalog_fingerprint().await.unwrap();
        next_moment().await;
        let mut tx = store.begin().await.unwrap();
        let acme = tx
            .create_group("acme", Plan::Pro, None, "admin")
            .await
            .unwrap();
        let instance = NewThing {
            kind: ThingKind::PluginInstance,
            group_id: Some(&acme.id),
            ..plugin("@elizaos/plugin-a")
        };
        let installed = tx
            .insert_thing(&instance, event(EventType::PluginInstalled, "admin"))
            .await
            .unwrap();
        tx.put_knowledge(&installed, "readme", "# installed")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.catalog_fingerprint().await.unwrap(),
            before,
            "{backend:?}"
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_group_made_elsewhere_after_a_miss_is_found() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        // Another node (a second store on the same database) makes the group after this one missed it.
        let other = t.reopen().await;
        assert!(t.store.group_by_name("gamma").await.unwrap().is_none());
        let mut tx = other.begin().await.unwrap();
        let made = tx
            .create_group("gamma", Plan::Free, None, "admin")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        for _ in 0..2 {
            let found = t.store.group_by_name("gamma").await.unwrap();
            assert_eq!(found.as_ref(), Some(&made), "{backend:?}");
        }
        other.close().await;
        t.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_appended_at_once_are_each_stored_and_answered_with_their_own_seq() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        // Appended together, they reach the writer together and share statements.
        let appends = (0..300).map(|i| {
            let store = t.store.clone();
            tokio::spawn(async move {
                let mut e = event(EventType::PluginActionExecuted, &format!("actor-{i}"));
                e.metadata = json!({ "n": i });
                store.append_event(&e).await.unwrap()
            })
        });
        let answered: Vec<_> = all_joined(appends).await;
        let mut seqs: Vec<i64> = answered.iter().map(|e| e.seq).collect();
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len(), 300, "every event its own seq ({backend:?})");
        let stored = t
            .store
            .events(&EventFilter {
                event_type: Some(EventType::PluginActionExecuted),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(stored.len(), 300, "{backend:?}");
        let by_seq: std::collections::HashMap<i64, _> =
            stored.into_iter().map(|e| (e.seq, e)).collect();
        for answer in &answered {
            let kept = &by_seq[&answer.seq];
            assert_eq!(kept.id, answer.id, "{backend:?}");
            assert_eq!(kept.actor, answer.actor, "{backend:?}");
            assert_eq!(kept.metadata, answer.metadata, "{backend:?}");
            assert_eq!(
                kept.actor,
                format!("actor-{}", answer.metadata["n"]),
                "{backend:?}"
            );
        }
        t.cleanup().await;
    }
}

async fn all_joined<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn executions_are_picked_and_paged_newest_first_in_sql() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let group = Some("g-1".to_string());
        let made = [
            (
                EventType::PluginActionExecuted,
                json!({ "kind": "action", "n": 0 }),
            ),
            (
                EventType::PluginErrorOccurred,
                json!({ "kind": "provider", "n": 1 }),
            ),
            (
                EventType::PluginErrorOccurred,
                json!({ "operation": "init", "n": 2 }),
            ),
            (
                EventType::PluginErrorOccurred,
                json!({ "operation": "install", "n": 3 }),
            ),
            (EventType::PluginInstalled, json!({ "n": 4 })),
            (
                EventType::PluginErrorOccurred,
                json!({ "kind": null, "n": 5 }),
            ),
            (EventType::PluginActionExecuted, json!({ "n": 6 })),
            (
                EventType::PluginErrorOccurred,
                json!({ "error": "\"kind\": no", "n": 7 }),
            ),
            // A NUL in a log line (PostgreSQL's jsonb would refuse the whole query).
            (
                EventType::PluginActionExecuted,
                json!({ "log": ["a\u{0}b"], "n": 8 }),
            ),
        ];
        let mut tx = t.store.begin().await.unwrap();
        for (event_type, metadata) in &made {
            tx.append_event(&NewEvent {
                group_id: group.clone(),
                metadata: metadata.clone(),
                ..event(*event_type, "t")
            })
            .await
            .unwrap();
        }
        // Another group's execution is never counted.
        tx.append_event(&NewEvent {
            group_id: Some("g-2".into()),
            metadata: json!({ "kind": "action" }),
            ..event(EventType::PluginActionExecuted, "t")
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let everything = EventFilter {
            group_id: group.clone(),
            ..Default::default()
        };
        let all = t.store.events(&everything).await.unwrap();
        let expected: Vec<i64> = all
            .iter()
            .rev()
            .filter(|e| e.is_execution())
            .map(|e| e.metadata["n"].as_i64().unwrap())
            .collect();
        assert_eq!(
            expected,
            [8, 6, 5, 2, 1, 0],
            "what the domain calls an execution"
        );
        let executions = EventFilter {
            executions_only: true,
            ..everything.clone()
        };
        assert_eq!(
            t.store.count_events(&executions).await.unwrap(),
            6,
            "{backend:?}"
        );
        let mut paged = Vec::new();
        for page in 0..4 {
            let read = t
                .store
                .events(&EventFilter {
                    newest_first: true,
                    offset: Some(page * 2),
                    limit: Some(2),
                    ..executions.clone()
                })
                .await
                .unwrap();
            assert!(read.len() <= 2);
            paged.extend(read.iter().map(|e| e.metadata["n"].as_i64().unwrap()));
        }
        assert_eq!(paged, expected, "SQL agrees with the domain ({backend:?})");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn events_appended_in_one_statement_come_back_in_order() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let events: Vec<NewEvent> = (0..5)
            .map(|i| NewEvent {
                metadata: json!({ "n": i }),
                ..event(EventType::PluginActionExecuted, &format!("a-{i}"))
            })
            .collect();
        let stored = t.store.append_events(&events).await.unwrap();
        let actors: Vec<&str> = stored.iter().map(|e| e.actor.as_str()).collect();
        assert_eq!(actors, ["a-0", "a-1", "a-2", "a-3", "a-4"], "{backend:?}");
        let read = t.store.events(&EventFilter::default()).await.unwrap();
        assert_eq!(read.len(), 5, "{backend:?}");
        for (kept, answered) in read.iter().zip(&stored) {
            assert_eq!(
                (kept.seq, &kept.id),
                (answered.seq, &answered.id),
                "{backend:?}"
            );
            assert_eq!(kept.metadata, answered.metadata, "{backend:?}");
        }
        assert!(t.store.append_events(&[]).await.unwrap().is_empty());
        t.cleanup().await;
    }
}

/// An instance of `plugin` in a new group `org`: (group id, instance id).
async fn instance_in(store: &Store, org: &str, plugin: &str) -> (String, String) {
    let mut tx = store.begin().await.unwrap();
    let group = tx
        .create_group(org, Plan::Free, None, "admin")
        .await
        .unwrap();
    let thing = NewThing {
        kind: ThingKind::PluginInstance,
        name: plugin,
        group_id: Some(&group.id),
        status: "draft",
        properties: "{}",
    };
    let instance = tx
        .insert_thing(&thing, event(EventType::PluginInstalled, "admin"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (group.id, instance)
}

#[tokio::test]
async fn memory_ids_are_each_instances_own() {
    use plughub_store::{MemoryQuery, NewMemory};
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let acme = instance_in(&t.store, "acme", "@a/plugin-notes").await;
        let globex = instance_in(&t.store, "globex", "@a/plugin-notes").await;
        for ((group, instance), text) in [(&acme, "acme's note"), (&globex, "globex's note")] {
            let content = json!({ "id": "note-1", "content": { "text": text } });
            let memory = NewMemory {
                group_id: group,
                instance_id: instance,
                agent_id: "eliza",
                room_id: None,
                table: "messages",
                content: &content,
            };
            // The second organisation's write is not blocked by the first's, nor told it exists.
            assert_eq!(
                t.store.create_memory(&memory, u64::MAX).await.unwrap(),
                "note-1",
                "{backend:?}"
            );
        }
        for ((_, instance), text) in [(&acme, "acme's note"), (&globex, "globex's note")] {
            let read = t
                .store
                .memories(&MemoryQuery {
                    instance_id: instance,
                    agent_id: "eliza",
                    table: None,
                    room_id: None,
                    text: None,
                    count: 10,
                })
                .await
                .unwrap();
            assert_eq!(read.len(), 1, "{backend:?}");
            assert_eq!(read[0]["id"], "note-1");
            assert_eq!(read[0]["content"]["text"], text, "each reads its own");
        }
        // Within one instance an id is still unique, and saying so tells nothing of other instances.
        let again = json!({ "id": "note-1", "content": { "text": "again" } });
        let err = t
            .store
            .create_memory(
                &NewMemory {
                    group_id: &acme.0,
                    instance_id: &acme.1,
                    agent_id: "eliza",
                    room_id: None,
                    table: "messages",
                    content: &again,
                },
                u64::MAX,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("note-1")),
            "{backend:?}: {err}"
        );
        // A memory that is not an object is refused, not kept (nor a panic).
        for malformed in [json!("x"), json!(7), json!([1]), json!(null)] {
            let err = t
                .store
                .create_memory(
                    &NewMemory {
                        group_id: &acme.0,
                        instance_id: &acme.1,
                        agent_id: "eliza",
                        room_id: None,
                        table: "messages",
                        content: &malformed,
                    },
                    u64::MAX,
                )
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::Invalid(_)), "{malformed}: {err}");
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn cache_and_memories_stay_within_the_storage_quota() {
    use plughub_store::NewMemory;
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let (group, one) = instance_in(&t.store, "acme", "@a/plugin-one").await;
        let (_, two) = instance_in(&t.store, "globex", "@a/plugin-one").await;
        let quota = 10_000;
        let kb = |n: usize| json!("x".repeat(n * 1_000));
        // key (2 bytes) + value (the JSON string: 4,000 bytes and its quotes).
        t.store.cache_set(&one, "k1", &kb(4), quota).await.unwrap();
        assert_eq!(t.store.storage_used(&one).await.unwrap(), 4_004);
        t.store.cache_set(&one, "k2", &kb(4), quota).await.unwrap();
        let full = t.store.cache_set(&one, "k3", &kb(4), quota).await;
        assert!(
            matches!(full, Err(StoreError::StorageFull { quota: 10_000 })),
            "{backend:?}: {full:?}"
        );
        assert_eq!(t.store.cache_get(&one, "k3").await.unwrap(), None);
        assert_eq!(t.store.storage_used(&one).await.unwrap(), 8_008);
        // Replacing a value counts the difference: smaller always passes, larger only within the quota.
        t.store.cache_set(&one, "k1", &kb(1), quota).await.unwrap();
        assert_eq!(t.store.storage_used(&one).await.unwrap(), 5_008);
        assert!(t.store.cache_set(&one, "k1", &kb(6), quota).await.is_err());
        t.store.cache_set(&one, "k1", &kb(5), quota).await.unwrap();
        // Memories count in the same total.
        let memory = |text: String| json!({ "content": { "text": text } });
        let big = memory("y".repeat(900));
        let new = |content| NewMemory {
            group_id: &group,
            instance_id: &one,
            agent_id: "eliza",
            room_id: None,
            table: "messages",
            content,
        };
        let full = t.store.create_memory(&new(&big), quota).await;
        assert!(
            matches!(full, Err(StoreError::StorageFull { .. })),
            "{full:?}"
        );
        // Deleting frees room.
        assert!(t.store.cache_delete(&one, "k2").await.unwrap());
        assert_eq!(t.store.storage_used(&one).await.unwrap(), 5_004);
        let id = t.store.create_memory(&new(&big), quota).await.unwrap();
        let used = t.store.storage_used(&one).await.unwrap();
        assert!(used > 5_004 + 1_800, "content and its search text: {used}");
        assert!(
            !t.store.delete_memory(&one, "ada", &id).await.unwrap(),
            "another agent's"
        );
        assert!(t.store.delete_memory(&one, "eliza", &id).await.unwrap());
        assert_eq!(t.store.storage_used(&one).await.unwrap(), 5_004);
        // Another instance's quota is its own.
        t.store.cache_set(&two, "k1", &kb(9), quota).await.unwrap();
        assert_eq!(t.store.storage_used(&one).await.unwrap(), 5_004);
        // Clearing an instance (a `plughub dev test` run) removes its cache and memories and their
        // bytes, and nothing of another instance's.
        t.store
            .create_memory(&new(&memory("m".into())), quota)
            .await
            .unwrap();
        t.store.clear_runtime_state(&one).await.unwrap();
        assert_eq!(t.store.storage_used(&one).await.unwrap(), 0);
        assert_eq!(t.store.cache_get(&one, "k1").await.unwrap(), None);
        let all = plughub_store::MemoryQuery {
            instance_id: &one,
            agent_id: "eliza",
            table: None,
            room_id: None,
            text: None,
            count: 10,
        };
        assert!(t.store.memories(&all).await.unwrap().is_empty());
        assert!(t.store.cache_get(&two, "k1").await.unwrap().is_some());

        // Concurrent writers of one instance never pass the quota together, and the total stays the
        // sum of the rows.
        let (_, three) = instance_in(&t.store, "initech", "@a/plugin-one").await;
        let writers = (0..8).map(|i| {
            let store = t.store.clone();
            let three = three.clone();
            tokio::spawn(async move {
                store
                    .cache_set(&three, &format!("k{i}"), &kb(3), quota)
                    .await
                    .is_ok()
            })
        });
        let kept = all_joined(writers)
            .await
            .into_iter()
            .filter(|ok| *ok)
            .count();
        assert_eq!(kept, 3, "{backend:?}: 3 of 3,004 bytes fit in 10,000");
        assert_eq!(t.store.storage_used(&three).await.unwrap(), 3 * 3_004);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn executions_are_counted_over_an_index_without_reading_their_logs() {
    use plughub_store::ExecutionScope;
    // A failed run's log, as large as a test can afford to write three times on both databases.
    let log = "x".repeat(8 << 20);
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let at = |group: &str, target: &str, event_type, metadata| NewEvent {
            group_id: Some(group.into()),
            target: Some(target.into()),
            metadata,
            ..event(event_type, "t")
        };
        let before = [at(
            "g-1",
            "i-1",
            EventType::PluginActionExecuted,
            json!({ "kind": "action" }),
        )];
        t.store.append_events(&before).await.unwrap();
        // Times are kept to the millisecond: what follows is strictly after `since`.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let since = plughub_store::now_rfc3339();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let mut made = vec![
            at(
                "g-1",
                "i-1",
                EventType::PluginActionExecuted,
                json!({ "kind": "action" }),
            ),
            at("g-1", "i-1", EventType::PluginActionExecuted, json!({})),
            at(
                "g-1",
                "i-2",
                EventType::PluginErrorOccurred,
                json!({ "kind": "provider" }),
            ),
            at(
                "g-1",
                "i-1",
                EventType::PluginErrorOccurred,
                json!({ "operation": "init" }),
            ),
            at(
                "g-1",
                "i-1",
                EventType::PluginErrorOccurred,
                json!({ "operation": "install" }),
            ),
            at(
                "g-1",
                "i-1",
                EventType::PluginErrorOccurred,
                json!({ "kind": null }),
            ),
            at(
                "g-1",
                "i-1",
                EventType::PluginAttemptFailed,
                json!({ "kind": "action" }),
            ),
            at(
                "g-1",
                "i-1",
                EventType::PluginInstalled,
                json!({ "kind": "action" }),
            ),
            at(
                "g-2",
                "i-9",
                EventType::PluginActionExecuted,
                json!({ "kind": "action" }),
            ),
        ];
        for _ in 0..3 {
            made.push(at(
                "g-1",
                "i-1",
                EventType::PluginErrorOccurred,
                json!({ "kind": "action", "log": [log] }),
            ));
        }
        for event in &made {
            t.store.append_event(event).await.unwrap();
        }
        // The count as it was made before: the successes counted, every failure read and judged.
        let old_count = |group: Option<&str>, target: Option<&str>| {
            let store = t.store.clone();
            let since = since.clone();
            let (group, target) = (group.map(str::to_string), target.map(str::to_string));
            async move {
                let filter = |event_type| EventFilter {
                    event_type: Some(event_type),
                    group_id: group.clone(),
                    target: target.clone(),
                    since: Some(since.clone()),
                    ..Default::default()
                };
                let succeeded = store
                    .count_events(&filter(EventType::PluginActionExecuted))
                    .await
                    .unwrap();
                let failed = store
                    .events(&filter(EventType::PluginErrorOccurred))
                    .await
                    .unwrap()
                    .iter()
                    .filter(|e| e.is_execution())
                    .count() as i64;
                succeeded + failed
            }
        };
        // Timed on the group, whose window holds the three large logs: the old count reads them all.
        let started = std::time::Instant::now();
        old_count(Some("g-1"), None).await;
        let reading = started.elapsed();
        // The best of a few counts: the first may wait for the pool to open a connection.
        let mut counting = std::time::Duration::MAX;
        for _ in 0..5 {
            let started = std::time::Instant::now();
            t.store
                .count_executions_since(ExecutionScope::Group("g-1"), &since)
                .await
                .unwrap();
            counting = counting.min(started.elapsed());
        }
        eprintln!("{backend:?}: reading the failures {reading:?}, counting in SQL {counting:?}");
        assert!(
            counting * 10 < reading,
            "{backend:?}: the count reads no log ({counting:?} against {reading:?})"
        );
        for (scope, old, expected) in [
            (
                ExecutionScope::Group("g-1"),
                old_count(Some("g-1"), None).await,
                8,
            ),
            (
                ExecutionScope::Instance("i-1"),
                old_count(None, Some("i-1")).await,
                7,
            ),
            (
                ExecutionScope::Instance("i-2"),
                old_count(None, Some("i-2")).await,
                1,
            ),
            (
                ExecutionScope::Group("g-3"),
                old_count(Some("g-3"), None).await,
                0,
            ),
        ] {
            let new = t.store.count_executions_since(scope, &since).await.unwrap();
            assert_eq!((new, old), (expected, expected), "{backend:?} {scope:?}");
            // Served by the partial index of executions alone: the events themselves, and so their
            // metadata, are not read (SQLite: a covering index; PostgreSQL: no filter left to apply).
            let plan = t
                .store
                .explain_count_executions(scope, &since)
                .await
                .unwrap();
            let index = match scope {
                ExecutionScope::Group(_) => "events_group_executions",
                ExecutionScope::Instance(_) => "events_target_executions",
            };
            match backend {
                // SQLite names the table (its plan keeps it open), but leaves the condition the
                // index implies unevaluated: the timing below shows no log is read.
                plughub_testkit::TestBackend::Sqlite => {
                    assert!(plan.contains(&format!("USING INDEX {index}")), "{plan}")
                }
                plughub_testkit::TestBackend::Postgres => {
                    assert!(plan.contains(index) && !plan.contains("metadata"), "{plan}")
                }
            }
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn plans_change_with_their_event_and_summaries_count_members_and_plugins() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let mut tx = t.store.begin().await.unwrap();
        let acme = tx.create_group("acme", Plan::Pro, None, "t").await.unwrap();
        let ada = tx
            .create_person("ada@acme.test", "Ada", None, "t")
            .await
            .unwrap();
        tx.set_membership(&ada.id, &acme.id, plughub_domain::Role::OrgOwner, "t")
            .await
            .unwrap();
        tx.insert_thing(
            &NewThing {
                kind: ThingKind::PluginInstance,
                name: "@acme/plugin-x",
                group_id: Some(&acme.id),
                status: "installed",
                properties: "{}",
            },
            event(EventType::PluginInstalled, "t"),
        )
        .await
        .unwrap();
        tx.create_token(&ada.id, "ci", "hash", "2999-01-01T00:00:00.000Z", "t")
            .await
            .unwrap();
        tx.commit().await.unwrap();

        assert_eq!(
            t.store.group_by_name("acme").await.unwrap().unwrap().plan,
            Plan::Pro
        );
        let mut tx = t.store.begin().await.unwrap();
        assert!(tx.set_plan(&acme.id, Plan::Free, "admin").await.unwrap());
        assert!(
            !tx.set_plan("no-such-group", Plan::Free, "admin")
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        t.store.forget_group("acme");
        assert_eq!(
            t.store.group_by_name("acme").await.unwrap().unwrap().plan,
            Plan::Free,
            "{backend:?}"
        );
        let events = t
            .store
            .events(&EventFilter {
                event_type: Some(EventType::PlanChanged),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].metadata,
            json!({ "plan": "free", "before": "pro" })
        );

        let summaries = t.store.group_summaries().await.unwrap();
        assert_eq!(summaries.len(), 1);
        assert_eq!(
            (
                summaries[0].members,
                summaries[0].plugins,
                summaries[0].plan
            ),
            (1, 1, Plan::Free),
            "{backend:?}"
        );
        let tokens = t.store.all_tokens().await.unwrap();
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].1, "ada@acme.test");
        let members = t.store.members(&acme.id).await.unwrap();
        assert_eq!(members[0].display_name, "Ada");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_nul_in_an_event_s_metadata_is_kept_as_a_replacement_character() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let since = plughub_store::now_rfc3339();
        // A plugin's error, log line and answer may hold a NUL; PostgreSQL's JSON functions refuse one.
        let stored = t
            .store
            .append_event(&NewEvent {
                event_type: EventType::PluginErrorOccurred,
                actor: "p-1".into(),
                target: Some("i-1".into()),
                group_id: Some("g-nul".into()),
                metadata: json!({ "kind": "action", "component": "A\u{0}B",
                                  "error": "bad\u{0}byte", "log": ["line\u{0}"] }),
            })
            .await
            .unwrap();
        assert_eq!(stored.metadata["error"], "bad\u{FFFD}byte", "{backend:?}");
        let read = t
            .store
            .events(&EventFilter {
                group_id: Some("g-nul".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(read.len(), 1, "{backend:?}");
        assert_eq!(read[0].metadata["component"], "A\u{FFFD}B", "{backend:?}");
        assert_eq!(read[0].metadata["log"][0], "line\u{FFFD}", "{backend:?}");
        // Counted as the execution it records, by the SQL that reads the metadata.
        let counted = t
            .store
            .count_executions_since(plughub_store::ExecutionScope::Group("g-nul"), &since)
            .await
            .unwrap();
        assert_eq!(counted, 1, "{backend:?}");
        t.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transactions_that_read_before_they_write_all_commit_when_run_at_once() {
    // A transaction reads, then writes: another connection's commit in between must make it wait
    // for the write lock, never fail it (a "database is locked" reached users as a 500 on a plan change).
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let mut tx = t.store.begin().await.unwrap();
        let acme = tx.create_group("acme", Plan::Pro, None, "t").await.unwrap();
        tx.commit().await.unwrap();
        let changes = (0..40).map(|i| {
            let store = t.store.clone();
            let id = acme.id.clone();
            tokio::spawn(async move {
                let plan = if i % 2 == 0 {
                    Plan::Enterprise
                } else {
                    Plan::Pro
                };
                let mut tx = store.begin().await?;
                assert!(tx.set_plan(&id, plan, &format!("actor-{i}")).await?);
                tx.commit().await
            })
        });
        for (i, outcome) in all_joined(changes).await.into_iter().enumerate() {
            if let Err(e) = outcome {
                panic!("change {i} failed on {backend:?}: {e}");
            }
        }
        let events = t
            .store
            .events(&EventFilter {
                event_type: Some(EventType::PlanChanged),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(events.len(), 40, "{backend:?}");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn trials_are_kept_per_version_and_registry_and_replaced_when_tried_again() {
    use plughub_domain::trial::{Baseline, Cause, Reached, Trial};
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let trial = |version: &str, reached: Reached, cause: Option<Cause>| Trial {
            plugin: "@elizaos/plugin-x".into(),
            package: "@elizaos/plugin-x".into(),
            version: version.into(),
            core_major: Some(1),
            registry: "http://127.0.0.1:4873/".into(),
            reached,
            cause,
            message: cause.map(|c| c.label().to_string()),
            duration_ms: 1200,
            disk_bytes: 4096,
            packages: 12,
            manifest: (reached == Reached::Inited).then(|| json!({ "actions": ["HELLO"] })),
            needs: vec!["addons".into()],
            npm: Some(Baseline {
                reached: Reached::Loaded,
                message: None,
                duration_ms: 900,
            }),
            rules: "0.1.0/1".into(),
            tried_at: format!("2026-12-07T10:00:0{}.000Z", version.len() % 10),
        };
        let first = trial("1.0.0", Reached::Loaded, Some(Cause::SettingsRejected));
        let mut tx = t.store.begin().await.unwrap();
        tx.put_trial(&first, None, "compat").await.unwrap();
        tx.put_trial(
            &trial("0.25.9", Reached::Nothing, Some(Cause::PackageMissing)),
            None,
            "compat",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let kept = t
            .store
            .trial("@elizaos/plugin-x", "1.0.0", "http://127.0.0.1:4873/")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept, first, "{backend:?}");
        // Tried again: the row is replaced, and each try has its event.
        let again = trial("1.0.0", Reached::Inited, None);
        let mut tx = t.store.begin().await.unwrap();
        tx.put_trial(&again, None, "compat").await.unwrap();
        tx.commit().await.unwrap();
        let all = t.store.trials(None).await.unwrap();
        assert_eq!(all.len(), 2, "{backend:?}");
        assert_eq!(all[1], again, "{backend:?}");
        assert!(all[1].runs());
        assert_eq!(
            t.store
                .trials(Some("http://elsewhere/"))
                .await
                .unwrap()
                .len(),
            0
        );
        assert_eq!(
            t.store.trials_of("@elizaos/plugin-x").await.unwrap().len(),
            2
        );
        let events = t
            .store
            .events(&EventFilter {
                event_type: Some(EventType::PluginTried),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(events.len(), 3, "{backend:?}");
        assert_eq!(events.last().unwrap().metadata["reached"], "inited");
        t.cleanup().await;
    }
}

/// An organisation deleted takes everything of it (its things, its events, its members' roles) and
/// nothing of another; the deletion is one event on the platform's log; a group with sub-groups waits
/// for them; and events stay append-only for everyone else.
#[tokio::test]
async fn deleting_a_group_takes_everything_of_it_and_nothing_else() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let mut tx = t.store.begin().await.unwrap();
        let gone = tx
            .create_group("gone", Plan::Free, None, "test")
            .await
            .unwrap();
        let kept = tx
            .create_group("kept", Plan::Free, None, "test")
            .await
            .unwrap();
        let child = tx
            .create_group("child", Plan::Free, Some(&kept.id), "test")
            .await
            .unwrap();
        for group in [&gone, &kept] {
            tx.insert_thing(
                &NewThing {
                    kind: ThingKind::PluginInstance,
                    name: "@x/plugin-a",
                    group_id: Some(&group.id),
                    status: "installed",
                    properties: "{}",
                },
                NewEvent {
                    group_id: Some(group.id.clone()),
                    ..event(EventType::PluginInstalled, "test")
                },
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        let of = |group: &str| EventFilter {
            group_id: Some(group.to_string()),
            ..Default::default()
        };
        let kept_events = t.store.count_events(&of(&kept.id)).await.unwrap();
        let refused = t.store.delete_group(&kept.id, "kept", "owner").await;
        assert!(
            matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("sub-organisations")),
            "{backend:?}: {refused:?}"
        );
        let removed = t
            .store
            .delete_group(&gone.id, "gone", "owner")
            .await
            .unwrap();
        assert_eq!(removed.things, 1, "{backend:?}");
        assert_eq!(removed.events, 2, "{backend:?}: created and installed");
        assert!(t.store.group_by_name("gone").await.unwrap().is_none());
        assert_eq!(t.store.count_events(&of(&gone.id)).await.unwrap(), 0);
        assert!(
            t.store
                .things(ThingKind::PluginInstance, Some(&gone.id))
                .await
                .unwrap()
                .is_empty()
        );
        // The other organisations are whole.
        assert_eq!(
            t.store.count_events(&of(&kept.id)).await.unwrap(),
            kept_events
        );
        assert_eq!(
            t.store
                .things(ThingKind::PluginInstance, Some(&kept.id))
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            t.store.group_by_name("child").await.unwrap().is_some(),
            "{}",
            child.id
        );
        let logged = t
            .store
            .events(&EventFilter {
                event_type: Some(EventType::GroupDeleted),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(logged.len(), 1);
        assert_eq!(
            (logged[0].actor.as_str(), logged[0].group_id.as_deref()),
            ("owner", None)
        );
        assert_eq!(logged[0].metadata["removed"]["things"], 1);
        // The permit went with the transaction: a plain deletion is refused again.
        sqlx::any::install_default_drivers();
        let url = match &t.location {
            Location::DataDir(d) => format!("sqlite://{}", d.join(Location::SQLITE_FILE).display()),
            Location::Url(u) => u.clone(),
        };
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let delete = sqlx::query("DELETE FROM events").execute(&pool).await;
        assert!(
            delete.unwrap_err().to_string().contains("append-only"),
            "{backend:?}"
        );
        pool.close().await;
        t.cleanup().await;
    }
}
