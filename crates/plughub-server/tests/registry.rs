//! plughub as a registry, through the real router, on SQLite and PostgreSQL, with real tarballs, the real
//! analyzer and a loopback npm registry: a publish found by catalogue search at once; each refusal
//! (same version again, a namespace not held, `@elizaos`, a name npm has — and the same allowed once
//! proven —, a publish token of another namespace, too large); the quarantines (a planted secret, a
//! blocked file) released or rejected by a platform owner; unpublishing within the window, refused
//! after it and while installed; dist-tags; publish tokens; and a catalogue sync that leaves plughub's
//! entries alone.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use plughub_domain::{EventType, Plan, Role};
use plughub_market::publishers::Publishers;
use plughub_registry::{Limits, Registry};
use plughub_server::{AppState, router};
use plughub_store::{EventFilter, Location, Store};
use plughub_testkit::http::LoopbackNpm;
use plughub_testkit::tarball;
use plughub_testkit::{BACKENDS, TestBackend, TestStore};
use serde_json::{Value, json};
use sha2::Digest;
use std::sync::Arc;
use tower::ServiceExt;

struct World {
    t: TestStore,
    app: axum::Router,
    catalog: Arc<Catalog>,
    npm: LoopbackNpm,
    /// A platform owner's token.
    platform: String,
    /// Ada holds @acme and the unscoped `plugin-taken` (which npm has).
    ada: String,
    /// Bo holds nothing.
    bo: String,
}

