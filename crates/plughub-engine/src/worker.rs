//! One Node.js worker process running one plugin. The protocol runs over a Unix socket that only this
//! worker may connect to (checked by peer credentials); its stdout and stderr are the plugin's own and
//! become its log. An answer is taken only for an outstanding request of this worker, once; anything else
//! is counted and ignored. A timeout, a protocol breach or an exit ends the worker and fails what it had
//! in hand with a clear error.

use crate::EngineError;
use crate::boot::{BootSpec, Booted, Urgency};
use crate::caps::{CallbackCap, Caps, bytes, cut, cut_marker, thousands};
use crate::lines::{Line, next_line};
use crate::pool::WorkerPool;
use crate::runtime::RuntimeHost;
use plughub_egress::{Admission, EgressPolicy, EgressProxy, EgressRecord, SystemResolver};
use plughub_protocol::{
    CodecError, HostMessage, MAX_MESSAGE_BYTES, Manifest, RequestId, WorkerMessage, decode_worker,
    encode,
};
use plughub_sandbox::SandboxPolicy;
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// How to start a worker.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    /// The Node.js executable.
    pub node: PathBuf,
    /// The plugin's package folder (with its node_modules).
    pub package_dir: PathBuf,
    /// A private folder for the host script and the sockets.
    pub run_dir: PathBuf,
    /// The worker's whole environment (nothing of plughub's is inherited).
    pub env: Vec<(String, String)>,
    /// Time to load the plugin and say it is ready.
    pub start_timeout: Duration,
    /// The JavaScript heap cap (Node's `--max-old-space-size`): a plugin that leaks is ended by V8 at
    /// this size instead of growing until the machine suffers. Not passed when the sandbox's memory
    /// cgroup caps the worker (see `spawn`).
    pub memory_mb: Option<u32>,
    /// The OS sandbox to start the worker in (`None`: a plain child process, for machines that cannot
    /// sandbox and for measuring what the sandbox costs).
    pub sandbox: Option<SandboxPolicy>,
    /// What the sandboxed worker may reach through plughub's egress proxy (its one way out); `None`: no
    /// way out at all.
    pub egress: Option<EgressPolicy>,
    /// Where each request through the egress proxy is reported, besides the worker's log.
    pub egress_hooks: Option<EgressHooks>,
    /// What the plugin may make plughub hold: its log, callbacks, events and runtime calls
    /// (`Caps::default()` unless a test wants smaller figures).
    pub caps: Caps,
    /// Workers booted ahead of need, taken from when one of these limits is there (`None`: booted when
    /// needed).
    pub pool: Option<Arc<WorkerPool>>,
    /// Whether a run waits for this worker, or it starts ahead of need (a recycled worker's successor),
    /// booting at the lowest CPU priority when no booted worker is kept for it.
    pub urgency: Urgency,
}

impl WorkerSpec {
    /// How its worker boots, before it has a plugin.
    pub fn boot(&self) -> BootSpec {
        BootSpec {
            node: self.node.clone(),
            run_dir: self.run_dir.clone(),
            memory_mb: self.memory_mb,
            sandbox: self.sandbox.clone(),
        }
    }
}

/// What a worker's egress proxy tells and asks: each request as it ends (besides the worker's log),
/// and whether one more fits the plugin's rate across all its workers.
#[derive(Clone)]
pub struct EgressHooks {
    pub report: Arc<dyn Fn(&EgressRecord) + Send + Sync>,
    pub admission: Option<Arc<dyn Admission>>,
}

impl std::fmt::Debug for EgressHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EgressHooks")
    }
}

/// A line the plugin printed or logged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogLine {
    /// `stdout`, `stderr`, or the logger's level.
    pub stream: String,
    pub text: String,
}

/// Where a worker's log stood at a moment (`Worker::log_mark`): what it had logged over its life until
/// then, for `Worker::log_since`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogMark {
    lines: u64,
    bytes: u64,
}

