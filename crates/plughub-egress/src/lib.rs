//! The egress proxy: a plugin's sandbox has no network, and this is its one way out. It listens on a
//! Unix socket placed in the sandbox and speaks HTTP `CONNECT host:port` (the tunnel `fetch`, `http`,
//! `https` and axios are routed through by the worker's host script). For each request it:
//! 1. counts it against the plugin's requests a minute;
//! 2. checks the host against the plugin's granted domains (`plughub_domain::egress`), refusing addresses
//!    in any encoding that are not public;
//! 3. resolves the name itself and keeps only public addresses (or ones the operator trusts); a granted
//!    domain the operator mapped to a server on loopback (`EgressMapping`: staging, tests, `plughub dev
//!    test`'s stub) is sent there instead, without resolving;
//! 4. connects to the address it checked, never resolving again, so a rebinding answer cannot get in;
//! 5. relays bytes up to the execution's budget, then reports the request (host, method, status, bytes).

mod mapping;

pub use mapping::EgressMapping;

use plughub_domain::egress::{self, Refusal};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixListener, UnixStream};

/// The longest request head accepted.
const MAX_HEAD: usize = 8 * 1024;

/// What one plugin instance may reach. Defaults from the product spec: 10 requests a minute.
#[derive(Debug, Clone)]
pub struct EgressPolicy {
    /// Granted domains (`api.example.com`, `*.example.com`): the plugin's `network.external` grant.
    pub domains: Vec<String>,
    pub requests_per_minute: usize,
    /// Bytes, both ways, over all requests of one execution.
    pub bytes_per_execution: u64,
    /// Non-public addresses the operator lets plugins reach anyway (an internal API); empty by default.
    pub trusted_addresses: Vec<IpAddr>,
    pub connect_timeout: Duration,
    /// Granted domains the operator sends to a server on loopback instead of resolving them (a stub of
    /// the real API); a mapped domain that is not granted is refused like any other. Empty by default.
    pub mapped: Vec<EgressMapping>,
    /// A certificate authority (PEM) the worker trusts on its TLS connections to mapped domains only:
    /// the one that signed the stub's certificate.
    pub mapped_ca: Option<String>,
    /// False when no name is resolved at all: a granted domain that is not mapped is refused as
    /// unresolvable. A compatibility run grants what plugins ask for and must reach nothing with it.
    pub resolve_names: bool,
}

impl Default for EgressPolicy {
    fn default() -> EgressPolicy {
        EgressPolicy {
            domains: Vec::new(),
            requests_per_minute: 10,
            bytes_per_execution: 10 << 20,
            trusted_addresses: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            mapped: Vec::new(),
            mapped_ca: None,
            resolve_names: true,
        }
    }
}

/// One request through the proxy, as it is recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct EgressRecord {
    pub host: String,
    pub port: u16,
    pub method: String,
    /// The proxy's answer: 200 tunnel, 403 refused, 429 over the rate, 502 unreachable, 400/405 bad.
    pub status: u16,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Why it was refused, in words.
    pub refusal: Option<String>,
    /// It passed the rate check (and so counts against the plugin's rate), whatever came after.
    pub admitted: bool,
}

pub type ResolveFuture = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

pub type AdmitFuture = Pin<Box<dyn Future<Output = bool> + Send>>;

/// Whether one more request fits the plugin's rate, asked of something that sees all of the plugin's
/// workers (the store, across processes and machines). Without one, the proxy counts its own requests.
pub trait Admission: Send + Sync + 'static {
    fn admit(&self, requests_per_minute: usize) -> AdmitFuture;
}

/// Name resolution, the system's by default; tests give names fixed answers (there is no public DNS
/// to ask here).
pub trait Resolver: Send + Sync + 'static {
    fn resolve(&self, host: &str, port: u16) -> ResolveFuture;
}

pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&self, host: &str, port: u16) -> ResolveFuture {
        let target = format!("{host}:{port}");
        Box::pin(async move {
            Ok(tokio::net::lookup_host(target)
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// The proxy of one worker.
pub struct EgressProxy {
    policy: EgressPolicy,
    resolver: Arc<dyn Resolver>,
    state: Mutex<State>,
    admission: Option<Arc<dyn Admission>>,
    /// Bytes relayed in the current execution, over all its tunnels: each chunk is counted before it is
    /// passed on, so tunnels open at once cannot together pass the budget.
    spent: AtomicU64,
    report: Box<dyn Fn(EgressRecord) + Send + Sync>,
}

#[derive(Default)]
struct State {
    /// When each request of the last minute came.
    recent: Vec<Instant>,
}

impl EgressProxy {
    pub fn new(
        policy: EgressPolicy,
        resolver: Arc<dyn Resolver>,
        report: impl Fn(EgressRecord) + Send + Sync + 'static,
    ) -> Arc<EgressProxy> {
        EgressProxy::with_admission(policy, resolver, None, report)
    }

    /// A proxy whose rate is counted by `admission` (all the plugin's workers together).
    pub fn with_admission(
        policy: EgressPolicy,
        resolver: Arc<dyn Resolver>,
        admission: Option<Arc<dyn Admission>>,
        report: impl Fn(EgressRecord) + Send + Sync + 'static,
    ) -> Arc<EgressProxy> {
        Arc::new(EgressProxy {
            policy,
            resolver,
            state: Mutex::new(State::default()),
            admission,
            spent: AtomicU64::new(0),
            report: Box::new(report),
        })
    }

    /// A new execution: its byte budget starts again.
    pub fn new_execution(&self) {
        self.spent.store(0, Ordering::Relaxed);
    }

    /// Serves connections until the listener fails (the worker's socket is removed with it).
    pub async fn serve(self: Arc<Self>, listener: UnixListener) {
        while let Ok((stream, _)) = listener.accept().await {
            let proxy = self.clone();
            tokio::spawn(async move { proxy.handle(stream).await });
        }
    }

    async fn handle(&self, mut client: UnixStream) {
        let record = self.tunnel(&mut client).await;
        if record.status != 200 {
            let reason = record.refusal.clone().unwrap_or_default();
            let answer = format!(
                "HTTP/1.1 {} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reason}",
                record.status,
                reason_phrase(record.status),
                reason.len()
            );
            let _ = client.write_all(answer.as_bytes()).await;
        }
        (self.report)(record);
    }

    async fn tunnel(&self, client: &mut UnixStream) -> EgressRecord {
        let mut record = EgressRecord {
            host: String::new(),
            port: 0,
            method: String::new(),
            status: 400,
            bytes_up: 0,
            bytes_down: 0,
            refusal: None,
            admitted: false,
        };
        let refuse = |mut record: EgressRecord, status: u16, why: String| {
            record.status = status;
            record.refusal = Some(why);
            record
        };
        let head = match read_head(client).await {
            Ok(head) => head,
            Err(why) => return refuse(record, 400, why),
        };
        let mut words = head.lines().next().unwrap_or_default().split_whitespace();
        let (method, target) = (
            words.next().unwrap_or_default(),
            words.next().unwrap_or_default(),
        );
        record.method = method.to_string();
        if method != "CONNECT" {
            return refuse(record, 405, "only CONNECT tunnels pass this proxy".into());
        }
        let Some((host, port)) = split_target(target) else {
            return refuse(record, 400, format!("{target:?} is not host:port"));
        };
        record.host = host.clone();
        record.port = port;
        // This proxy's own count first: a flood from one worker is refused without asking the store.
        let admitted = self.admit()
            && match &self.admission {
                Some(admission) => admission.admit(self.policy.requests_per_minute).await,
                None => true,
            };
        if !admitted {
            let limit = self.policy.requests_per_minute;
            return refuse(record, 429, format!("over {limit} requests a minute"));
        }
        record.admitted = true;
        if self.spent.load(Ordering::Relaxed) >= self.policy.bytes_per_execution {
            let budget = self.policy.bytes_per_execution;
            return refuse(
                record,
                429,
                format!("the execution's budget of {budget} bytes is spent"),
            );
        }
        let addresses = match self.addresses(&host, port).await {
            Ok(addresses) => addresses,
            Err(refusal) => return refuse(record, 403, refusal.to_string()),
        };
        let connect = async {
            let mut last = None;
            for address in &addresses {
                match TcpStream::connect(*address).await {
                    Ok(stream) => return Ok(stream),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| std::io::Error::other("no address")))
        };
        let mut upstream = match tokio::time::timeout(self.policy.connect_timeout, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return refuse(record, 502, format!("{host}:{port}: {e}")),
            Err(_) => return refuse(record, 502, format!("{host}:{port}: connect timed out")),
        };
        if client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .is_err()
        {
            return refuse(record, 400, "the plugin went away".into());
        }
        record.status = 200;
        let (up, down, over) = relay(
            client,
            &mut upstream,
            &self.spent,
            self.policy.bytes_per_execution,
        )
        .await;
        record.bytes_up = up;
        record.bytes_down = down;
        if over {
            record.refusal = Some(format!(
                "cut at the budget of {} bytes an execution",
                self.policy.bytes_per_execution
            ));
        }
        record
    }

    /// Counts a request against the minute's limit, among this proxy's own.
    fn admit(&self) -> bool {
        let mut state = self.state.lock().expect("not poisoned");
        let minute_ago = Instant::now() - Duration::from_secs(60);
        state.recent.retain(|t| *t > minute_ago);
        if state.recent.len() >= self.policy.requests_per_minute {
            return false;
        }
        state.recent.push(Instant::now());
        true
    }

    /// The checked addresses to connect to: the host granted, each address public or trusted, or the
    /// operator's server for a mapped domain (checked as granted first, never resolved).
    async fn addresses(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
        let at = |addresses: Vec<IpAddr>| {
            addresses
                .into_iter()
                .map(|a| SocketAddr::new(a, port))
                .collect()
        };
        let trusted = |a: &IpAddr| self.policy.trusted_addresses.contains(a);
        let literal = egress::literal_address(host);
        if let Some(address) = literal
            && trusted(&address)
            && egress::is_granted(host, &self.policy.domains)
        {
            return Ok(at(vec![address]));
        }
        if let Some(address) = egress::check_host(host, &self.policy.domains)? {
            return Ok(at(vec![address]));
        }
        if let Some(to) = mapping::target(&self.policy.mapped, host) {
            return Ok(vec![to]);
        }
        if !self.policy.resolve_names {
            return Err(Refusal::Unresolved { host: host.into() });
        }
        let resolved = self
            .resolver
            .resolve(host, port)
            .await
            .map_err(|_| Refusal::BadHost { host: host.into() })?;
        let (trusted_ones, rest): (Vec<IpAddr>, Vec<IpAddr>) =
            resolved.iter().partition(|a| trusted(a));
        if !trusted_ones.is_empty() {
            return Ok(at(trusted_ones));
        }
        egress::public_addresses(&rest).map(at)
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "Connection established",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        _ => "Bad Request",
    }
}

/// `host:port`, `[v6]:port`.
fn split_target(target: &str) -> Option<(String, u16)> {
    let (host, port) = target.rsplit_once(':')?;
    let port = port.parse().ok().filter(|p| *p != 0)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// Reads the request head (up to the blank line), byte by byte so nothing after it is consumed.
async fn read_head(client: &mut UnixStream) -> Result<String, String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(format!("a request head over {MAX_HEAD} bytes"));
        }
        match tokio::time::timeout(Duration::from_secs(10), client.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            _ => return Err("the request head did not come".into()),
        }
    }
    String::from_utf8(head).map_err(|_| "a request head that is not text".into())
}

/// Relays both ways until both sides are done or the execution's `spent` bytes would pass `budget`
/// (then both are dropped at once); returns this tunnel's (up, down, cut).
async fn relay(
    client: &mut UnixStream,
    upstream: &mut TcpStream,
    spent: &AtomicU64,
    budget: u64,
) -> (u64, u64, bool) {
    let (mut client_read, mut client_write) = client.split();
    let (mut up_read, mut up_write) = upstream.split();
    let counters = Counters {
        up: AtomicU64::new(0),
        down: AtomicU64::new(0),
        cut: tokio::sync::Notify::new(),
        over: AtomicBool::new(false),
        spent,
        budget,
    };
    let both = async {
        tokio::join!(
            copy_capped(&mut client_read, &mut up_write, &counters, true),
            copy_capped(&mut up_read, &mut client_write, &counters, false),
        )
    };
    tokio::select! {
        _ = both => {}
        _ = counters.cut.notified() => {}
    }
    (
        counters.up.load(Ordering::Relaxed),
        counters.down.load(Ordering::Relaxed),
        counters.over.load(Ordering::Relaxed),
    )
}

struct Counters<'a> {
    up: AtomicU64,
    down: AtomicU64,
    cut: tokio::sync::Notify,
    over: AtomicBool,
    spent: &'a AtomicU64,
    budget: u64,
}

async fn copy_capped(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
    counters: &Counters<'_>,
    upward: bool,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    let mine = if upward { &counters.up } else { &counters.down };
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n as u64,
        };
        // Reserved before it is written: what one tunnel takes, another cannot. One atomic step, so a
        // new execution's reset in between cannot leave the count wrong.
        let reserved = counters
            .spent
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |spent| {
                spent
                    .checked_add(n)
                    .filter(|total| *total <= counters.budget)
            });
        if reserved.is_err() {
            counters.over.store(true, Ordering::Relaxed);
            counters.cut.notify_one();
            return;
        }
        if to.write_all(&buffer[..n as usize]).await.is_err() {
            break;
        }
        mine.fetch_add(n, Ordering::Relaxed);
    }
    let _ = to.shutdown().await;
}
