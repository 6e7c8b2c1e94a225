//! The HTTP stub of a test run: a loopback server answering `plughub.dev.json`'s `http` entries (or, for
//! plughub's own tests of real plugins, an answerer of the test's: `Stub::answering`). The egress proxy
//! of the run maps the plugin's granted domains to it (`EgressPolicy::mapped`, the mapping an operator
//! uses for staging), so a request reaches it only through the real permission check; a domain not
//! granted never connects. A URL without an entry is answered 404 and reported. `https://` is served
//! with a certificate for the stub's hosts signed by a certificate authority made for the run, which the
//! worker trusts for the mapped domains of this run only (`ca_pem`); one port serves both, told apart
//! by the first byte.

use crate::test::plan::HttpStub;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// The longest request head and body the stub reads.
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 4 << 20;

/// A request the stub saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StubRequest {
    pub method: String,
    pub url: String,
    pub status: u16,
    /// An entry of `plughub.dev.json` answered it (else 404).
    pub matched: bool,
}

/// A request as the stub's answerer gets it: the whole URL (`https://host/path?query`) and the body.
#[derive(Debug, Clone)]
pub struct Asked {
    pub method: String,
    pub url: String,
    pub body: Vec<u8>,
}

impl Asked {
    /// The body as JSON, when it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// An answer: status, headers (a `content-type` is added from `json`/`body` when missing) and body.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Answer {
    pub fn json(value: &Value) -> Answer {
        Answer {
            status: 200,
            headers: [("content-type".into(), "application/json".into())].into(),
            body: value.to_string(),
        }
    }
}

/// Answers a request, or `None` for a URL it has no answer for (404, reported as unmatched).
pub type Answerer = Arc<dyn Fn(&Asked) -> Option<Answer> + Send + Sync>;

#[derive(Default)]
struct Seen {
    requests: Vec<StubRequest>,
    connections: u64,
}