struct Pending {
    reply: oneshot::Sender<Result<WorkerMessage, EngineError>>,
    callbacks: Option<mpsc::UnboundedSender<Value>>,
    /// Who answers the runtime calls this request's run makes, when not the worker's runtime.
    runtime: Option<Arc<dyn RuntimeHost>>,
    /// What the request runs (`action HELLO`), for the error that stops it.
    what: String,
    /// Callbacks it sent so far, and their bytes (as protocol messages).
    sent: usize,
    sent_bytes: usize,
}

/// A kept line, with the bytes the plugin printed for it (more than its text when it was cut).
struct Kept {
    line: LogLine,
    printed: u64,
}

#[derive(Default)]
struct Log {
    lines: VecDeque<Kept>,
    /// The bytes of the kept lines' texts.
    bytes: usize,
    /// Lines and bytes logged over the worker's life (the log keeps the newest).
    mark: LogMark,
}

#[derive(Default)]
pub(crate) struct Shared {
    /// The caps of the plugin it runs, set when it is assigned one; the defaults until then.
    caps: std::sync::OnceLock<Caps>,
    pending: Mutex<HashMap<RequestId, Pending>>,
    /// Requests stopped at a cap whose run has not answered yet: what they still send is dropped
    /// quietly (it is no forgery), and their answer ends them.
    stopped: Mutex<HashSet<RequestId>>,
    log: Mutex<Log>,
    /// Who watches the log as it is written (`Worker::watch_log`); dropped watchers are forgotten.
    watchers: Mutex<Vec<mpsc::Sender<LogLine>>>,
    pub(crate) ended: Mutex<Option<String>>,
    pub(crate) kill: Mutex<Option<oneshot::Sender<()>>>,
    forged: AtomicU64,
    /// Events emitted in the current execution.
    events: AtomicUsize,
    /// The resident memory last read, in bytes (0: not read yet).
    memory: AtomicU64,
}

static DEFAULT_CAPS: std::sync::LazyLock<Caps> = std::sync::LazyLock::new(Caps::default);

impl Shared {
    pub(crate) fn caps(&self) -> &Caps {
        self.caps.get().unwrap_or(&DEFAULT_CAPS)
    }

    pub(crate) fn log(&self, stream: &str, text: String) {
        self.log_cut(stream, text, 0);
    }

    /// Logs a line of which `already_cut` bytes were left out before it got here; a line over the cap
    /// is cut, with a marker saying how much is missing. The oldest lines go past the worker's caps.
    pub(crate) fn log_cut(&self, stream: &str, text: String, already_cut: u64) {
        let printed = text.len() as u64 + already_cut;
        let (mut text, left_out) = cut(text, self.caps().log_line_bytes);
        let left_out = left_out as u64 + already_cut;
        if left_out > 0 {
            text.push_str(&cut_marker(left_out as usize));
        }
        let line = LogLine {
            stream: stream.to_string(),
            text,
        };
        {
            // A watcher that does not keep up misses lines (the record keeps them); one gone is dropped.
            let mut watchers = self.watchers.lock().expect("not poisoned");
            watchers.retain(|w| {
                !matches!(
                    w.try_send(line.clone()),
                    Err(mpsc::error::TrySendError::Closed(_))
                )
            });
        }
        let mut log = self.log.lock().expect("not poisoned");
        log.mark.lines += 1;
        log.mark.bytes += printed;
        log.bytes += line.text.len();
        log.lines.push_back(Kept { line, printed });
        while log.lines.len() > self.caps().worker_log_lines
            || (log.bytes > self.caps().worker_log_bytes && log.lines.len() > 1)
        {
            let oldest = log.lines.pop_front().expect("not empty");
            log.bytes -= oldest.line.text.len();
        }
    }