async fn world(backend: TestBackend, limits: Limits) -> World {
    let t = TestStore::new(backend).await;
    let mut tx = t.store.begin().await.unwrap();
    tx.create_group("acme", Plan::Pro, None, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let accounts = Accounts::new(t.store.clone());
    accounts.first_start("test").await.unwrap();
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for (email, name) in [("ada@acme.test", "Ada"), ("bo@acme.test", "Bo")] {
        let person = accounts
            .create_person(email, name, None, "test")
            .await
            .unwrap();
        accounts
            .set_role(email, "acme", Role::OrgOwner, "test")
            .await
            .unwrap();
        ids.push(person.id);
        tokens.push(
            accounts
                .create_token(email, "t", 1, "test")
                .await
                .unwrap()
                .1,
        );
    }
    let platform = accounts
        .create_token("owner@plughub.local", "t", 1, "test")
        .await
        .unwrap()
        .1;
    let publishers = Publishers::new(t.store.clone());
    for namespace in ["@acme", "plugin-taken", "@globex", "@initech"] {
        let claim = publishers
            .claim(&ids[0], namespace, "I maintain it")
            .await
            .unwrap();
        publishers.grant(&claim.id, "ok", "test").await.unwrap();
    }
    let npm = LoopbackNpm::start().await;
    npm.enable_search();
    npm.publish(
        "plugin-taken",
        plughub_testkit::http::packument("plugin-taken", "someone else's", &[("1.0.0", "^1.0.0")]),
    );
    npm.publish(
        "@globex/other",
        plughub_testkit::http::packument("@globex/other", "globex on npm", &[("1.0.0", "^1.0.0")]),
    );
    // @initech is on npm too, with a version naming its plughub publisher: proven.
    let mut initech =
        plughub_testkit::http::packument("@initech/tool", "initech", &[("1.0.0", "^1.0.0")]);
    initech["versions"]["1.0.0"]["plughub"] = json!({ "publisher": "@initech" });
    npm.publish("@initech/tool", initech);

    let catalog = Arc::new(Catalog::open(t.store.clone()).await.unwrap());
    let mut registry = Registry::new(t.store.clone(), Some(plughub_npm::NpmClient::new(&npm.url)));
    registry.limits = limits;
    let app = router(AppState::new(catalog.clone(), accounts, None).with_registry(registry));
    World {
        t,
        app,
        catalog,
        npm,
        platform,
        bo: tokens.pop().unwrap(),
        ada: tokens.pop().unwrap(),
    }
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    read(app.clone().oneshot(request).await.unwrap()).await
}

async fn read(response: axum::response::Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// `PUT /api/registry/packages/{name}` with the tarball, the name encoded as npm does.
async fn publish(
    app: &axum::Router,
    token: &str,
    name: &str,
    tag: Option<&str>,
    tgz: Vec<u8>,
) -> (StatusCode, Value) {
    let mut uri = format!("/api/registry/packages/{}", name.replace('/', "%2F"));
    if let Some(tag) = tag {
        uri.push_str(&format!("?tag={tag}"));
    }
    let request = Request::builder()
        .method("PUT")
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(tgz))
        .unwrap();
    read(app.clone().oneshot(request).await.unwrap()).await
}

fn manifest(name: &str, version: &str) -> Value {
    json!({
        "name": name,
        "version": version,
        "description": "Says hello to whoever asks",
        "type": "module",
        "main": "index.js",
        "keywords": ["elizaos", "elizaos-plugins", "plugin", "hello"],
        "peerDependencies": { "@elizaos/core": "^1.0.0" },
    })
}

const CODE: &str = "export const plugin = { name: 'hello', description: 'Says hello', actions: [] };\nexport default plugin;\n";

fn package(name: &str, version: &str) -> Vec<u8> {
    tarball::package(&manifest(name, version), &[("index.js", CODE)])
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

fn path(name: &str) -> String {
    name.replace('/', "%2F")
}

async fn events(store: &Store, event_type: EventType) -> Vec<plughub_domain::StoredEvent> {
    store
        .events(&EventFilter {
            event_type: Some(event_type),
            ..Default::default()
        })
        .await
        .unwrap()
}

/// Runs one statement on the test store, as a person with database access would (to age a version).
async fn execute(t: &TestStore, sql: &str, binds: &[&str]) {
    sqlx::any::install_default_drivers();
    let url = match &t.location {
        Location::DataDir(dir) => format!("sqlite://{}", dir.join(Location::SQLITE_FILE).display()),
        Location::Url(url) => url.clone(),
    };
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let mut query = sqlx::query(sql);
    for b in binds {
        query = query.bind(*b);
    }
    query.execute(&mut conn).await.unwrap();
    let _ = conn.close().await;
}

#[tokio::test]
async fn a_publish_is_in_the_catalogue_at_once_and_a_version_is_never_published_twice() {
    for backend in BACKENDS {
        let w = world(backend, Limits::default()).await;
        let app = &w.app;
        let name = "@acme/plugin-hello";
        let (status, body) = publish(app, &w.ada, name, None, package(name, "1.0.0")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "published");
        assert_eq!(body["tag"], "latest");
        assert!(body["integrity"].as_str().unwrap().starts_with("sha512-"));
        assert!(body.get("reasons").is_none(), "{body}");

        // Search finds it at once, the detail page shows it, from the plughub source.
        let (status, found) = call(app, "GET", "/api/plugins?q=hello", None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(found.to_string().contains(name), "{found}");
        let (status, detail) = call(app, "GET", &format!("/api/plugins/{name}"), None, None).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert_eq!(detail["latest_version"], "1.0.0", "{detail}");
        assert!(detail.to_string().contains("\"plughub\""), "{detail}");

        let (status, shown) = call(
            app,
            "GET",
            &format!("/api/registry/packages/{}", path(name)),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{shown}");
        assert_eq!(shown["versions"][0]["version"], "1.0.0");
        assert_eq!(shown["versions"][0]["status"], "published");
        assert_eq!(shown["dist_tags"]["latest"], "1.0.0");
        assert_eq!(
            events(&w.t.store, EventType::VersionPublished).await.len(),
            1
        );

        // The same version again: refused, whatever its content.
        let (status, body) = publish(app, &w.ada, name, None, package(name, "1.0.0")).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(code(&body), "version_exists");

        // A backport leaves `latest` where it was; an explicit tag is set.
        let (status, _) = publish(app, &w.ada, name, None, package(name, "2.0.0")).await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, body) = publish(app, &w.ada, name, None, package(name, "1.0.1")).await;
        assert!(body.get("tag").is_none(), "{body}");
        let (_, body) = publish(app, &w.ada, name, Some("next"), package(name, "3.0.0-rc.1")).await;
        assert_eq!(body["tag"], "next");
        let (_, shown) = call(
            app,
            "GET",
            &format!("/api/registry/packages/{}", path(name)),
            None,
            None,
        )
        .await;
        assert_eq!(
            shown["dist_tags"],
            json!({ "latest": "2.0.0", "next": "3.0.0-rc.1" })
        );

        // Past the API's 1 MB body limit, within the registry's 10 MB: accepted.
        let noise: String = (0..20_000u32)
            .map(|i| hex::encode(sha2::Sha512::digest(i.to_le_bytes())))
            .collect();
        let big = tarball::package(
            &manifest("@acme/plugin-big", "1.0.0"),
            &[("index.js", CODE), ("data/noise.txt", &noise)],
        );
        assert!(big.len() > 1 << 20, "{}", big.len());
        let (status, body) = publish(app, &w.ada, "@acme/plugin-big", None, big).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        // The name in the path must be the package's.
        let (status, body) =
            publish(app, &w.ada, "@acme/other", None, package(name, "4.0.0")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(code(&body), "invalid_package");
        let (status, body) =
            publish(app, &w.ada, "@acme/other", None, b"not a tarball".to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(code(&body), "invalid_package");
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn namespaces_must_be_held_not_reserved_and_not_npm_s_unless_proven() {
    for backend in BACKENDS {
        let w = world(backend, Limits::default()).await;
        let app = &w.app;
        let (status, body) = publish(
            app,
            &w.bo,
            "@acme/plugin-x",
            None,
            package("@acme/plugin-x", "1.0.0"),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(code(&body), "namespace_not_held");

        for reserved in ["@elizaos/plugin-x", "@elizaos-plugins/plugin-x"] {
            let (status, body) =
                publish(app, &w.ada, reserved, None, package(reserved, "1.0.0")).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
            assert_eq!(code(&body), "namespace_reserved");
        }

        // npm has the unscoped name: refused, until a platform owner's decision proves it.
        let (status, body) = publish(
            app,
            &w.ada,
            "plugin-taken",
            None,
            package("plugin-taken", "2.0.0"),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(code(&body), "namespace_on_npm");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("docs/publishing.md")
        );
        // npm has a package of the scope.
        let (status, body) = publish(
            app,
            &w.ada,
            "@globex/new",
            None,
            package("@globex/new", "1.0.0"),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(code(&body), "namespace_on_npm");
        // Nothing was recorded by any refusal.
        assert!(
            !w.t.store
                .registry_has_package("plugin-taken")
                .await
                .unwrap()
        );

        let (status, decision) = call(
            app,
            "PUT",
            "/api/admin/registry/namespaces/plugin-taken/decision",
            Some(&w.ada),
            Some(json!({ "note": "mine" })),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{decision}");
        let (status, decision) = call(
            app,
            "PUT",
            "/api/admin/registry/namespaces/plugin-taken/decision",
            Some(&w.platform),
            Some(json!({ "note": "npm's maintainer of plugin-taken is Ada (checked by email)" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{decision}");
        assert_eq!(
            events(&w.t.store, EventType::NamespaceOwnershipDecided)
                .await
                .len(),
            1
        );
        let (status, body) = publish(
            app,
            &w.ada,
            "plugin-taken",
            None,
            package("plugin-taken", "2.0.0"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        // A version on npm naming the plughub publisher proves the scope.
        let (status, body) = publish(
            app,
            &w.ada,
            "@initech/new",
            None,
            package("@initech/new", "1.0.0"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert!(w.npm.requests() > 0);
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn a_planted_secret_quarantines_and_a_platform_owner_releases_it() {
    for backend in BACKENDS {
        let w = world(backend, Limits::default()).await;
        let app = &w.app;
        let name = "@acme/plugin-leaky";
        let secret = format!("{}{}", "sk_live_", "4eC39HqLyjWDarjtT1zdp7dc");
        let config = format!("export const key = '{secret}';\n");
        let tgz = tarball::package(
            &manifest(name, "1.0.0"),
            &[("index.js", CODE), ("src/config.js", &config)],
        );
        let (status, body) = publish(app, &w.ada, name, None, tgz).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(body["status"], "quarantined");
        let reason = &body["reasons"][0];
        assert_eq!(reason["check"], "secret");
        assert_eq!(reason["file"], "src/config.js");
        assert!(
            reason["message"]
                .as_str()
                .unwrap()
                .contains("stripe-live-key")
        );
        assert!(reason["message"].as_str().unwrap().contains("line 1"));
        assert!(
            !body.to_string().contains(&secret),
            "the answer repeats the secret"
        );
        assert_eq!(
            events(&w.t.store, EventType::VersionQuarantined)
                .await
                .len(),
            1
        );

        // Not in the catalogue, not shown to others; shown to its publisher with the reasons.
        let (status, _) = call(app, "GET", &format!("/api/plugins/{name}"), None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let uri = format!("/api/registry/packages/{}", path(name));
        let (status, _) = call(app, "GET", &uri, None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = call(app, "GET", &uri, Some(&w.bo), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, shown) = call(app, "GET", &uri, Some(&w.ada), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(shown["versions"][0]["status"], "quarantined");
        assert_eq!(shown["versions"][0]["reasons"][0]["check"], "secret");
        assert!(
            plughub_registry::npm_view::document(&w.t.store, name, "http://h/npm/")
                .await
                .unwrap()
                .is_none()
        );

        // The moderators' queue; only a platform owner releases.
        let (status, queue) = call(
            app,
            "GET",
            "/api/admin/registry/quarantine",
            Some(&w.platform),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(queue["versions"][0]["name"], name);
        assert_eq!(queue["versions"][0]["reasons"][0]["file"], "src/config.js");
        let release = format!(
            "/api/admin/registry/packages/{}/versions/1.0.0/release",
            path(name)
        );
        let (status, _) = call(app, "POST", &release, Some(&w.ada), Some(json!({}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, released) = call(
            app,
            "POST",
            &release,
            Some(&w.platform),
            Some(json!({ "note": "a test key of the vendor's docs" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{released}");
        assert_eq!(released["status"], "published");
        assert_eq!(
            events(&w.t.store, EventType::VersionReleased).await.len(),
            1
        );
        let (status, _) = call(app, "POST", &release, Some(&w.platform), Some(json!({}))).await;
        assert_eq!(status, StatusCode::CONFLICT);

        // Now installable: the npm document has the version with its integrity, and the catalogue has it.
        let doc = plughub_registry::npm_view::document(&w.t.store, name, "http://h/npm/")
            .await
            .unwrap()
            .expect("published");
        assert_eq!(doc["dist-tags"]["latest"], "1.0.0");
        assert!(
            doc["versions"]["1.0.0"]["dist"]["integrity"]
                .as_str()
                .unwrap()
                .starts_with("sha512-")
        );
        let (status, _) = call(app, "GET", &format!("/api/plugins/{name}"), None, None).await;
        assert_eq!(status, StatusCode::OK);
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn a_blocked_file_quarantines_and_a_rejected_version_stays_used() {
    for backend in BACKENDS {
        let w = world(backend, Limits::default()).await;
        let app = &w.app;
        let evil = "module.exports = function steal() { /* known stealer */ };\n";
        let sha512 = hex::encode(sha2::Sha512::digest(evil.as_bytes()));
        let (status, _) = call(
            app,
            "POST",
            "/api/admin/registry/blocklist",
            Some(&w.ada),
            Some(json!({ "sha512": sha512, "reason": "a known stealer" })),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, blocked) = call(
            app,
            "POST",
            "/api/admin/registry/blocklist",
            Some(&w.platform),
            Some(json!({ "sha512": sha512, "reason": "a known stealer" })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{blocked}");
        let (_, list) = call(
            app,
            "GET",
            "/api/admin/registry/blocklist",
            Some(&w.platform),
            None,
        )
        .await;
        assert_eq!(list["hashes"][0]["sha512"], sha512);

        let name = "@acme/plugin-bad";
        let tgz = tarball::package(
            &manifest(name, "1.0.0"),
            &[("index.js", CODE), ("lib/helper.js", evil)],
        );
        let (status, body) = publish(app, &w.ada, name, None, tgz).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let reasons = body["reasons"].as_array().unwrap();
        assert!(
            reasons
                .iter()
                .any(|r| r["check"] == "blocklist" && r["file"] == "lib/helper.js"),
            "{body}"
        );

        let reject = format!(
            "/api/admin/registry/packages/{}/versions/1.0.0/reject",
            path(name)
        );
        let (status, rejected) = call(
            app,
            "POST",
            &reject,
            Some(&w.platform),
            Some(json!({ "note": "ships a stealer" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{rejected}");
        assert_eq!(rejected["status"], "rejected");
        assert_eq!(
            events(&w.t.store, EventType::VersionRejected).await.len(),
            1
        );
        let (status, body) = publish(app, &w.ada, name, None, package(name, "1.0.0")).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");

        // Unblocked, the same file publishes.
        let (status, _) = call(
            app,
            "DELETE",
            &format!("/api/admin/registry/blocklist/{sha512}"),
            Some(&w.platform),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let tgz = tarball::package(
            &manifest(name, "1.0.1"),
            &[("index.js", CODE), ("lib/helper.js", evil)],
        );
        let (status, body) = publish(app, &w.ada, name, None, tgz).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(
            events(&w.t.store, EventType::BlocklistChanged).await.len(),
            2
        );
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn publish_tokens_publish_to_their_namespace_only_and_nothing_else() {
    for backend in BACKENDS {
        let w = world(backend, Limits::default()).await;
        let app = &w.app;
        let (status, body) = call(
            app,
            "POST",
            "/api/me/publish-tokens",
            Some(&w.bo),
            Some(json!({ "namespace": "@acme", "name": "ci", "days": 30 })),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(code(&body), "namespace_not_held");
        let (status, body) = call(
            app,
            "POST",
            "/api/me/publish-tokens",
            Some(&w.ada),
            Some(json!({ "namespace": "@acme", "name": "ci", "days": 400 })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (status, made) = call(
            app,
            "POST",
            "/api/me/publish-tokens",
            Some(&w.ada),
            Some(json!({ "namespace": "@acme", "name": "ci", "days": 30 })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let token = made["token"].as_str().unwrap().to_string();
        assert!(token.starts_with("php_"), "{token}");
        let (_, list) = call(app, "GET", "/api/me/publish-tokens", Some(&w.ada), None).await;
        assert_eq!(list["tokens"][0]["namespace"], "@acme");
        assert!(
            !list.to_string().contains(&token),
            "the list shows the secret"
        );

        let (status, body) = publish(
            app,
            &token,
            "@acme/plugin-ci",
            None,
            package("@acme/plugin-ci", "1.0.0"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // Another namespace Ada holds: not with this token.
        let (status, body) = publish(
            app,
            &token,
            "@initech/plugin-ci",
            None,
            package("@initech/plugin-ci", "1.0.0"),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(code(&body), "wrong_namespace");
        // Anywhere else it is no token at all.
        for (method, uri) in [
            ("GET", "/api/me"),
            ("GET", "/api/me/publish-tokens"),
            (
                "DELETE",
                "/api/registry/packages/@acme%2Fplugin-ci/versions/1.0.0",
            ),
        ] {
            let (status, _) = call(app, method, uri, Some(&token), None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}");
        }

        let id = made["id"].as_str().unwrap();
        let (status, _) = call(
            app,
            "DELETE",
            &format!("/api/me/publish-tokens/{id}"),
            Some(&w.bo),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = call(
            app,
            "DELETE",
            &format!("/api/me/publish-tokens/{id}"),
            Some(&w.ada),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = publish(
            app,
            &token,
            "@acme/plugin-ci",
            None,
            package("@acme/plugin-ci", "1.0.1"),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(
            events(&w.t.store, EventType::PublishTokenCreated)
                .await
                .len(),
            1
        );
        assert_eq!(
            events(&w.t.store, EventType::PublishTokenRevoked)
                .await
                .len(),
            1
        );
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn uploads_over_the_limits_are_refused() {
    for backend in BACKENDS {
        let limits = Limits {
            max_tarball_bytes: 4096,
            max_unpacked_bytes: 64 * 1024,
            max_files: 5,
        };
        let w = world(backend, limits).await;
        let app = &w.app;
        let name = "@acme/plugin-big";
        // Incompressible: a tarball over 4 KB.
        let noise: String = (0..200u32)
            .map(|i| hex::encode(sha2::Sha512::digest(i.to_le_bytes())))
            .collect();
        let tgz = tarball::package(
            &manifest(name, "1.0.0"),
            &[("index.js", CODE), ("n.txt", &noise)],
        );
        assert!(tgz.len() > 4096);
        let (status, body) = publish(app, &w.ada, name, None, tgz).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(code(&body), "too_large");
        // Too many files.
        let files: Vec<(String, &str)> = (0..8).map(|i| (format!("f{i}.js"), "x")).collect();
        let files: Vec<(&str, &str)> = files.iter().map(|(p, b)| (p.as_str(), *b)).collect();
        let (status, body) = publish(
            app,
            &w.ada,
            name,
            None,
            tarball::package(&manifest(name, "1.0.0"), &files),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(code(&body), "too_large");
        assert!(!w.t.store.registry_has_package(name).await.unwrap());
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn unpublish_within_72_hours_and_never_when_installed_and_dist_tags() {
    for backend in BACKENDS {
        let w = world(backend, Limits::default()).await;
        let app = &w.app;
        let name = "@acme/plugin-tags";
        for v in ["1.0.0", "1.1.0", "2.0.0"] {
            let (status, body) = publish(app, &w.ada, name, None, package(name, v)).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        let tags_uri = |tag: &str| format!("/api/registry/packages/{}/dist-tags/{tag}", path(name));
        let (status, body) = call(
            app,
            "PUT",
            &tags_uri("beta"),
            Some(&w.bo),
            Some(json!({ "version": "1.1.0" })),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = call(
            app,
            "PUT",
            &tags_uri("beta"),
            Some(&w.ada),
            Some(json!({ "version": "1.1.0" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["dist_tags"],
            json!({ "beta": "1.1.0", "latest": "2.0.0" })
        );
        let (status, _) = call(
            app,
            "PUT",
            &tags_uri("beta"),
            Some(&w.ada),
            Some(json!({ "version": "9.9.9" })),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = call(app, "DELETE", &tags_uri("latest"), Some(&w.ada), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

        // Unpublishing 2.0.0 moves latest back to 1.1.0; its number stays used.
        let version_uri = |v: &str| format!("/api/registry/packages/{}/versions/{v}", path(name));
        let (status, body) = call(app, "DELETE", &version_uri("2.0.0"), Some(&w.bo), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, body) = call(app, "DELETE", &version_uri("2.0.0"), Some(&w.ada), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "unpublished");
        let (_, shown) = call(
            app,
            "GET",
            &format!("/api/registry/packages/{}", path(name)),
            None,
            None,
        )
        .await;
        assert_eq!(shown["dist_tags"]["latest"], "1.1.0", "{shown}");
        let (_, detail) = call(app, "GET", &format!("/api/plugins/{name}"), None, None).await;
        assert_eq!(detail["latest_version"], "1.1.0", "{detail}");
        let (status, _) = publish(app, &w.ada, name, None, package(name, "2.0.0")).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(
            events(&w.t.store, EventType::VersionUnpublished)
                .await
                .len(),
            1
        );

        // Installed in an organisation: refused.
        let group = w.t.store.group_by_name("acme").await.unwrap().unwrap();
        let mut tx = w.t.store.begin().await.unwrap();
        let properties =
            json!({ "plugin": name, "version": "1.1.0", "state": "ACTIVE" }).to_string();
        tx.insert_thing(
            &plughub_store::NewThing {
                kind: plughub_domain::ThingKind::PluginInstance,
                name,
                group_id: Some(&group.id),
                status: "active",
                properties: &properties,
            },
            plughub_domain::NewEvent {
                event_type: EventType::PluginInstalled,
                actor: "test".into(),
                target: None,
                group_id: Some(group.id.clone()),
                metadata: json!({}),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let (status, body) = call(app, "DELETE", &version_uri("1.1.0"), Some(&w.ada), None).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(code(&body), "installed");

        // More than 72 hours old: refused.
        execute(
            &w.t,
            "UPDATE registry_versions SET created_at = $1 WHERE package = $2 AND version = $3",
            &["2020-01-01T00:00:00.000Z", name, "1.0.0"],
        )
        .await;
        let (status, body) = call(app, "DELETE", &version_uri("1.0.0"), Some(&w.ada), None).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(code(&body), "unpublish_window_over");

        let (status, body) = call(app, "DELETE", &tags_uri("beta"), Some(&w.ada), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["dist_tags"], json!({ "latest": "1.1.0" }));
        assert!(
            !events(&w.t.store, EventType::DistTagChanged)
                .await
                .is_empty()
        );
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn a_catalogue_sync_leaves_plughub_s_packages_alone() {
    for backend in BACKENDS {
        let w = world(backend, Limits::default()).await;
        let name = "@acme/plugin-mine";
        let (status, body) = publish(&w.app, &w.ada, name, None, package(name, "1.0.0")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let before =
            w.t.store
                .thing_by_name(plughub_domain::ThingKind::ElizaosPlugin, None, name)
                .await
                .unwrap()
                .unwrap();
        // npm (later) has the same name, with another version; a sync reads npm for it.
        w.npm.publish(
            name,
            plughub_testkit::http::packument(name, "an impostor", &[("9.0.0", "^1.0.0")]),
        );
        let mut options = plughub_catalog::SyncOptions::offline(vec![]);
        options.npm_registry = Some(w.npm.url.clone());
        options.npm_seeds = vec![name.to_string(), "plugin-taken".to_string()];
        plughub_catalog::sync::sync(&w.t.store, &options, &plughub_catalog::sync::NoProgress)
            .await
            .unwrap();
        let after =
            w.t.store
                .thing_by_name(plughub_domain::ThingKind::ElizaosPlugin, None, name)
                .await
                .unwrap()
                .unwrap();
        assert_eq!(after.properties, before.properties);
        w.catalog.refresh().await.unwrap();
        let (_, detail) = call(&w.app, "GET", &format!("/api/plugins/{name}"), None, None).await;
        assert_eq!(detail["latest_version"], "1.0.0", "{detail}");
        assert_eq!(detail["description"], "Says hello to whoever asks");
        w.t.cleanup().await;
    }
}

/// The world's store and accounts served with another publishing `registry`.
fn app_with(w: &World, registry: Registry) -> axum::Router {
    router(
        AppState::new(w.catalog.clone(), Accounts::new(w.t.store.clone()), None)
            .with_registry(registry),
    )
}

/// The npm-namespace check fails closed: with no npm registry to ask, a namespace without a platform
/// owner's decision is refused; and a scope the npm configuration routes to a registry of its own is
/// looked for there, not on the default registry.
#[tokio::test]
async fn the_npm_namespace_check_fails_closed_and_follows_scoped_registries() {
    for backend in BACKENDS {
        let w = world(backend, Limits::default()).await;
        let app = app_with(&w, Registry::new(w.t.store.clone(), None));
        let (status, body) = publish(
            &app,
            &w.ada,
            "@acme/plugin-closed",
            None,
            package("@acme/plugin-closed", "1.0.0"),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{backend:?}: {body}");
        assert_eq!(code(&body), "namespace_on_npm");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("configure npm's registry"),
            "{body}"
        );
        let (status, decision) = call(
            &app,
            "PUT",
            "/api/admin/registry/namespaces/@acme/decision",
            Some(&w.platform),
            Some(json!({ "note": "@acme is Ada's (checked with the npm scope's owner)" })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{decision}");
        let (status, body) = publish(
            &app,
            &w.ada,
            "@acme/plugin-closed",
            None,
            package("@acme/plugin-closed", "1.0.0"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        // @globex is routed to its own registry, which has a package of the scope; the default
        // registry (the world's) is not asked about it.
        let own = LoopbackNpm::start().await;
        own.enable_search();
        own.publish(
            "@globex/private-thing",
            plughub_testkit::http::packument("@globex/private-thing", "x", &[("1.0.0", "^1.0.0")]),
        );
        let empty = LoopbackNpm::start().await;
        empty.enable_search();
        let mut config = plughub_npm::NpmConfig::plain(&empty.url);
        config
            .scopes
            .insert("@globex".into(), plughub_npm::with_trailing_slash(&own.url));
        let app = app_with(
            &w,
            Registry::new(
                w.t.store.clone(),
                Some(plughub_npm::NpmClient::with_config(config)),
            ),
        );
        let (status, body) = publish(
            &app,
            &w.ada,
            "@globex/plugin-new",
            None,
            package("@globex/plugin-new", "1.0.0"),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(code(&body), "namespace_on_npm");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("@globex/private-thing"),
            "{body}"
        );
        assert_eq!(empty.requests(), 0, "{:?}", empty.paths());
        w.t.cleanup().await;
    }
}
