//! The proxy on a real Unix socket, with loopback listeners that must see no connection where the proxy
//! refuses. Names get fixed answers from a resolver of the test's own: no DNS is asked, and no traffic
//! leaves loopback.

use plughub_egress::{EgressPolicy, EgressProxy, EgressRecord, ResolveFuture, Resolver};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener, UnixStream};

struct FixedResolver {
    answers: HashMap<String, Vec<IpAddr>>,
    asked: Mutex<Vec<String>>,
}

impl Resolver for FixedResolver {
    fn resolve(&self, host: &str, _port: u16) -> ResolveFuture {
        self.asked.lock().unwrap().push(host.to_string());
        let answer = self.answers.get(host).cloned();
        Box::pin(async move {
            answer.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such name"))
        })
    }
}

struct Harness {
    socket: std::path::PathBuf,
    proxy: Arc<EgressProxy>,
    records: Arc<Mutex<Vec<EgressRecord>>>,
    resolver: Arc<FixedResolver>,
    _dir: tempfile::TempDir,
}

fn start(policy: EgressPolicy) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("egress.sock");
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let resolver = Arc::new(FixedResolver {
        answers: [
            ("granted.test".to_string(), vec![loopback]),
            ("trusted.test".to_string(), vec![loopback]),
        ]
        .into(),
        asked: Mutex::new(Vec::new()),
    });
    let records = Arc::new(Mutex::new(Vec::new()));
    let sink = records.clone();
    let proxy = EgressProxy::new(policy, resolver.clone(), move |r| {
        sink.lock().unwrap().push(r)
    });
    tokio::spawn(proxy.clone().serve(UnixListener::bind(&socket).unwrap()));
    Harness {
        socket,
        proxy,
        records,
        resolver,
        _dir: dir,
    }
}