    /// Ends the worker (once): the reason is kept, the process killed, what was in hand failed.
    pub(crate) fn end(&self, reason: String) {
        {
            let mut ended = self.ended.lock().expect("not poisoned");
            if ended.is_none() {
                *ended = Some(reason);
            }
        }
        if let Some(kill) = self.kill.lock().expect("not poisoned").take() {
            let _ = kill.send(());
        }
        self.pending.lock().expect("not poisoned").clear();
    }

    pub(crate) fn exited(&self) -> EngineError {
        let reason = self
            .ended
            .lock()
            .expect("not poisoned")
            .clone()
            .unwrap_or_else(|| "it stopped answering".into());
        let log = self.log.lock().expect("not poisoned");
        EngineError::Exited {
            reason,
            log: log
                .lines
                .iter()
                .filter(|k| k.line.stream != "stdout")
                .map(|k| k.line.text.clone())
                .collect(),
        }
    }

    /// Fails request `id` at once for going past a cap on its callbacks. Its run goes on in the worker
    /// until the host script's refusals stop it; one that has not answered within the grace is ended
    /// with its worker (it cannot be trusted to stop by itself).
    fn stop(self: &Arc<Self>, id: RequestId, pending: Pending, cap: CallbackCap) {
        self.stopped.lock().expect("not poisoned").insert(id);
        let error = EngineError::CallbacksOverCap {
            what: pending.what,
            cap,
        };
        self.log("plughub", error.to_string());
        let _ = pending.reply.send(Err(error));
        let shared = self.clone();
        let grace = self.caps().stop_grace;
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            if shared.stopped.lock().expect("not poisoned").contains(&id) {
                shared.end(format!(
                    "its run stopped at the cap on callbacks went on for {} s",
                    grace.as_secs_f64()
                ));
            }
        });
    }
}

pub struct Worker {
    manifest: Manifest,
    writer: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    /// The Node process (in a sandbox, the child of the process plughub started).
    pid: u32,
    /// The egress proxy serving this worker, and its task, stopped with it.
    egress: Option<(Arc<EgressProxy>, AbortOnDrop)>,
}

