//! Trials (what compatibility runs found) wherever the catalogue is shown, through the real router on
//! SQLite and PostgreSQL: the JSON export's totals and failures grouped by cause, the "runs on plughub"
//! search facet and the badge its hits carry, the trials on a plugin's API detail and pages, and
//! trials written by another process (the CLI's `compat run` on a shared store) reaching this server's
//! search the way every catalogue change does, by the catalogue's fingerprint.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use plughub_domain::trial::{Baseline, Cause, Reached, Trial};
use plughub_server::{AppState, router};
use plughub_store::Store;
use plughub_testkit::{BACKENDS, TestStore};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

const REGISTRY: &str = "http://127.0.0.1:9/npm/";
const OTHER_REGISTRY: &str = "http://127.0.0.1:10/mirror/";
const SQL: &str = "@elizaos/plugin-sql";
const EVM: &str = "@elizaos/plugin-evm";
const BROWSER: &str = "@elizaos/plugin-browser";
const EDGE_TTS: &str = "@elizaos/plugin-edge-tts";

fn trial(plugin: &str, version: &str, reached: Reached, cause: Option<Cause>) -> Trial {
    Trial {
        plugin: plugin.into(),
        package: plugin.into(),
        version: version.into(),
        core_major: Some(1),
        registry: REGISTRY.into(),
        reached,
        cause,
        message: cause.map(|c| format!("{}: the first lines of what failed", c.as_str())),
        duration_ms: 4200,
        disk_bytes: 3 * 1024 * 1024,
        packages: 120,
        manifest: None,
        needs: vec![],
        npm: Some(Baseline {
            reached: if cause == Some(Cause::PackageMissing) {
                Reached::Nothing
            } else {
                Reached::Loaded
            },
            message: None,
            duration_ms: 3000,
        }),
        rules: "0.1.0/1".into(),
        tried_at: format!("2026-12-0{}T10:00:00.000Z", 1 + version.len() % 5),
    }
}

/// What a compatibility run of the CLI writes: SQL runs, EVM's older version ran and its newest hits
/// the open-files limit, the browser needs to run Chromium, edge-tts cannot install; on another
/// registry, SQL is missing.
fn run() -> Vec<Trial> {
    let mut browser = trial(BROWSER, "1.0.5", Reached::Loaded, Some(Cause::NeedsProgram));
    browser.needs = vec!["process.spawn:chromium".into()];
    let mut mirror = trial(SQL, "1.0.9", Reached::Nothing, Some(Cause::PackageMissing));
    mirror.registry = OTHER_REGISTRY.into();
    mirror.npm = None;
    // Tried on the mirror before the run on the registry: SQL's newest try is the one that inited.
    mirror.tried_at = "2026-11-30T10:00:00.000Z".into();
    vec![
        trial(SQL, "1.0.9", Reached::Inited, None),
        trial(EVM, "1.0.2", Reached::Inited, None),
        trial(EVM, "1.0.10", Reached::Loaded, Some(Cause::SandboxLimit)),
        browser,
        trial(
            EDGE_TTS,
            "1.0.0",
            Reached::Nothing,
            Some(Cause::WorkspaceDependency),
        ),
        mirror,
    ]
}