/// Sends `request` and returns the proxy's status line and the stream.
async fn ask(socket: &std::path::Path, request: &str) -> (String, UnixStream) {
    let mut stream = UnixStream::connect(socket).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap() == 1 {
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    (head.lines().next().unwrap_or_default().to_string(), stream)
}

async fn body(stream: &mut UnixStream) -> String {
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    text
}

#[tokio::test]
async fn refused_requests_never_reach_the_listener() {
    let watched = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = watched.local_addr().unwrap().port();
    let h = start(EgressPolicy {
        domains: vec![
            "granted.test".into(),
            "2130706433".into(),
            "[::ffff:127.0.0.1]".into(),
        ],
        ..EgressPolicy::default()
    });
    for (target, status, why) in [
        (
            "elsewhere.test",
            "403",
            "not among the plugin's granted domains",
        ),
        ("granted.test", "403", "127.0.0.1 is a loopback address"),
        ("2130706433", "403", "127.0.0.1 is a loopback address"),
        ("[::ffff:127.0.0.1]", "403", "loopback address"),
        ("169.254.169.254", "403", "cloud metadata"),
        ("10.0.0.1", "403", "private"),
    ] {
        let request = format!("CONNECT {target}:{port} HTTP/1.1\r\nhost: {target}\r\n\r\n");
        let (line, mut stream) = ask(&h.socket, &request).await;
        assert!(line.contains(status), "{target}: {line}");
        assert!(body(&mut stream).await.contains(why), "{target}");
    }
    let (line, _) = ask(&h.socket, "GET http://granted.test/ HTTP/1.1\r\n\r\n").await;
    assert!(line.contains("405"), "{line}");
    assert_eq!(
        *h.resolver.asked.lock().unwrap(),
        ["granted.test"],
        "only a granted name is resolved; addresses are read, not resolved"
    );
    let accepted =
        tokio::time::timeout(std::time::Duration::from_millis(300), watched.accept()).await;
    assert!(accepted.is_err(), "the listener saw no connection");
    let records = h.records.lock().unwrap().clone();
    assert_eq!(records.len(), 7, "every request is reported");
    assert!(
        records
            .iter()
            .all(|r| r.status != 200 && r.refusal.is_some())
    );
    assert_eq!(records[1].host, "granted.test");
    assert_eq!(records[1].method, "CONNECT");
}

/// An echo server on loopback standing in for an API the operator trusts; its port.
async fn echo_server() -> u16 {
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = server.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                while let Ok(n) = socket.read(&mut buffer).await {
                    if n == 0 || socket.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn a_tunnel_to_a_trusted_address_relays_within_the_budget_and_the_rate() {
    let port = echo_server().await;
    let h = start(EgressPolicy {
        domains: vec!["trusted.test".into()],
        trusted_addresses: vec!["127.0.0.1".parse().unwrap()],
        requests_per_minute: 3,
        bytes_per_execution: 64 * 1024,
        ..EgressPolicy::default()
    });
    let connect = format!("CONNECT trusted.test:{port} HTTP/1.1\r\n\r\n");
    let (line, mut tunnel) = ask(&h.socket, &connect).await;
    assert!(line.contains("200"), "{line}");
    tunnel.write_all(b"hello through the tunnel").await.unwrap();
    let mut echoed = [0u8; 24];
    tunnel.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"hello through the tunnel");
    drop(tunnel);

    // Over the execution's byte budget, the tunnel is cut.
    let (line, mut tunnel) = ask(&h.socket, &connect).await;
    assert!(line.contains("200"), "{line}");
    let big = vec![7u8; 256 * 1024];
    let _ = tunnel.write_all(&big).await;
    let mut received = Vec::new();
    let _ = tunnel.read_to_end(&mut received).await;
    assert!(
        received.len() < 64 * 1024,
        "{} bytes came back",
        received.len()
    );

    let (line, _) = ask(&h.socket, &connect).await;
    assert!(line.contains("200"), "third of three a minute: {line}");
    let (line, _) = ask(&h.socket, &connect).await;
    assert!(line.contains("429"), "fourth: {line}");

    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let records = h.records.lock().unwrap().clone();
    let first = records
        .iter()
        .find(|r| r.bytes_up == 24)
        .expect("the first tunnel");
    assert_eq!((first.status, first.bytes_down), (200, 24));
    assert!(
        records
            .iter()
            .any(|r| r.refusal.as_deref().is_some_and(|w| w.contains("budget"))),
        "{records:?}"
    );
    assert!(records.iter().any(|r| r.status == 429));
}

#[tokio::test]
async fn the_byte_budget_is_the_execution_s_across_tunnels() {
    let port = echo_server().await;
    let budget = 64 * 1024;
    let h = start(EgressPolicy {
        domains: vec!["trusted.test".into()],
        trusted_addresses: vec!["127.0.0.1".parse().unwrap()],
        bytes_per_execution: budget,
        ..EgressPolicy::default()
    });
    let connect = format!("CONNECT trusted.test:{port} HTTP/1.1\r\n\r\n");
    // Two tunnels at once, each sending 48 KB to be echoed: together they may not pass the budget.
    let send = |socket: std::path::PathBuf, connect: String| async move {
        let (line, tunnel) = ask(&socket, &connect).await;
        assert!(line.contains("200"), "{line}");
        let (mut reader, mut writer) = tunnel.into_split();
        let writing = tokio::spawn(async move {
            for _ in 0..12 {
                if writer.write_all(&[1u8; 4096]).await.is_err() {
                    break;
                }
            }
        });
        let mut received = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            reader.read_to_end(&mut received),
        )
        .await;
        writing.abort();
        received.len() as u64
    };
    let (a, b) = tokio::join!(
        send(h.socket.clone(), connect.clone()),
        send(h.socket.clone(), connect.clone())
    );
    // Sent up and echoed down both count: what came back is at most half the budget.
    assert!(a + b <= budget / 2, "{a} + {b} bytes echoed");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let records = h.records.lock().unwrap().clone();
    let counted: u64 = records.iter().map(|r| r.bytes_up + r.bytes_down).sum();
    assert!(counted <= budget, "{counted} bytes relayed: {records:?}");

    // The next execution has its budget again.
    h.proxy.new_execution();
    let (line, mut tunnel) = ask(&h.socket, &connect).await;
    assert!(line.contains("200"), "{line}");
    tunnel
        .write_all(b"a new execution, a new budget")
        .await
        .unwrap();
    let mut echoed = [0u8; 29];
    tunnel.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"a new execution, a new budget");
}

