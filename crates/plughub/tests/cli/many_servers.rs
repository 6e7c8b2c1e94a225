//! Two servers on one PostgreSQL: a live stream on one hears the runs made on the other through
//! LISTEN/NOTIFY (there is no polling on PostgreSQL), catches up on what was announced while its
//! listening connection was cut, and only one server at a time syncs the catalogue.

use crate::common::*;
use std::sync::mpsc;

/// The `execution` events of `addr`'s live stream of acme's executions, their data, as they come.
fn follow(addr: &str, token: &str) -> mpsc::Receiver<Value> {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /api/orgs/acme/executions/live HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stream).lines();
        let mut execution = false;
        while let Some(Ok(line)) = lines.next() {
            if line.starts_with("event: execution") {
                execution = true;
            } else if let Some(data) = line.strip_prefix("data: ")
                && execution
            {
                execution = false;
                if tx.send(serde_json::from_str(data).unwrap()).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// The next execution heard whose text is `text`'s greeting.
fn hears(heard: &mpsc::Receiver<Value>, text: &str) {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let event = heard
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("the run of {text} was not heard"));
        if event["metadata"]["text"]
            .as_str()
            .is_some_and(|t| t.contains(text))
        {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_on_one_server_is_heard_live_on_the_other_even_across_a_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let url = plughub_testkit::fresh_postgres_database(&format!(
        "plughub_two_servers_{}",
        std::process::id()
    ))
    .await;
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    share_pnpm(&a).await;
    let on = |data: &std::path::Path| {
        let mut c = plughub(data);
        c.arg("--database-url").arg(&url);
        c
    };
    hello_in(|| on(&a), "acme", "hk-2");
    let token = {
        ok(on(&a).args([
            "admin",
            "create-user",
            "owner@acme.test",
            "--org",
            "acme",
            "--role",
            "org_owner",
        ]));
        let made: Value = serde_json::from_str(&ok(on(&a).args([
            "admin",
            "create-token",
            "owner@acme.test",
            "--json",
        ])))
        .unwrap();
        made["token"].as_str().unwrap().to_string()
    };
    let serve_args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-sync",
        "--executions-per-minute",
        "0",
    ];
    let (server_a, addr_a) = serve(on(&a).args(serve_args));
    let (server_b, addr_b) = serve(on(&b).args(serve_args));

    // The local package is on A's disk only: runs go to A, the stream is B's.
    let heard = follow(&addr_b, &token);
    // The stream is open once its first keep-alive or event could come; a run before it opened would
    // not be "from now on", so the first run is repeated until one is heard.
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        assert_eq!(post_hello(&addr_a, &token, "first").unwrap(), 200);
        if let Ok(event) = heard.recv_timeout(Duration::from_secs(3)) {
            assert!(
                event["metadata"]["text"]
                    .as_str()
                    .unwrap()
                    .contains("first")
            );
            break;
        }
        assert!(Instant::now() < until, "B never heard A's runs");
    }
    assert_eq!(post_hello(&addr_a, &token, "second").unwrap(), 200);
    hears(&heard, "second");

    // Both servers' listening connections cut: a run made meanwhile is caught up once B listens again.
    assert_eq!(
        plughub_testkit::cut_listeners(&url).await,
        2,
        "A's and B's listeners"
    );
    assert_eq!(post_hello(&addr_a, &token, "while-cut").unwrap(), 200);
    hears(&heard, "while-cut");
    assert_eq!(post_hello(&addr_a, &token, "after").unwrap(), 200);
    hears(&heard, "after");
    drop(server_a);
    drop(server_b);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_server_at_a_time_syncs_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let url = plughub_testkit::fresh_postgres_database(&format!(
        "plughub_sync_lock_{}",
        std::process::id()
    ))
    .await;
    let snapshot = registry_snapshot_dir().join("generated-registry.json");
    let sync = || {
        let mut c = plughub(&dir.path().join("data"));
        c.arg("--database-url")
            .arg(&url)
            .args(["catalog", "sync", "--no-npm", "--from"])
            .arg(&snapshot);
        c
    };
    // Another server holds the sync: this one says so and writes nothing.
    let held = plughub_testkit::hold_advisory_lock(&url, plughub_store::CATALOG_SYNC_LOCK).await;
    let out = run(&mut sync());
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("another server on this store is syncing"),
        "{}",
        text(&out.stderr)
    );
    drop(held);
    // Let go: the sync runs.
    ok(&mut sync());
}
