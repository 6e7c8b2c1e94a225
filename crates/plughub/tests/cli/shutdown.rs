//! `plughub serve` stopped by SIGTERM while clients run plugins as fast as they can: it stops taking
//! connections, finishes what it took, and exits 0; every run it answered 200 is in the log, and no run
//! is recorded failed or half.

use crate::common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_finishes_what_it_took_and_records_every_answered_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    share_pnpm(&d).await;
    hello_in_acme(&d, "hk-5h7d");
    let token = org_owner_token(&d, "owner@acme.test", "acme");
    let (mut server, addr) = serve(plughub(&d).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-sync",
        "--executions-per-minute",
        "0",
        "--shutdown-deadline",
        "20",
    ]));
    let answered = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..6)
        .map(|client| {
            let (addr, token) = (addr.clone(), token.clone());
            let (answered, stop) = (answered.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    // A text of its own: no run is answered from the cache.
                    match post_hello(&addr, &token, &format!("c{client}-{i}")) {
                        Ok(status) => {
                            if status == 200 {
                                answered.fetch_add(1, Ordering::SeqCst);
                            }
                            statuses.push(status);
                        }
                        // Refused once the server no longer listens: this client is done.
                        Err(_) => break,
                    }
                }
                statuses
            })
        })
        .collect();
    // Under load: every client has had answers.
    let until = Instant::now() + Duration::from_secs(120);
    while answered.load(Ordering::SeqCst) < 60 {
        assert!(Instant::now() < until, "no load: {answered:?} answered");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let sent = Instant::now();
    let exit = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(60),
            "still running a minute after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    stop.store(true, Ordering::SeqCst);
    assert!(
        exit.success(),
        "SIGTERM ends plughub serve with 0: {exit:?}"
    );
    let statuses: Vec<u16> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    // Every request it took was answered in full, and every answer a success.
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let answered = answered.load(Ordering::SeqCst);
    assert_eq!(statuses.len(), answered);
    // Every answered run is recorded, and no run was recorded that nobody was answered for, nor a
    // failed one.
    let store = store_of(&d).await;
    let recorded = executions(&store).await;
    assert_eq!(
        recorded.len(),
        answered,
        "answered {answered}, recorded {}",
        recorded.len()
    );
    let failed = store
        .count_events(&plughub_store::EventFilter {
            event_type: Some(plughub_domain::EventType::PluginErrorOccurred),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed, 0);
    drop(server);
}

/// The server killed with SIGKILL while clients run plugins: its sandbox helper ends its workers and
/// itself; after a restart the store opens whole, every run answered 200 is in the log (runs recorded
/// and never answered may be there too: the server died between the two), nothing is left in flight,
/// and the plan's slots the dead server leased are free again once their leases expire.
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_under_load_loses_no_answered_run_and_frees_its_leases() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    share_pnpm(&d).await;
    hello_in_acme(&d, "hk-k1ll");
    let token = org_owner_token(&d, "owner@acme.test", "acme");
    let serve_args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-sync",
        "--executions-per-minute",
        "0",
    ];
    let (mut server, addr) = serve(plughub(&d).args(serve_args));
    let helper = std::fs::read_to_string(format!(
        "/proc/{}/task/{}/children",
        server.0.id(),
        server.0.id()
    ))
    .unwrap()
    .split_whitespace()
    .map(|p| p.parse::<u32>().unwrap())
    .find(|p| {
        std::fs::read_to_string(format!("/proc/{p}/comm"))
            .is_ok_and(|c| c.trim() == "plughub-sandbox")
    })
    .expect("the server's sandbox helper");
    let answered = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let clients: Vec<_> = (0..6)
        .map(|client| {
            let (addr, token, answered) = (addr.clone(), token.clone(), answered.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    let text = format!("k{client}-{i}");
                    match post_hello(&addr, &token, &text) {
                        Ok(200) => answered.lock().unwrap().push(text),
                        Ok(other) => panic!("{text}: {other}"),
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    let until = Instant::now() + Duration::from_secs(120);
    while answered.lock().unwrap().len() < 60 {
        assert!(Instant::now() < until, "no load");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    for client in clients {
        client.join().unwrap();
    }
    // The helper saw its server go, ended the workers, and ended.
    let gone_by = Instant::now() + Duration::from_secs(30);
    while std::path::Path::new(&format!("/proc/{helper}")).exists()
        && std::fs::read_to_string(format!("/proc/{helper}/stat"))
            .is_ok_and(|s| !s.contains(") Z "))
    {
        assert!(
            Instant::now() < gone_by,
            "the helper {helper} outlived its server"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let answered = answered.lock().unwrap().clone();

    // Restarted: the store opens whole, and every answered run is recorded.
    let (server, addr) = serve(plughub(&d).args(serve_args));
    let store = store_of(&d).await;
    let recorded: std::collections::HashSet<String> = executions(&store)
        .await
        .iter()
        .filter_map(|e| e.metadata["text"].as_str().map(str::to_string))
        .collect();
    for text in &answered {
        assert!(
            recorded.contains(&format!("Hello, {text}.")),
            "{text} was answered 200 and is not in the log"
        );
    }
    let installed: Value = serde_json::from_str(&ok(plughub(&d).args([
        "installed",
        "--org",
        "acme",
        "--json",
    ])))
    .unwrap();
    assert_eq!(installed[0]["state"], "INSTALLED", "{installed}");
    // The dead server's lease on acme's one slot (the free plan's) lapses, and runs go on.
    assert_eq!(post_hello(&addr, &token, "after").unwrap(), 200);
    drop(server);
}