/// A task that ends when its handle is dropped: the egress proxy of a worker that failed to start, or
/// that ended, stops serving with it.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Worker {
    /// A worker running the plugin of `spec`: one booted ahead from `spec.pool` when it has one for
    /// these limits, else one booted now; then assigned the plugin, which it loads.
    pub async fn spawn(
        spec: &WorkerSpec,
        runtime: Arc<dyn RuntimeHost>,
    ) -> Result<Worker, EngineError> {
        let boot = spec.boot();
        let booted = match &spec.pool {
            Some(pool) => pool.take(&boot, spec.urgency).await?,
            None => Booted::boot(&boot, spec.urgency).await?,
        };
        Worker::assign(booted, spec, runtime).await
    }

    /// Gives a booted worker its plugin: the package mounted where the worker looks for it (in a
    /// sandbox: nowhere else of the host's packages is visible), the egress proxy of the plugin's
    /// grants on the worker's egress socket, and `plughub.start` with what the plugin's process needs;
    /// then waits until it has loaded the plugin.
    pub async fn assign(
        booted: Booted,
        spec: &WorkerSpec,
        runtime: Arc<dyn RuntimeHost>,
    ) -> Result<Worker, EngineError> {
        let Booted {
            stream,
            pid,
            sandboxed,
            egress_listener,
            egress_path,
            exited: mut exit_rx,
            booted_at,
            urgency,
            mut guard,
        } = booted;
        let shared = guard.shared.clone();
        shared.log(
            "plughub",
            format!(
                "given its plugin, {} ms after it booted{}",
                booted_at.elapsed().as_millis(),
                if urgency == Urgency::Ahead {
                    ", ahead of need"
                } else {
                    ""
                }
            ),
        );
        let _ = shared.caps.set(spec.caps.clone());
        let package = match &sandboxed {
            Some(sandboxed) => {
                sandboxed
                    .helper
                    .assign(sandboxed.worker, spec.package_dir.clone())
                    .await
                    .map_err(|e| EngineError::Start(format!("its package: {e}")))?;
                PathBuf::from(plughub_sandbox::PACKAGE_MOUNT)
            }
            None => spec.package_dir.clone(),
        };
        // What the host script reads from its environment once started, and the plugin's own.
        let mut env: Vec<(String, String)> = spec.env.clone();
        env.push(("PLUGHUB_PACKAGE".into(), package.display().to_string()));
        env.push(("PLUGHUB_CAPS".into(), spec.caps.for_host()));
        if sandboxed.is_none() {
            // Unsandboxed, a worker runs in its package as a program under plain npm does.
            env.push(("PLUGHUB_CWD".into(), spec.package_dir.display().to_string()));
        }
        // With an egress policy the worker goes out through the proxy, sandbox or not: the permission
        // check stands, and mapped domains (the operator's stubs, `plughub dev test`'s) reach their
        // stubs. Without one, a sandboxed worker has no way out at all, and an unsandboxed one is a
        // plain process (the operator's choice).
        let egress = spec.egress.as_ref().map(|policy| {
            env.push(("PLUGHUB_EGRESS".into(), egress_path.display().to_string()));
            env.extend(
                mapped_env(policy)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v)),
            );
            let log = shared.clone();
            let hooks = spec.egress_hooks.clone();
            let admission = hooks.as_ref().and_then(|h| h.admission.clone());
            let proxy = EgressProxy::with_admission(
                policy.clone(),
                Arc::new(SystemResolver),
                admission,
                move |r| {
                    log.log("egress", describe_egress(&r));
                    if let Some(hooks) = &hooks {
                        (hooks.report)(&r);
                    }
                },
            );
            (
                proxy.clone(),
                AbortOnDrop(tokio::spawn(proxy.serve(egress_listener))),
            )
        });
        let (read, mut write) = stream.into_split();
        let start = encode(&HostMessage::Start {
            env: env.into_iter().collect(),
        })
        .map_err(|e| EngineError::Protocol(e.to_string()))?;
        if write.write_all(&start).await.is_err() {
            shared.end("its channel closed".into());
            return Err(shared.exited());
        }
        let mut reader = BufReader::new(read);
        let ready = tokio::time::timeout(
            spec.start_timeout,
            next_line(&mut reader, MAX_MESSAGE_BYTES),
        )
        .await;
        let manifest = match ready {
            Ok(Ok(Some(Line::Complete(line)))) => match decode_worker(&line) {
                Ok(WorkerMessage::Ready { manifest }) => manifest,
                Ok(other) => {
                    shared.end("it did not start with `ready`".into());
                    return Err(EngineError::Protocol(format!(
                        "expected ready, got {other:?}"
                    )));
                }
                Err(e) => {
                    shared.end(e.to_string());
                    return Err(EngineError::Protocol(e.to_string()));
                }
            },
            Ok(Ok(_)) | Ok(Err(_)) => {
                // Give the exit watcher a moment to record why.
                let _ = tokio::time::timeout(Duration::from_millis(500), &mut exit_rx).await;
                return Err(shared.exited());
            }
            Err(_) => {
                shared.end("it did not load the plugin in time".into());
                return Err(EngineError::Timeout {
                    what: "loading the plugin".into(),
                    seconds: spec.start_timeout.as_secs(),
                });
            }
        };
        let writer = Arc::new(tokio::sync::Mutex::new(write));
        tokio::spawn(read_messages(
            reader,
            shared.clone(),
            writer.clone(),
            runtime,
        ));
        guard.assigned = true;
        Ok(Worker {
            manifest,
            writer,
            shared,
            next_id: AtomicU64::new(1),
            pid,
            egress,
        })
    }

    /// The manifest the plugin had when it loaded (before `init`).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// An execution starts: the egress byte budget and the count of events start again. A worker runs
    /// one execution at a time (the pool hands it out whole), so they are the execution's.
    pub fn new_execution(&self) {
        if let Some((proxy, _)) = &self.egress {
            proxy.new_execution();
        }
        self.shared.events.store(0, Ordering::Relaxed);
    }

    /// Sends a request and waits for its answer; callbacks on the way go to `callbacks`. A timeout ends
    /// the worker (its work cannot be trusted to stop by itself); callbacks past the caps fail the
    /// request at once (`EngineError::CallbacksOverCap`).
    pub async fn request(
        &self,
        make: impl FnOnce(RequestId) -> HostMessage,
        what: &str,
        timeout: Duration,
        callbacks: Option<mpsc::UnboundedSender<Value>>,
    ) -> Result<WorkerMessage, EngineError> {
        self.request_answered_by(make, what, timeout, callbacks, None)
            .await
    }

    /// As `request`; the runtime calls its run makes are answered by `runtime` when given (a run for a
    /// calling agent, which answers the conversation's calls), else by the worker's runtime.
    pub async fn request_answered_by(
        &self,
        make: impl FnOnce(RequestId) -> HostMessage,
        what: &str,
        timeout: Duration,
        callbacks: Option<mpsc::UnboundedSender<Value>>,
        runtime: Option<Arc<dyn RuntimeHost>>,
    ) -> Result<WorkerMessage, EngineError> {
        if !self.is_alive() {
            return Err(self.shared.exited());
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let line = encode(&make(id)).map_err(|e| EngineError::Protocol(e.to_string()))?;
        let (reply, answer) = oneshot::channel();
        self.shared.pending.lock().expect("not poisoned").insert(
            id,
            Pending {
                reply,
                callbacks,
                runtime,
                what: what.to_string(),
                sent: 0,
                sent_bytes: 0,
            },
        );
        let written = async {
            let mut writer = self.writer.lock().await;
            writer.write_all(&line).await?;
            writer.flush().await
        };
        if written.await.is_err() {
            self.shared.end("its channel closed".into());
            return Err(self.shared.exited());
        }
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(Ok(WorkerMessage::Error { error, .. }))) => Err(EngineError::Plugin(error)),
            Ok(Ok(Ok(message))) => Ok(message),
            Ok(Ok(Err(stopped))) => Err(stopped),
            Ok(Err(_)) => Err(self.shared.exited()),
            Err(_) => {
                self.shared
                    .end(format!("{what} took longer than {} s", timeout.as_secs()));
                Err(EngineError::Timeout {
                    what: what.into(),
                    seconds: timeout.as_secs(),
                })
            }
        }
    }

    pub fn is_alive(&self) -> bool {
        self.shared.ended.lock().expect("not poisoned").is_none()
    }

    /// Ends the worker now.
    pub fn kill(&self) {
        self.shared.end("ended by plughub".into());
    }

    /// What the plugin printed and logged that the worker keeps (its newest lines, within
    /// `Caps::worker_log_lines` and `Caps::worker_log_bytes`), oldest first.
    pub fn log(&self) -> Vec<LogLine> {
        self.shared
            .log
            .lock()
            .expect("not poisoned")
            .lines
            .iter()
            .map(|k| k.line.clone())
            .collect()
    }

    /// The lines the worker logs from now on, as they come (up to 1,024 waiting; past that a slow
    /// reader misses lines, which the execution's record still has). Dropping the receiver stops it.
    pub fn watch_log(&self) -> mpsc::Receiver<LogLine> {
        let (tx, rx) = mpsc::channel(1024);
        self.shared.watchers.lock().expect("not poisoned").push(tx);
        rx
    }

    /// Where the worker's log stands now: a mark for `log_since`.
    pub fn log_mark(&self) -> LogMark {
        self.shared.log.lock().expect("not poisoned").mark
    }

    /// What one execution of a warm worker printed and logged since `mark` (mixed with the lines of any
    /// other execution it served at the same time), as its record carries it: its newest lines within
    /// `Caps::run_log_lines` and `Caps::run_log_bytes`, after a first line saying how many lines, and
    /// bytes as printed, were left out (those the worker no longer keeps included).
    pub fn log_since(&self, mark: LogMark) -> Vec<LogLine> {
        let caps = self.shared.caps();
        let log = self.shared.log.lock().expect("not poisoned");
        let lines = log.mark.lines.saturating_sub(mark.lines);
        let printed = log.mark.bytes.saturating_sub(mark.bytes);
        let kept = log.lines.len().min(lines as usize);
        let newest = || log.lines.iter().rev().take(kept);
        // The newest lines that fit in `max_lines` and `max_bytes`.
        let fitting = |max_lines: usize, max_bytes: usize| {
            let mut bytes = 0;
            newest()
                .take(max_lines)
                .take_while(|k| {
                    bytes += k.line.text.len();
                    bytes <= max_bytes
                })
                .count()
        };
        let mut taken = fitting(caps.run_log_lines, caps.run_log_bytes);
        if taken as u64 == lines {
            return log
                .lines
                .iter()
                .skip(log.lines.len() - kept)
                .map(|k| k.line.clone())
                .collect();
        }
        // Cut: room for the marker, which says what is missing.
        taken = fitting(
            caps.run_log_lines.saturating_sub(1),
            caps.run_log_bytes.saturating_sub(RUN_LOG_MARKER_ROOM),
        );
        let taken_printed: u64 = newest().take(taken).map(|k| k.printed).sum();
        let marker = LogLine {
            stream: "plughub".into(),
            text: format!(
                "… [cut: {} earlier lines ({}) of this execution left out of its log, which keeps {} lines and {}]",
                thousands(lines - taken as u64),
                bytes(printed.saturating_sub(taken_printed)),
                thousands(caps.run_log_lines as u64),
                bytes(caps.run_log_bytes as u64),
            ),
        };
        let mut out = Vec::with_capacity(taken + 1);
        out.push(marker);
        out.extend(
            log.lines
                .iter()
                .skip(log.lines.len() - taken)
                .map(|k| k.line.clone()),
        );
        out
    }

    /// Answers that matched no outstanding request (forged, late or repeated), all ignored.
    pub fn ignored_answers(&self) -> u64 {
        self.shared.forged.load(Ordering::Relaxed)
    }

    /// The worker's resident memory now: `/proc/<pid>/statm`'s resident pages (its short numbers cost
    /// the kernel far less than formatting the whole `status`, and this is read after every execution).
    pub fn memory_bytes(&self) -> Option<u64> {
        let statm = std::fs::read_to_string(format!("/proc/{}/statm", self.pid)).ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        let bytes = pages * plughub_sandbox::probe::page_size();
        self.shared.memory.store(bytes, Ordering::Relaxed);
        Some(bytes)
    }

    /// The resident memory last read (`memory_bytes`, which every run's invocation reads once it has
    /// answered), without reading it again; `None` before the first reading.
    pub fn memory_last_read(&self) -> Option<u64> {
        Some(self.shared.memory.load(Ordering::Relaxed)).filter(|b| *b > 0)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Its egress task ends as the fields drop (AbortOnDrop).
        self.kill();
    }
}

