//! `plughub dev publish` against a stub of the registry on loopback (the real server's end-to-end test
//! comes with it): the scoped name in one %2F-encoded segment, the bearer token, a body that is the
//! packed .tgz whose sha512 is the integrity printed, and each answer read into what to do.

use crate::common::*;
use crate::dev_validate::{fake_build, made_package};
use std::sync::{Arc, Mutex};

#[derive(Default, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    authorization: String,
    content_type: String,
    body: Vec<u8>,
}

/// A registry stub that records the request and answers `status` with `answer`.
async fn stub(status: u16, answer: Value) -> (String, Arc<Mutex<Option<Seen>>>) {
    let seen = Arc::new(Mutex::new(None));
    let keep = seen.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let keep = keep.clone();
        let answer = answer.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 64 << 20).await.unwrap();
            let header = |name: &str| {
                parts
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string()
            };
            *keep.lock().unwrap() = Some(Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                query: parts.uri.query().unwrap_or_default().to_string(),
                authorization: header("authorization"),
                content_type: header("content-type"),
                body: body.to_vec(),
            });
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                axum::Json(answer),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn publish(dir: &std::path::Path, server: &str, extra: &[&str]) -> Output {
    run(plughub(&dir.join("../data"))
        .args(["dev", "publish", "--dir"])
        .arg(dir)
        .args(["--server", server, "--token", "php_secret123"])
        .args(extra))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tarball_goes_up_to_the_encoded_name_with_the_token() {
    let parent = tempfile::tempdir().unwrap();
    let dir = made_package(parent.path(), "@acme/plugin-up");
    let (server, seen) = stub(
        201,
        serde_json::json!({"name": "@acme/plugin-up", "version": "0.1.0", "status": "published",
                           "tag": "next", "integrity": "x", "checks": []}),
    )
    .await;
    let out = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || publish(&dir, &server, &["--tag", "next", "--json"])
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["answer"]["outcome"], "published");
    let seen = seen.lock().unwrap().clone().expect("a request came");
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.path, "/api/registry/packages/@acme%2Fplugin-up");
    assert_eq!(seen.query, "tag=next");
    assert_eq!(seen.authorization, "Bearer php_secret123");
    assert_eq!(seen.content_type, "application/octet-stream");
    // The body is the printed tarball: same sha512, a gzip'd tar with package/package.json of the name.
    assert_eq!(
        plughub_install::integrity::sri_of(&seen.body),
        printed["package"]["integrity"].as_str().unwrap()
    );
    let unpacked = parent.path().join("unpacked");
    plughub_install::extract_tarball(&seen.body, &unpacked, &Default::default()).unwrap();
    let package: Value =
        serde_json::from_str(&std::fs::read_to_string(unpacked.join("package.json")).unwrap())
            .unwrap();
    assert_eq!(package["name"], "@acme/plugin-up");
    assert!(unpacked.join("dist/index.js").is_file());
    assert!(unpacked.join("images/icon.png").is_file());
    assert!(!unpacked.join("src").exists(), "sources stay out");

    // Without --tag no tag is sent: the server moves `latest` only forward (a backport leaves it).
    let (server, seen) = stub(
        201,
        serde_json::json!({"name": "@acme/plugin-up", "version": "0.1.0", "status": "published",
                           "tag": "latest", "integrity": "x", "checks": []}),
    )
    .await;
    let out = tokio::task::spawn_blocking(move || publish(&dir, &server, &[]))
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let seen = seen.lock().unwrap().clone().expect("a request came");
    assert_eq!(seen.path, "/api/registry/packages/@acme%2Fplugin-up");
    assert_eq!(seen.query, "", "no tag asked for");
}

#[tokio::test(flavor = "multi_thread")]
async fn quarantine_and_refusals_say_what_to_do() {
    let parent = tempfile::tempdir().unwrap();
    let dir = made_package(parent.path(), "@acme/plugin-held");
    let cases = [
        (
            202,
            serde_json::json!({"name": "@acme/plugin-held", "version": "0.1.0", "status": "quarantined",
                "reasons": [{"check": "secret_scan", "message": "an AWS key", "file": "dist/index.js"}]}),
            "QUARANTINED",
            "secret_scan: an AWS key (dist/index.js)",
        ),
        (
            403,
            serde_json::json!({"error": {"code": "namespace_not_held", "message": "you do not hold @acme", "details": null}}),
            "namespace_not_held",
            "claim the publisher of @acme",
        ),
        (
            403,
            serde_json::json!({"error": {"code": "namespace_on_npm", "message": "@acme is on npm", "details": null}}),
            "namespace_on_npm",
            "prove it is yours",
        ),
        (
            409,
            serde_json::json!({"error": {"code": "version_exists", "message": "0.1.0 exists", "details": null}}),
            "version_exists",
            "bump \"version\"",
        ),
    ];
    for (status, answer, says, todo) in cases {
        let (server, _) = stub(status, answer).await;
        let out = tokio::task::spawn_blocking({
            let dir = dir.clone();
            move || publish(&dir, &server, &[])
        })
        .await
        .unwrap();
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.success(), status == 202, "{status}: {said}");
        assert!(
            said.contains(says) && said.contains(todo),
            "{status}: {said}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_package_is_not_uploaded_and_dry_run_uploads_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let dir = made_package(parent.path(), "plugin-broken");
    fake_build(&dir, "await fetch('https://api.undeclared-host.com/x');");
    let (server, seen) = stub(201, serde_json::json!({})).await;
    let out = tokio::task::spawn_blocking({
        let (dir, server) = (dir.clone(), server.clone());
        move || publish(&dir, &server, &[])
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stdout).contains("api.undeclared-host.com"),
        "{}",
        text(&out.stdout)
    );
    assert!(seen.lock().unwrap().is_none(), "nothing uploaded");
    fake_build(&dir, "");
    let out = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || publish(&dir, &server, &["--dry-run"])
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("plugin-broken@0.1.0") && said.contains("integrity sha512-"),
        "{said}"
    );
    assert!(
        said.contains("dist/index.js") && said.contains("dry run"),
        "{said}"
    );
    assert!(seen.lock().unwrap().is_none(), "nothing uploaded");
    // Without a server, it says how to give one.
    let out = run(plughub(&parent.path().join("data"))
        .env_remove("PLUGHUB_SERVER")
        .args(["dev", "publish", "--dir"])
        .arg(&dir));
    assert!(
        text(&out.stderr).contains("--server"),
        "{}",
        text(&out.stderr)
    );
}