async fn write(store: &Store, trials: &[Trial]) {
    let mut tx = store.begin().await.unwrap();
    for t in trials {
        tx.put_trial(t, None, "compat-run").await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let (status, text) = get_text(app, uri).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get_text(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let request = Request::builder().uri(uri).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn names(found: &Value) -> Vec<&str> {
    found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn trials_reach_search_the_detail_the_export_and_the_pages() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let catalog = Arc::new(Catalog::open(t.store.clone()).await.unwrap());
        let app = router(AppState::new(
            catalog.clone(),
            Accounts::new(t.store.clone()),
            None,
        ));

        // Before any run: everything is untried, the export is empty.
        let (status, found) = get(&app, "/api/plugins?q=evm&per_page=5").await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {found}");
        assert_eq!(found["hits"][0]["name"], EVM);
        assert_eq!(found["hits"][0]["runs"], "untried");
        assert_eq!(found["hits"][0]["trial"], Value::Null);
        let (_, report) = get(&app, "/api/catalog/compatibility").await;
        assert_eq!(report["totals"]["tried"], 0, "{backend:?}: {report}");
        assert_eq!(report["newest_trial_at"], Value::Null);

        // Another process (the CLI's run) writes to the shared store: this server's search follows
        // when it next checks the catalogue's fingerprint, as `serve` does on its interval.
        write(&t.store, &run()).await;
        assert!(
            catalog.refresh_if_changed().await.unwrap(),
            "{backend:?}: trials change the catalogue's fingerprint"
        );
        assert!(!catalog.refresh_if_changed().await.unwrap(), "{backend:?}");

        // The facet: SQL's and EVM's newest tried versions decide.
        let (status, found) = get(&app, "/api/plugins?runs=yes&per_page=100").await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {found}");
        assert_eq!(names(&found), [SQL], "{backend:?}: {found}");
        assert_eq!(found["hits"][0]["trial"]["reached"], "inited");
        let (_, found) = get(&app, "/api/plugins?runs=no&per_page=100&sort=stars").await;
        let mut failing = names(&found);
        failing.sort();
        assert_eq!(failing, [BROWSER, EDGE_TTS, EVM], "{backend:?}: {found}");
        let evm = found["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == EVM)
            .unwrap();
        assert_eq!(evm["runs"], "no");
        assert_eq!(evm["trial"]["version"], "1.0.10");
        assert_eq!(evm["trial"]["stopped_at"], "init");
        assert_eq!(evm["trial"]["cause"], "sandbox_limit");
        assert_eq!(evm["trial"]["cause_label"], "hit a sandbox limit");
        assert_eq!(evm["trial"]["fault"], "plughub");
        let (_, found) = get(&app, "/api/plugins?runs=untried&per_page=100").await;
        let untried = names(&found);
        assert!(!untried.is_empty(), "{backend:?}");
        for tried in [SQL, EVM, BROWSER, EDGE_TTS] {
            assert!(!untried.contains(&tried), "{backend:?}: {tried}");
        }
        let (_, all) = get(&app, "/api/plugins?facets=true&per_page=1").await;
        assert_eq!(all["facets"]["runs"]["yes"], 1, "{backend:?}: {all}");
        assert_eq!(all["facets"]["runs"]["no"], 3);
        assert_eq!(
            all["facets"]["runs"]["untried"].as_u64().unwrap() as usize,
            all["total"].as_u64().unwrap() as usize - 4
        );
        let (status, refused) = get(&app, "/api/plugins?runs=maybe").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend:?}: {refused}");

        // The export: totals per version tried, failures by cause with whose fault, grants needed.
        let (status, report) = get(&app, "/api/catalog/compatibility").await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {report}");
        let totals = &report["totals"];
        assert_eq!(
            [
                &totals["plugins"],
                &totals["tried"],
                &totals["installed"],
                &totals["loaded"],
                &totals["inited"],
                &totals["npm_tried"],
                &totals["npm_installed"],
                &totals["npm_loaded"],
            ],
            [4, 6, 4, 4, 2, 5, 5, 5],
            "{backend:?}: {totals}"
        );
        assert_eq!(
            report["registries"],
            serde_json::json!([OTHER_REGISTRY, REGISTRY])
        );
        assert_eq!(report["newest_trial_at"], "2026-12-02T10:00:00.000Z");
        let causes: Vec<(&str, &str, &str, usize)> = report["causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["cause"].as_str().unwrap(),
                    g["stage"].as_str().unwrap(),
                    g["fault"].as_str().unwrap(),
                    g["trials"].as_array().unwrap().len(),
                )
            })
            .collect();
        assert_eq!(
            causes,
            [
                ("package_missing", "install", "plugin", 1),
                ("workspace_dependency", "install", "plugin", 1),
                ("needs_program", "init", "needs", 1),
                ("sandbox_limit", "init", "plughub", 1),
            ],
            "{backend:?}"
        );
        let limit = &report["causes"][3];
        assert_eq!(limit["label"], "hit a sandbox limit");
        assert_eq!(limit["trials"][0]["plugin"], EVM);
        assert_eq!(limit["trials"][0]["version"], "1.0.10");
        assert_eq!(report["needs"][0]["need"], "process.spawn:chromium");
        assert_eq!(report["needs"][0]["trials"][0]["plugin"], BROWSER);
        assert_eq!(report["trials"].as_array().unwrap().len(), 6);
        assert_eq!(report["trials"][0]["plugin"], BROWSER);
        assert_eq!(report["trials"][0]["cause_label"], "needs to run a program");

        // One registry's report only.
        let (status, mirror) = get(
            &app,
            "/api/catalog/compatibility?registry=http%3A%2F%2F127.0.0.1%3A10%2Fmirror%2F",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {mirror}");
        assert_eq!(mirror["totals"]["tried"], 1);
        assert_eq!(mirror["registries"], serde_json::json!([OTHER_REGISTRY]));
        assert_eq!(mirror["causes"][0]["cause"], "package_missing");
        let (status, refused) = get(&app, "/api/catalog/compatibility?org=acme").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend:?}: {refused}");

        // The detail: every trial of its versions, with what the cause means.
        let (status, detail) = get(&app, "/api/plugins/evm").await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {detail}");
        assert_eq!(detail["runs"], "no", "{backend:?}: {detail}");
        let trials = detail["trials"].as_array().unwrap();
        assert_eq!(trials.len(), 2, "{backend:?}: {detail}");
        let newest = &trials[0];
        assert_eq!(newest["version"], "1.0.10", "newest version first");
        assert_eq!(newest["reached"], "loaded");
        assert_eq!(newest["cause"], "sandbox_limit");
        assert_eq!(newest["cause_label"], "hit a sandbox limit");
        assert_eq!(newest["fault"], "plughub");
        assert_eq!(newest["stopped_at"], "init");
        assert_eq!(newest["npm"]["reached"], "loaded");
        assert_eq!(newest["registry"], REGISTRY);
        assert_eq!(newest["disk_bytes"], 3 * 1024 * 1024);
        assert_eq!(newest["duration_ms"], 4200);
        assert_eq!(
            newest["message"],
            "sandbox_limit: the first lines of what failed"
        );
        let (_, browser) = get(&app, "/api/plugins/browser").await;
        assert_eq!(
            browser["trials"][0]["needs"],
            serde_json::json!(["process.spawn:chromium"])
        );

        // The pages.
        let (status, page) = get_text(&app, "/plugins/compatibility").await;
        assert_eq!(status, StatusCode::OK, "{backend:?}: {page}");
        for shown in [
            "hit a sandbox limit",
            "a workspace dependency with no published version",
            "process.spawn:chromium",
            "href=\"/plugins/@elizaos/plugin-evm#trials\"",
            "href=\"/api/catalog/compatibility\"",
            REGISTRY,
            "2026-12-02",
        ] {
            assert!(page.contains(shown), "{backend:?}: {shown} not on the page");
        }
        let (_, page) = get_text(&app, "/plugins?runs=no").await;
        assert!(
            page.contains("fails at init: hit a sandbox limit"),
            "{backend:?}: the badge"
        );
        assert!(page.contains("href=\"/plugins/compatibility\""));
        let (_, page) = get_text(&app, "/plugins?runs=yes").await;
        assert!(page.contains(">runs on plughub</span>"), "{backend:?}");
        let (_, page) = get_text(&app, "/plugins/@elizaos/plugin-evm").await;
        assert!(page.contains("Does it run on plughub?"), "{backend:?}");
        assert!(page.contains("data-trial=\"1.0.10\""));
        assert!(
            page.contains("fails at init: hit a sandbox limit"),
            "{backend:?}: the badge"
        );
        assert!(page.contains("hit a sandbox limit"));
        t.cleanup().await;
    }
}