pub struct Stub {
    address: SocketAddr,
    ca_pem: String,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stub {
    /// Listens on a loopback port of its own and answers `entries`.
    pub async fn start(entries: Vec<HttpStub>) -> std::io::Result<Stub> {
        let mut hosts: Vec<String> = entries
            .iter()
            .filter_map(|e| url::Url::parse(&e.url).ok()?.host_str().map(str::to_string))
            .collect();
        hosts.sort();
        hosts.dedup();
        Stub::answering(hosts, Arc::new(move |asked| answer_from(&entries, asked))).await
    }

    /// Listens on a loopback port of its own, with a certificate for `hosts` (https), and lets `answer`
    /// answer each request: a stub of an API whose answers depend on what is asked (a JSON-RPC
    /// endpoint), for tests reaching it through the egress mapping.
    pub async fn answering(hosts: Vec<String>, answer: Answerer) -> std::io::Result<Stub> {
        let (ca_pem, tls) = tls_for(hosts).map_err(std::io::Error::other)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let task = tokio::spawn({
            let seen = seen.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    seen.lock().expect("not poisoned").connections += 1;
                    let (seen, answer, tls) = (seen.clone(), answer.clone(), tls.clone());
                    tokio::spawn(async move {
                        let mut stream = stream;
                        // A TLS handshake starts with a handshake record (22).
                        let mut first = [0u8; 1];
                        let secure =
                            matches!(stream.peek(&mut first).await, Ok(1) if first[0] == 22);
                        if secure {
                            if let Ok(mut stream) = tls.accept(stream).await {
                                serve(&mut stream, &answer, "https", &seen).await;
                            }
                        } else {
                            serve(&mut stream, &answer, "http", &seen).await;
                        }
                    });
                }
            }
        });
        Ok(Stub {
            address,
            ca_pem,
            seen,
            task,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The run's certificate authority (PEM), which signed the stub's certificate: the worker trusts
    /// it for its tunnels to the mapped domains (`EgressPolicy::mapped_ca`) in this run only.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The requests seen since the last call (a test's, when called after each test).
    pub fn take_requests(&self) -> Vec<StubRequest> {
        std::mem::take(&mut self.seen.lock().expect("not poisoned").requests)
    }

    /// Connections accepted over the run.
    pub fn connections(&self) -> u64 {
        self.seen.lock().expect("not poisoned").connections
    }
}

/// `plughub.dev.json`'s answer: the entry with the same method and URL.
fn answer_from(entries: &[HttpStub], asked: &Asked) -> Option<Answer> {
    let url = url::Url::parse(&asked.url).ok()?;
    let entry = entries.iter().find(|e| {
        e.method.eq_ignore_ascii_case(&asked.method)
            && url::Url::parse(&e.url).ok() == Some(url.clone())
    })?;
    let mut headers = entry.headers.clone();
    let body = match (&entry.json, &entry.body) {
        (Some(json), _) => {
            headers
                .entry("content-type".into())
                .or_insert_with(|| "application/json".into());
            json.to_string()
        }
        (None, Some(body)) => {
            headers
                .entry("content-type".into())
                .or_insert_with(|| "text/plain; charset=utf-8".into());
            body.clone()
        }
        (None, None) => String::new(),
    };
    Some(Answer {
        status: entry.status,
        headers,
        body,
    })
}

/// Reads one request, answers it, and says what it was.
async fn serve(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
    answer: &Answerer,
    scheme: &str,
    seen: &Mutex<Seen>,
) -> Option<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let mut host = String::new();
    let mut length = 0usize;
    for line in lines {
        if let Some((key, value)) = line.split_once(':') {
            match key.trim().to_ascii_lowercase().as_str() {
                "host" => host = value.trim().to_string(),
                "content-length" => length = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    // The body is read whole, so that the client sees its request taken and the answerer sees it.
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length.min(MAX_BODY) {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let url = if target.starts_with("http://") || target.starts_with("https://") {
        target.clone()
    } else {
        format!("{scheme}://{host}{target}")
    };
    let url = url::Url::parse(&url).map_or(url, |u| u.to_string());
    let asked = Asked {
        method: method.clone(),
        url: url.clone(),
        body,
    };
    let found = answer(&asked);
    let matched = found.is_some();
    let Answer {
        status,
        mut headers,
        body,
    } = found.unwrap_or_else(|| Answer {
        status: 404,
        headers: Default::default(),
        body: format!("plughub dev test: no entry in plughub.dev.json `http` for {method} {url}"),
    });
    headers
        .entry("content-type".into())
        .or_insert_with(|| "text/plain; charset=utf-8".into());
    let mut answer = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (key, value) in &headers {
        if !key.eq_ignore_ascii_case("content-length") && !key.eq_ignore_ascii_case("connection") {
            answer.push_str(&format!("{key}: {value}\r\n"));
        }
    }
    answer.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    answer.push_str(&body);
    // Recorded before the answer goes: a test that ends as soon as it has its answer still finds its
    // request among the run's.
    seen.lock()
        .expect("not poisoned")
        .requests
        .push(StubRequest {
            method,
            url,
            status,
            matched,
        });
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
    Some(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

/// A certificate authority made for this run, and a TLS acceptor with a certificate for `hosts` that it
/// signed. Made anew each run and never written to disk: nothing else ever trusts it.
fn tls_for(hosts: Vec<String>) -> Result<(String, tokio_rustls::TlsAcceptor), String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    use tokio_rustls::rustls;
    let e = |e: rcgen::Error| format!("cannot make the stub's certificate: {e}");
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "plughub dev test (this run only)");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().map_err(e)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(e)?;
    let names = if hosts.is_empty() {
        vec!["localhost".to_string()]
    } else {
        hosts
    };
    let mut leaf = CertificateParams::new(names).map_err(e)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "plughub dev test stub");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let leaf_key = KeyPair::generate().map_err(e)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).map_err(e)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        leaf_key.serialize_der(),
    ));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(vec![leaf_cert.der().clone(), ca_cert.der().clone()], key)
    .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((
        ca_cert.pem(),
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test::plan::DevConfig;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn ask(stub: &Stub, request: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(stub.address())
            .await
            .unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    /// The request is among the stub's as soon as its answer is read: a test that ends then has it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_is_recorded_before_it_is_answered() {
        let dev: DevConfig = serde_json::from_str(
            r#"{"http": [{"url": "http://api.example.com/a", "body": "ok"}]}"#,
        )
        .unwrap();
        let stub = Stub::start(dev.http).await.unwrap();
        for _ in 0..50 {
            let mut stream = tokio::net::TcpStream::connect(stub.address())
                .await
                .unwrap();
            stream
                .write_all(b"GET /a HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
                .await
                .unwrap();
            // The answer's first bytes, not its end: the test reads what it needs and goes on.
            let mut first = [0u8; 12];
            stream.read_exact(&mut first).await.unwrap();
            assert_eq!(&first, b"HTTP/1.1 200");
            assert_eq!(stub.take_requests().len(), 1);
        }
    }

    #[tokio::test]
    async fn entries_are_answered_and_an_unmatched_url_is_404_and_reported() {
        let dev: DevConfig = serde_json::from_str(
            r#"{"http": [{"url": "http://api.example.com/v1/x?q=1", "json": {"a": 1},
                          "headers": {"x-one": "1"}}]}"#,
        )
        .unwrap();
        let stub = Stub::start(dev.http).await.unwrap();
        let answer = ask(
            &stub,
            "GET /v1/x?q=1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(
            answer.contains("content-type: application/json\r\n"),
            "{answer}"
        );
        assert!(answer.contains("x-one: 1\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\n{\"a\":1}"), "{answer}");
        let answer = ask(
            &stub,
            "POST /v1/x?q=1 HTTP/1.1\r\nHost: api.example.com\r\ncontent-length: 2\r\n\r\nhi",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
        assert!(
            answer.contains("no entry in plughub.dev.json `http` for POST"),
            "{answer}"
        );
        assert_eq!(
            stub.take_requests(),
            [
                StubRequest {
                    method: "GET".into(),
                    url: "http://api.example.com/v1/x?q=1".into(),
                    status: 200,
                    matched: true
                },
                StubRequest {
                    method: "POST".into(),
                    url: "http://api.example.com/v1/x?q=1".into(),
                    status: 404,
                    matched: false
                },
            ]
        );
        assert!(stub.take_requests().is_empty());
        assert_eq!(stub.connections(), 2);
        assert!(stub.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    }
}