/// The operator's mapping sends a granted domain to a server on loopback, never resolving it; a mapped
/// domain that is not granted is refused before the mapping is looked at (the mapped listener sees no
/// connection for it); a granted domain that is not mapped is resolved and checked as before.
#[tokio::test]
async fn a_mapped_granted_domain_reaches_its_loopback_server_and_nothing_else_does() {
    let stub = echo_server().await;
    let watched = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let watched_port = watched.local_addr().unwrap().port();
    let h = start(EgressPolicy {
        domains: vec!["api.example.com".into(), "granted.test".into()],
        mapped: vec![
            format!("api.example.com=127.0.0.1:{stub}").parse().unwrap(),
            format!("not-granted.example.com=127.0.0.1:{watched_port}")
                .parse()
                .unwrap(),
        ],
        ..EgressPolicy::default()
    });
    let (line, mut stream) = ask(
        &h.socket,
        "CONNECT api.example.com:443 HTTP/1.1\r\nhost: api.example.com:443\r\n\r\n",
    )
    .await;
    assert!(line.contains("200"), "{line}");
    stream.write_all(b"ping").await.unwrap();
    let mut echoed = [0u8; 4];
    stream.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"ping");
    drop(stream);
    // Mapped but not granted: refused, and its server never hears of it.
    let (line, mut stream) = ask(
        &h.socket,
        "CONNECT not-granted.example.com:443 HTTP/1.1\r\nhost: not-granted.example.com\r\n\r\n",
    )
    .await;
    assert!(line.contains("403"), "{line}");
    assert!(
        body(&mut stream)
            .await
            .contains("not among the plugin's granted domains")
    );
    // Granted, not mapped: resolved as ever (to loopback here), and so refused by the address policy.
    let request =
        format!("CONNECT granted.test:{watched_port} HTTP/1.1\r\nhost: granted.test\r\n\r\n");
    let (line, mut stream) = ask(&h.socket, &request).await;
    assert!(line.contains("403"), "{line}");
    assert!(body(&mut stream).await.contains("loopback address"));
    assert_eq!(
        *h.resolver.asked.lock().unwrap(),
        ["granted.test"],
        "a mapped domain is never resolved"
    );
    let accepted =
        tokio::time::timeout(std::time::Duration::from_millis(300), watched.accept()).await;
    assert!(accepted.is_err(), "the listener saw no connection");
}

#[tokio::test]
async fn with_no_name_resolved_a_granted_domain_is_refused_unasked_and_a_mapped_one_still_answers()
{
    let stub = echo_server().await;
    let h = start(EgressPolicy {
        domains: vec!["api.example.com".into(), "granted.test".into()],
        mapped: vec![format!("api.example.com=127.0.0.1:{stub}").parse().unwrap()],
        resolve_names: false,
        ..EgressPolicy::default()
    });
    let (line, mut stream) = ask(
        &h.socket,
        "CONNECT granted.test:443 HTTP/1.1\r\nhost: granted.test:443\r\n\r\n",
    )
    .await;
    assert!(line.contains("403"), "{line}");
    assert!(body(&mut stream).await.contains("reaches no network"));
    let (line, mut stream) = ask(
        &h.socket,
        "CONNECT api.example.com:443 HTTP/1.1\r\nhost: api.example.com:443\r\n\r\n",
    )
    .await;
    assert!(line.contains("200"), "{line}");
    stream.write_all(b"ping").await.unwrap();
    let mut echoed = [0u8; 4];
    stream.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"ping");
    assert!(
        h.resolver.asked.lock().unwrap().is_empty(),
        "no name was resolved"
    );
}
