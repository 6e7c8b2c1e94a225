//! `plughub dev` (watch) on a copy of the hello fixture: ready with a playground and a sign-in, an action
//! run through the local server's API, a change in src/ rebuilt and reloaded, and `dev logs` showing
//! the execution from the development store.

use crate::common::*;
use std::sync::mpsc;

fn http_post(addr: &str, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    // A chunked body: the JSON is between the chunk sizes.
    let json = body
        .find('{')
        .and_then(|start| body.rfind('}').map(|end| &body[start..=end]))
        .unwrap_or(body);
    (
        status,
        serde_json::from_str(json).unwrap_or(Value::String(body.into())),
    )
}

fn next_event(lines: &mpsc::Receiver<String>, wanted: &str, within: Duration) -> Value {
    let until = Instant::now() + within;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no '{wanted}' line within {within:?}"));
        if let Ok(event) = serde_json::from_str::<Value>(&line) {
            if event["event"] == wanted {
                return event;
            }
            assert_ne!(event["event"], "reload_failed", "{event}");
        }
    }
}

#[test]
fn dev_serves_reloads_on_change_and_logs_show_the_runs() {
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let dir = work.path().join("plugin-hello");
    let fixture = plughub_testkit::fixture_plugin("plugin-hello");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    let source = std::fs::read_to_string(fixture.join("dist/index.js")).unwrap();
    std::fs::write(dir.join("src/index.js"), &source).unwrap();
    std::fs::write(dir.join("dist/index.js"), &source).unwrap();
    let mut package: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("package.json")).unwrap())
            .unwrap();
    // Its "build" copies the source: what matters is that `plughub dev` runs it on each change.
    package["scripts"] = serde_json::json!({ "build": "cp src/index.js dist/index.js" });
    std::fs::write(dir.join("package.json"), package.to_string()).unwrap();
    std::fs::write(
        dir.join("plughub.dev.json"),
        r#"{"settings": {"HELLO_API_KEY": "dev-key", "HELLO_GREETING": "Hi"}}"#,
    )
    .unwrap();

    // pnpm for the plugin's dependencies, shared by the tests (their npm is on loopback).
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(share_pnpm(&cache.join("plughub/dev")));
    let mut child = plughub(&cache.join("plughub/dev"))
        .env("XDG_CACHE_HOME", &cache)
        .args(["dev", "--port", "0", "--json", "--dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let ready = next_event(&lines, "ready", Duration::from_secs(180));
    assert_eq!(ready["plugin"], "@fixture/plugin-hello");
    assert!(
        ready["version"].as_str().unwrap().starts_with("1.0.0-dev."),
        "{ready}"
    );
    let url = ready["url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{ready}");
    assert_eq!(
        ready["playground"],
        format!("{url}/plugins/playground?org=dev&plugin=%40fixture%2Fplugin-hello")
    );
    assert!(!ready["password"].as_str().unwrap().is_empty());
    assert_eq!(
        ready["data_dir"].as_str().unwrap(),
        cache.join("plughub/dev").to_str().unwrap()
    );
    let addr = url.trim_start_matches("http://");
    let token = ready["token"].as_str().unwrap();
    let run = |text: &str| {
        http_post(
            addr,
            "/api/orgs/dev/plugins/@fixture%2Fplugin-hello/run",
            token,
            &serde_json::json!({ "action": "HELLO", "text": text, "agent": "dev" }),
        )
    };
    let (status, answer) = run("Ada");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"]["text"], "Hi, Ada.", "{answer}");
    // The playground page answers (it asks to sign in first).
    let (status, _) = http_get(addr, "/plugins/playground?org=dev");
    assert!([200, 303].contains(&status), "{status}");

    // A change in src/: rebuilt and reloaded under a new development version.
    std::fs::write(
        dir.join("src/index.js"),
        source.replace("${greeting}, ", "${greeting} there, "),
    )
    .unwrap();
    let reloaded = next_event(&lines, "reloaded", Duration::from_secs(120));
    assert_ne!(reloaded["version"], ready["version"]);
    let (status, answer) = run("Bob");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["result"]["text"], "Hi there, Bob.",
        "the new build runs: {answer}"
    );
    drop(server);

    let out = run_logs(&cache, &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let runs: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let texts: Vec<&str> = runs
        .iter()
        .filter(|e| e["metadata"]["component"] == "HELLO")
        .filter_map(|e| e["metadata"]["text"].as_str())
        .collect();
    assert!(texts.contains(&"Hi, Ada."), "{runs:?}");
    assert!(texts.contains(&"Hi there, Bob."), "{runs:?}");
}

fn run_logs(cache: &std::path::Path, dir: &std::path::Path) -> Output {
    run(plughub(&cache.join("plughub/dev"))
        .env("XDG_CACHE_HOME", cache)
        .args(["dev", "logs", "--json", "--dir"])
        .arg(dir))
}