/// Bytes of a run's log kept free for the line saying what was cut from it.
const RUN_LOG_MARKER_ROOM: usize = 256;

/// Reads the worker's messages: answers go to their requests, runtime calls to the runtime, logs to the
/// log. A line that breaks the protocol ends the worker. Runtime calls are answered at most
/// `Caps::runtime_calls_in_flight` at once: past that, reading waits, and a plugin flooding calls fills
/// its own socket rather than plughub's memory.
async fn read_messages(
    mut reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    shared: Arc<Shared>,
    writer: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    runtime: Arc<dyn RuntimeHost>,
) {
    let in_flight = Arc::new(Semaphore::new(shared.caps().runtime_calls_in_flight.max(1)));
    loop {
        let line = match next_line(&mut reader, MAX_MESSAGE_BYTES).await {
            Ok(Some(Line::Complete(line))) => line,
            Ok(Some(Line::TooLong(_, total))) => {
                shared.end(format!(
                    "it sent a message of {total} bytes, over the {MAX_MESSAGE_BYTES}-byte cap"
                ));
                return;
            }
            Ok(None) | Err(_) => {
                // The process is usually exiting: give its watcher a moment to say how.
                for _ in 0..40 {
                    if shared.ended.lock().expect("not poisoned").is_some() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                shared.end("its channel closed".into());
                return;
            }
        };
        let size = line.len();
        let message = match decode_worker(&line) {
            Ok(message) => message,
            Err(e) => {
                shared.end(format!("it broke the protocol: {e}"));
                return;
            }
        };
        drop(line);
        match message {
            WorkerMessage::RuntimeCall {
                id,
                method,
                params,
                request,
            } => {
                let refused = refuse_call(&shared, &method, size);
                let Ok(permit) = in_flight.clone().acquire_owned().await else {
                    return;
                };
                // The run's own runtime while it runs; a call made after its run answered (a timer it
                // left) goes to the worker's, as any call outside a run does.
                let runtime = request
                    .and_then(|r| {
                        let pending = shared.pending.lock().expect("not poisoned");
                        pending.get(&r).and_then(|p| p.runtime.clone())
                    })
                    .unwrap_or_else(|| runtime.clone());
                let writer = writer.clone();
                let cap = shared.caps().runtime_call_bytes;
                tokio::spawn(async move {
                    // The call runs in a task of its own: were the runtime to panic, the plugin still
                    // gets an answer (an error) instead of waiting for ever, and nothing else stops.
                    let answer = match refused {
                        Some(error) => Err(error),
                        None => {
                            let called = method.clone();
                            tokio::spawn(async move { runtime.call(&called, params).await })
                                .await
                                .unwrap_or_else(|_| {
                                    Err(format!(
                                        "plughub failed while answering runtime.{method}()"
                                    ))
                                })
                        }
                    };
                    let answer = match answer {
                        Ok(result) => HostMessage::RuntimeResult {
                            id: id.clone(),
                            result,
                        },
                        Err(error) => HostMessage::RuntimeError {
                            id: id.clone(),
                            error,
                        },
                    };
                    // An answer over the cap reaches the plugin as an error on the same call.
                    let over = |size: usize| HostMessage::RuntimeError {
                        id: id.clone(),
                        error: format!(
                            "runtime.{method}(): its answer is {} bytes, over the {}-byte cap of a runtime call",
                            thousands(size as u64),
                            thousands(cap as u64)
                        ),
                    };
                    let line = match encode(&answer) {
                        Ok(line) if line.len() > cap + 1 => encode(&over(line.len() - 1)),
                        Ok(line) => Ok(line),
                        Err(CodecError::TooLarge(size)) => encode(&over(size)),
                        Err(e) => encode(&HostMessage::RuntimeError {
                            id: id.clone(),
                            error: format!("runtime.{method}(): {e}"),
                        }),
                    }
                    .expect("a short error encodes");
                    drop(answer);
                    let mut writer = writer.lock().await;
                    let _ = writer.write_all(&line).await;
                    drop(permit);
                });
            }
            WorkerMessage::Log {
                level,
                message,
                cut,
            } => shared.log_cut(&level, message, cut),
            WorkerMessage::Ready { .. } => {}
            WorkerMessage::Callback { id, content } => {
                let mut pending = shared.pending.lock().expect("not poisoned");
                let Some(request) = pending.get_mut(&id) else {
                    drop(pending);
                    if !shared.stopped.lock().expect("not poisoned").contains(&id) {
                        shared.forged.fetch_add(1, Ordering::Relaxed);
                    }
                    continue;
                };
                request.sent += 1;
                request.sent_bytes += size;
                let caps = shared.caps();
                let over = if request.sent > caps.callbacks {
                    Some(CallbackCap::Count(caps.callbacks))
                } else if request.sent_bytes > caps.callback_bytes {
                    Some(CallbackCap::Bytes(caps.callback_bytes))
                } else {
                    None
                };
                match over {
                    Some(cap) => {
                        let request = pending.remove(&id).expect("just found");
                        drop(pending);
                        shared.stop(id, request, cap);
                    }
                    None => {
                        if let Some(callbacks) = &request.callbacks {
                            let _ = callbacks.send(content);
                        }
                    }
                }
            }
            answer => {
                let id = answer
                    .answers()
                    .expect("every other message answers a request");
                let waiting = shared.pending.lock().expect("not poisoned").remove(&id);
                match waiting {
                    Some(pending) => {
                        let _ = pending.reply.send(Ok(answer));
                    }
                    // The end of a run stopped at a cap: its worker is free again.
                    None if shared.stopped.lock().expect("not poisoned").remove(&id) => {
                        shared.log(
                            "plughub",
                            format!("the run stopped at a cap ended (request {id})"),
                        );
                    }
                    None => {
                        shared.forged.fetch_add(1, Ordering::Relaxed);
                        shared.log(
                            "plughub",
                            format!("ignored an answer to no outstanding request (id {id})"),
                        );
                    }
                }
            }
        }
    }
}

/// Why a runtime call of `size` bytes is refused before the runtime sees it, if it is: over the cap of
/// a call, or an event past the caps of the execution.
fn refuse_call(shared: &Shared, method: &str, size: usize) -> Option<String> {
    let caps = shared.caps();
    if size > caps.runtime_call_bytes {
        return Some(format!(
            "runtime.{method}(): its arguments are {} bytes, over the {}-byte cap of a runtime call",
            thousands(size as u64),
            thousands(caps.runtime_call_bytes as u64)
        ));
    }
    if method != "emitEvent" {
        return None;
    }
    if size > caps.event_bytes {
        return Some(format!(
            "runtime.emitEvent(): an event of {} bytes is over the {} cap of an event",
            thousands(size as u64),
            bytes(caps.event_bytes as u64)
        ));
    }
    let emitted = shared.events.fetch_add(1, Ordering::Relaxed);
    (emitted >= caps.events).then(|| {
        format!(
            "runtime.emitEvent(): this execution has emitted {} events, the cap per execution",
            thousands(caps.events as u64)
        )
    })
}

/// One request through the egress proxy, as a log line: host, method, status, bytes, and why refused.
/// What the worker's host script needs to trust the operator's stubs: the certificate authority that
/// signed their certificates, for TLS to the mapped domains only (`js/host.mjs`). Nothing without one.
fn mapped_env(policy: &EgressPolicy) -> Vec<(&'static str, String)> {
    match &policy.mapped_ca {
        Some(ca) if !policy.mapped.is_empty() => {
            let domains: Vec<&str> = policy.mapped.iter().map(|m| m.domain.as_str()).collect();
            vec![
                ("PLUGHUB_EGRESS_CA", ca.clone()),
                (
                    "PLUGHUB_EGRESS_MAPPED",
                    serde_json::to_string(&domains).expect("strings serialise"),
                ),
            ]
        }
        _ => Vec::new(),
    }
}

fn describe_egress(r: &EgressRecord) -> String {
    let mut line = format!(
        "{} {}:{} -> {} ({} bytes up, {} down)",
        r.method, r.host, r.port, r.status, r.bytes_up, r.bytes_down
    );
    if let Some(why) = &r.refusal {
        line.push_str(": ");
        line.push_str(why);
    }
    line
}
