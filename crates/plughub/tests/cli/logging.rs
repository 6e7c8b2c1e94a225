//! `--log-format json`: one JSON object a line, and every line of a request carries its id (the
//! caller's `X-Request-Id`, given back), the lines of a run its execution id as well.

use crate::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn json_lines_carry_the_request_id_and_the_execution_id() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    share_pnpm(&d).await;
    hello_in_acme(&d, "hk-1og5");
    let token = org_owner_token(&d, "owner@acme.test", "acme");
    let log = dir.path().join("stderr");
    let mut child = plughub(&d)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-sync",
            "--log-format",
            "json",
            "--log-level",
            "info",
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = Server(child);
    let addr = line.trim().rsplit("http://").next().unwrap().to_string();
    let body = serde_json::json!({ "action": "HELLO", "text": "Ada", "agent": "a1" }).to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "POST /api/orgs/acme/plugins/@fixture%2Fplugin-hello/run HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nX-Request-Id: trace-me-1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(
        raw.to_ascii_lowercase()
            .contains("x-request-id: trace-me-1"),
        "{raw}"
    );
    // SIGTERM: the server says it stopped, its last line.
    assert!(
        Command::new("kill")
            .args(["-TERM", &server.0.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let until = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("plughub serve stopped")
    {
        assert!(
            Instant::now() < until,
            "{}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let span_field = |line: &Value, span: &str, field: &str| -> Option<String> {
        line["spans"]
            .as_array()?
            .iter()
            .find(|s| s["name"] == span)
            .and_then(|s| s[field].as_str().map(str::to_string))
    };
    let of_request: Vec<&Value> = lines
        .iter()
        .filter(|l| span_field(l, "request", "request_id").as_deref() == Some("trace-me-1"))
        .collect();
    let ended = of_request
        .iter()
        .find(|l| l["fields"]["message"] == "execution ended")
        .unwrap_or_else(|| panic!("no line of the run within the request:\n{text}"));
    assert_eq!(ended["fields"]["outcome"], "ok", "{ended}");
    let execution = span_field(ended, "execution", "execution_id").unwrap();
    assert_eq!(execution.len(), 36, "{ended}");
    assert_eq!(
        span_field(ended, "execution", "plugin").as_deref(),
        Some("@fixture/plugin-hello")
    );
}

/// With `--otlp-endpoint`, the server's spans go to the collector over OTLP/HTTP: here a listener on
/// loopback that takes what is posted to `/v1/traces` (protobuf: the span's and the service's names are
/// in it as text).
#[test]
fn spans_are_exported_over_otlp_when_a_collector_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let collector = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel::<(String, Vec<u8>)>();
    std::thread::spawn(move || {
        for stream in collector.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(n) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = n.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n",
            );
            let _ = tx.send((head, body));
        }
    });
    let (server, addr) = serve(
        plughub(&dir.path().join("data"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--no-sync",
                "--otlp-endpoint",
            ])
            .arg(&endpoint),
    );
    assert_eq!(http_get(&addr, "/readyz").0, 200);
    // SIGTERM: what is left is sent before the server exits.
    assert!(
        Command::new("kill")
            .args(["-TERM", &server.0.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let (head, body) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("no spans reached the collector");
    drop(server);
    assert!(head.starts_with("POST /v1/traces "), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("application/x-protobuf"),
        "{head}"
    );
    let contains = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"plughub"), "the service's name");
    assert!(contains(b"request"), "an HTTP request's span");
    assert!(contains(b"/readyz"), "its path");
}
