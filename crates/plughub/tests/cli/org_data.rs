//! An organisation's data: its owner exports it (API and CLI) with secret values left out and nothing
//! of another organisation, then deletes it with everything of it; the other organisation is untouched
//! and the platform's log says who deleted what.

use crate::common::*;

fn call(method: &str, addr: &str, path: &str, token: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    // A chunked body: the JSON between the first chunk size and the last.
    let body = match (body.find(['{', '[']), body.rfind(['}', ']'])) {
        (Some(start), Some(end)) => body[start..=end].to_string(),
        _ => body.to_string(),
    };
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_exports_the_organisation_then_deletes_it_with_everything_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    share_pnpm(&d).await;
    let secret = "hk-export-me-not";
    hello_in_acme(&d, secret);
    let token = org_owner_token(&d, "owner@acme.test", "acme");
    hello_in(|| plughub(&d), "other", "hk-other");
    for (org, name) in [("acme", "Ada"), ("other", "Bo")] {
        ok(plughub(&d).args([
            "run",
            "@fixture/plugin-hello",
            "HELLO",
            "--org",
            org,
            "--text",
            name,
        ]));
    }
    let other_token = org_owner_token(&d, "owner@other.test", "other");
    let store = store_of(&d).await;
    let acme = store.group_by_name("acme").await.unwrap().unwrap();
    let other = store.group_by_name("other").await.unwrap().unwrap();
    let events_of = |group: &str| plughub_store::EventFilter {
        group_id: Some(group.to_string()),
        ..Default::default()
    };
    let other_events = store.count_events(&events_of(&other.id)).await.unwrap();
    let (server, addr) = start_server(&d);

    // The export, through the API: everything of acme, nothing of other, no secret value.
    let (status, body) = call("GET", &addr, "/api/orgs/acme/export", &token);
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains(secret) && !body.contains("v1.k1-"),
        "a secret in the export"
    );
    assert!(!body.contains(&other.id) && !body.contains("hk-other"));
    let export: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(export["organisation"]["name"], "acme");
    assert_eq!(export["instances"].as_array().unwrap().len(), 1);
    assert_eq!(
        export["instances"][0]["properties"]["secrets"],
        serde_json::json!(["HELLO_API_KEY"])
    );
    let events = export["events"].as_array().unwrap();
    assert_eq!(
        events.len() as i64,
        store.count_events(&events_of(&acme.id)).await.unwrap()
    );
    assert!(events.iter().all(|e| e["group_id"] == acme.id.as_str()));
    assert!(
        export["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["email"] == "owner@acme.test" && m["role"] == "org_owner")
    );
    // Another organisation's owner cannot export or delete it: it is not theirs to see.
    assert_eq!(
        call("GET", &addr, "/api/orgs/acme/export", &other_token).0,
        404
    );
    assert_eq!(
        call("DELETE", &addr, "/api/orgs/acme?confirm=acme", &other_token).0,
        404
    );

    // The same through the CLI, to a file.
    let file = dir.path().join("acme.json");
    ok(plughub(&d)
        .args(["admin", "export-org", "acme", "--to"])
        .arg(&file));
    let from_cli: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(from_cli["instances"], export["instances"]);
    assert!(from_cli["events"].as_array().unwrap().len() >= events.len());

    // The deletion: confirmed by name, then gone with everything of it.
    let (status, body) = call("DELETE", &addr, "/api/orgs/acme", &token);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("confirm"), "{body}");
    let (status, body) = call("DELETE", &addr, "/api/orgs/acme?confirm=acme", &token);
    assert_eq!(status, 200, "{body}");
    let deleted: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(deleted["deleted"], "acme");
    assert!(deleted["things"].as_u64().unwrap() >= 1, "{deleted}");
    assert!(
        deleted["events"].as_u64().unwrap() >= events.len() as u64,
        "{deleted}"
    );
    assert_eq!(
        deleted["packages_removed"].as_array().unwrap().len(),
        1,
        "{deleted}"
    );
    assert_eq!(call("GET", &addr, "/api/orgs/acme/plugins", &token).0, 404);
    drop(server);
    // A handle opened now (the one above remembers groups it read for a few seconds).
    let store = store_of(&d).await;
    assert_eq!(store.count_events(&events_of(&acme.id)).await.unwrap(), 0);
    assert!(store.group_by_name("acme").await.unwrap().is_none());
    assert!(store.members(&acme.id).await.unwrap().is_empty());
    // Recorded on the platform's log, by the owner.
    let recorded = store
        .events(&plughub_store::EventFilter {
            event_type: Some(plughub_domain::EventType::GroupDeleted),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].actor, "owner@acme.test");
    assert_eq!(recorded[0].metadata["name"], "acme");
    assert!(recorded[0].group_id.is_none());
    // The other organisation is untouched, and still runs its plugin.
    assert_eq!(
        store.count_events(&events_of(&other.id)).await.unwrap(),
        other_events
    );
    let out = ok(plughub(&d).args([
        "run",
        "@fixture/plugin-hello",
        "HELLO",
        "--org",
        "other",
        "--text",
        "Cy",
    ]));
    assert!(out.contains("Hello, Cy"), "{out}");

    // The CLI's deletion asks for --yes, then deletes.
    let out = run(plughub(&d).args(["admin", "delete-org", "other"]));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--yes"));
    ok(plughub(&d).args(["admin", "delete-org", "other", "--yes"]));
    assert!(
        store_of(&d)
            .await
            .group_by_name("other")
            .await
            .unwrap()
            .is_none()
    );
}
