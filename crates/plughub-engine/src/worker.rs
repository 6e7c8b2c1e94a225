//! One Node.js worker process running one plugin. The protocol runs over a Unix socket that only this
//! worker may connect to (checked by peer credentials); its stdout and stderr are the plugin's own and
//! become its log. An answer is taken only for an outstanding request of this worker, once; anything else
//! is counted and ignored. A timeout, a protocol breach or an exit ends the worker and fails what it had
//! in hand with a clear error.

use crate::EngineError;
use crate::lines::{Line, next_line};
use crate::runtime::RuntimeHost;
use plughub_egress::{Admission, EgressPolicy, EgressProxy, EgressRecord, SystemResolver};
use plughub_protocol::{
    HostMessage, MAX_MESSAGE_BYTES, Manifest, RequestId, WorkerMessage, decode_worker, encode,
};
use plughub_sandbox::{Sandbox, SandboxPaths, SandboxPolicy};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::net::unix::OwnedWriteHalf;
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

/// Lines of output kept per worker (the oldest go first).
const LOG_LINES: usize = 1_000;
/// A printed line longer than this is cut.
const LOG_LINE_BYTES: usize = 8 * 1024;

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

struct Pending {
    reply: oneshot::Sender<WorkerMessage>,
    callbacks: Option<mpsc::UnboundedSender<Value>>,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<HashMap<RequestId, Pending>>,
    log: Mutex<VecDeque<LogLine>>,
    ended: Mutex<Option<String>>,
    kill: Mutex<Option<oneshot::Sender<()>>>,
    forged: AtomicU64,
    /// Lines logged over the worker's life (the log keeps the last `LOG_LINES`).
    logged: AtomicU64,
}

impl Shared {
    fn log(&self, stream: &str, text: String) {
        let mut log = self.log.lock().expect("not poisoned");
        self.logged.fetch_add(1, Ordering::Relaxed);
        if log.len() == LOG_LINES {
            log.pop_front();
        }
        log.push_back(LogLine {
            stream: stream.to_string(),
            text,
        });
    }

    /// Ends the worker (once): the reason is kept, the process killed, what was in hand failed.
    fn end(&self, reason: String) {
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

    fn exited(&self) -> EngineError {
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
                .iter()
                .filter(|l| l.stream != "stdout")
                .map(|l| l.text.clone())
                .collect(),
        }
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
    /// Starts Node.js with the host script on the plugin and waits until it has loaded the plugin.
    pub async fn spawn(
        spec: &WorkerSpec,
        runtime: Arc<dyn RuntimeHost>,
    ) -> Result<Worker, EngineError> {
        let host = write_host_script(&spec.run_dir)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut command = Command::new(&spec.node);
        // Nothing of plughub's environment reaches the worker: it is cleared before anything is set.
        command.env_clear();
        let (socket_path, socket_dir, sandbox) = match &spec.sandbox {
            Some(policy) => {
                let socket_dir = spec.run_dir.join(format!("w-{id}.d"));
                std::fs::create_dir_all(&socket_dir).map_err(|e| io(&socket_dir, e))?;
                let paths = SandboxPaths {
                    node: crate::sandboxing::resolve_node(&spec.node),
                    package_dir: spec.package_dir.clone(),
                    host_script: host.clone(),
                    socket_dir: socket_dir.clone(),
                    work_dir: spec.run_dir.join(format!("w-{id}.box")),
                };
                let sandbox = Sandbox::prepare(paths, policy)
                    .map_err(|e| EngineError::Start(format!("its sandbox: {e}")))?;
                let flag = policy
                    .node_permissions
                    .then(|| crate::sandboxing::node_permission_flag(&spec.node, &spec.run_dir))
                    .flatten();
                if let Some(flag) = &flag {
                    command.args(sandbox.node_flags(flag));
                }
                (
                    socket_dir.join("sock"),
                    Some(socket_dir),
                    Some((sandbox, flag)),
                )
            }
            None => (spec.run_dir.join(format!("w-{id}.sock")), None, None),
        };
        let listener = UnixListener::bind(&socket_path).map_err(|e| io(&socket_path, e))?;
        let mut egress_listener = None;
        if let Some((sandbox, _)) = &sandbox {
            let start =
                |e: plughub_sandbox::SandboxError| EngineError::Start(format!("its sandbox: {e}"));
            sandbox.grant_socket(&socket_path).map_err(start)?;
            if let (Some(policy), Some(dir)) = (&spec.egress, &socket_dir) {
                let egress_path = dir.join("egress.sock");
                let listener = UnixListener::bind(&egress_path).map_err(|e| io(&egress_path, e))?;
                sandbox.grant_socket(&egress_path).map_err(start)?;
                command.env("PLUGHUB_EGRESS", &egress_path);
                egress_listener = Some((listener, policy.clone()));
            }
            sandbox.apply(&mut command);
        }
        // A V8 heap flag makes V8 refuse the code cache Node carries for its own modules (their flags
        // must match the build's): measured here, a start then costs 120 ms of CPU instead of 70, and
        // the warm pool starts a worker every 100 executions. So where a memory cgroup holds the
        // worker, the cgroup alone caps it. The trade-off: V8 then sizes its heap by the machine (it
        // cannot see the cgroup from inside the sandbox), so a plugin whose live heap nears the plan's
        // memory is ended by the kernel (reported as over its memory) where V8 would have collected
        // harder first; one far below it is unaffected (V8 collects by live size, not by the cap).
        let cgroup_caps_memory = sandbox.as_ref().is_some_and(|(s, _)| s.limits_memory());
        if let Some(mb) = spec.memory_mb.filter(|_| !cgroup_caps_memory) {
            command.arg(format!("--max-old-space-size={mb}"));
        }
        command
            .arg(&host)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .env("PLUGHUB_SOCKET", &socket_path)
            .env("PLUGHUB_PACKAGE", &spec.package_dir)
            .current_dir(&spec.package_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // The worker's socket goes once it is connected (nobody else may connect); its directory, with
        // the egress socket, when the worker has ended.
        let remove_socket = || drop(std::fs::remove_file(&socket_path));
        let mut child = command.spawn().map_err(|e| {
            remove_socket();
            if let Some(dir) = &socket_dir {
                let _ = std::fs::remove_dir_all(dir);
            }
            match (&sandbox, e.kind()) {
                (_, std::io::ErrorKind::NotFound) | (None, _) => {
                    EngineError::NoNode(format!("{}: {e}", spec.node.display()))
                }
                (Some(_), _) => EngineError::Start(format!(
                    "its sandbox could not be entered ({e}); `plughub doctor` shows what this machine allows"
                )),
            }
        })?;
        let pid = child.id().unwrap_or_default();
        let sandboxed = sandbox.is_some();
        // The worker is moved into its cgroup from here while Node starts; it loads the plugin only
        // once told it is confined.
        let confining = sandbox
            .as_ref()
            .and_then(|(sandbox, _)| sandbox.confiner())
            .map(|confiner| tokio::task::spawn_blocking(move || confiner.confine(pid)));
        let shared = Arc::new(Shared::default());
        let sandbox = sandbox.map(|(sandbox, flag)| {
            for layer in sandbox.layers() {
                shared.log("sandbox", layer.clone());
            }
            match flag {
                Some(flag) => shared.log("sandbox", format!("Node permission model ({flag}): reads of the package, writes in /tmp; no child processes, workers or addons")),
                None => shared.log("sandbox", "Node permission model: not in force".into()),
            }
            sandbox
        });
        for (stream, name) in [
            (child.stdout.take().map(Either::Out), "stdout"),
            (child.stderr.take().map(Either::Err), "stderr"),
        ] {
            if let Some(stream) = stream {
                tokio::spawn(capture(stream, name, shared.clone()));
            }
        }
        let egress = egress_listener.map(|(listener, policy)| {
            let log = shared.clone();
            let hooks = spec.egress_hooks.clone();
            let admission = hooks.as_ref().and_then(|h| h.admission.clone());
            let proxy = EgressProxy::with_admission(
                policy,
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
                AbortOnDrop(tokio::spawn(proxy.serve(listener))),
            )
        });
        let (kill_tx, kill_rx) = oneshot::channel();
        *shared.kill.lock().expect("not poisoned") = Some(kill_tx);
        let (exit_tx, mut exit_rx) = oneshot::channel::<()>();
        tokio::spawn(watch(
            child,
            kill_rx,
            shared.clone(),
            exit_tx,
            sandbox,
            socket_dir,
        ));

        let accepted = tokio::time::timeout(spec.start_timeout, async {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let (stream, _) = accepted.map_err(|e| io(&socket_path, e))?;
                        // Only the worker we started may speak for the plugin.
                        let peer = stream.peer_cred().ok().and_then(|c| c.pid());
                        // In a sandbox the worker is the child of the process plughub started (the
                        // first process of its pid namespace).
                        if let Some(peer) = peer.filter(|p| {
                            *p == pid as i32 || (sandboxed && parent_of(*p) == Some(pid as i32))
                        }) {
                            return Ok((stream, peer as u32));
                        }
                    }
                    _ = &mut exit_rx => return Err(shared.exited()),
                }
            }
        })
        .await;
        remove_socket();
        let (stream, process) = match accepted {
            Ok(Ok(accepted)) => accepted,
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                shared.end("it did not connect in time".into());
                return Err(EngineError::Timeout {
                    what: "loading the plugin".into(),
                    seconds: spec.start_timeout.as_secs(),
                });
            }
        };
        if let Some(confining) = confining {
            let confined = match confining.await {
                Ok(Ok(worker)) if worker == process => Ok(()),
                Ok(Ok(worker)) => Err(format!("its cgroup took process {worker}, not the worker")),
                Ok(Err(e)) => Err(format!("its cgroup: {e}")),
                Err(e) => Err(format!("its cgroup: {e}")),
            };
            if let Err(why) = confined {
                shared.end(why.clone());
                return Err(EngineError::Start(why));
            }
        }
        let (read, mut write) = stream.into_split();
        let start =
            encode(&HostMessage::Start).map_err(|e| EngineError::Protocol(e.to_string()))?;
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
                let _ = tokio::time::timeout(Duration::from_millis(500), exit_rx).await;
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
        Ok(Worker {
            manifest,
            writer,
            shared,
            next_id: AtomicU64::new(1),
            pid: process,
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

    /// An execution starts: the egress byte budget starts again. A worker runs one execution at a time
    /// (the pool hands it out whole), so the budget is the execution's.
    pub fn new_execution(&self) {
        if let Some((proxy, _)) = &self.egress {
            proxy.new_execution();
        }
    }

    /// Sends a request and waits for its answer; callbacks on the way go to `callbacks`. A timeout ends
    /// the worker (its work cannot be trusted to stop by itself).
    pub async fn request(
        &self,
        make: impl FnOnce(RequestId) -> HostMessage,
        what: &str,
        timeout: Duration,
        callbacks: Option<mpsc::UnboundedSender<Value>>,
    ) -> Result<WorkerMessage, EngineError> {
        if !self.is_alive() {
            return Err(self.shared.exited());
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let line = encode(&make(id)).map_err(|e| EngineError::Protocol(e.to_string()))?;
        let (reply, answer) = oneshot::channel();
        self.shared
            .pending
            .lock()
            .expect("not poisoned")
            .insert(id, Pending { reply, callbacks });
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
            Ok(Ok(WorkerMessage::Error { error, .. })) => Err(EngineError::Plugin(error)),
            Ok(Ok(message)) => Ok(message),
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

    /// What the plugin printed and logged, oldest first.
    pub fn log(&self) -> Vec<LogLine> {
        self.shared
            .log
            .lock()
            .expect("not poisoned")
            .iter()
            .cloned()
            .collect()
    }

    /// How many lines the worker has logged over its life: a mark for `log_since`.
    pub fn log_mark(&self) -> u64 {
        self.shared.logged.load(Ordering::Relaxed)
    }

    /// The lines logged since `mark` (those still kept): what one execution of a warm worker printed,
    /// mixed with the lines of any other execution it served at the same time.
    pub fn log_since(&self, mark: u64) -> Vec<LogLine> {
        let log = self.shared.log.lock().expect("not poisoned");
        let new = self
            .shared
            .logged
            .load(Ordering::Relaxed)
            .saturating_sub(mark) as usize;
        log.iter()
            .skip(log.len().saturating_sub(new))
            .cloned()
            .collect()
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
        Some(pages * plughub_sandbox::probe::page_size())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Its egress task ends as the fields drop (AbortOnDrop).
        self.kill();
    }
}

enum Either {
    Out(tokio::process::ChildStdout),
    Err(tokio::process::ChildStderr),
}

/// The plugin's own output, line by line (cut when too long), into its log.
async fn capture(stream: Either, name: &str, shared: Arc<Shared>) {
    let reader: Box<dyn tokio::io::AsyncRead + Unpin + Send> = match stream {
        Either::Out(s) => Box::new(s),
        Either::Err(s) => Box::new(s),
    };
    let mut reader = BufReader::new(reader);
    while let Ok(Some(line)) = next_line(&mut reader, LOG_LINE_BYTES).await {
        let text = match line {
            Line::Complete(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Line::TooLong(bytes, total) => {
                format!("{}… ({total} bytes, cut)", String::from_utf8_lossy(&bytes))
            }
        };
        shared.log(name, text);
    }
}

/// Waits for the process to end (or ends it when asked), then records why.
async fn watch(
    mut child: tokio::process::Child,
    kill: oneshot::Receiver<()>,
    shared: Arc<Shared>,
    exited: oneshot::Sender<()>,
    sandbox: Option<Sandbox>,
    socket_dir: Option<PathBuf>,
) {
    let mut reason = tokio::select! {
        status = child.wait() => match status {
            Ok(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                (Some(code), _) => format!("it exited with code {code}"),
                (None, Some(signal)) => format!("it was killed by signal {signal}"),
                _ => "it exited".into(),
            },
            Err(e) => format!("cannot wait for it: {e}"),
        },
        _ = kill => {
            let _ = child.kill().await;
            "ended by plughub".into()
        }
    };
    if let Some(sandbox) = &sandbox
        && sandbox.oom_killed()
    {
        reason = format!("{reason}: it went over its memory limit");
    }
    // The worker is gone: its cgroup and mount point go with the sandbox, and its sockets.
    drop(sandbox);
    if let Some(dir) = socket_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    shared.end(reason);
    let _ = exited.send(());
}

/// Reads the worker's messages: answers go to their requests, runtime calls to the runtime, logs to the
/// log. A line that breaks the protocol ends the worker.
async fn read_messages(
    mut reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    shared: Arc<Shared>,
    writer: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    runtime: Arc<dyn RuntimeHost>,
) {
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
        let message = match decode_worker(&line) {
            Ok(message) => message,
            Err(e) => {
                shared.end(format!("it broke the protocol: {e}"));
                return;
            }
        };
        match message {
            WorkerMessage::RuntimeCall { id, method, params } => {
                let runtime = runtime.clone();
                let writer = writer.clone();
                tokio::spawn(async move {
                    let answer = match runtime.call(&method, params).await {
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
                    let line = encode(&answer).unwrap_or_else(|e| {
                        encode(&HostMessage::RuntimeError {
                            id,
                            error: format!("{method}: {e}"),
                        })
                        .expect("a short error encodes")
                    });
                    let mut writer = writer.lock().await;
                    let _ = writer.write_all(&line).await;
                });
            }
            WorkerMessage::Log { level, message } => shared.log(&level, message),
            WorkerMessage::Ready { .. } => {}
            WorkerMessage::Callback { id, content } => {
                let pending = shared.pending.lock().expect("not poisoned");
                match pending.get(&id).and_then(|p| p.callbacks.as_ref()) {
                    Some(callbacks) => {
                        let _ = callbacks.send(content);
                    }
                    None if pending.contains_key(&id) => {}
                    None => {
                        shared.forged.fetch_add(1, Ordering::Relaxed);
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
                        let _ = pending.reply.send(answer);
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

/// Writes the host script into the run folder (owner-only), unless it is there already as it should be.
fn write_host_script(run_dir: &Path) -> Result<PathBuf, EngineError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(run_dir).map_err(|e| io(run_dir, e))?;
    std::fs::set_permissions(run_dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| io(run_dir, e))?;
    let path = run_dir.join(format!(
        "host-{}.mjs",
        env!("CARGO_PKG_VERSION").replace('.', "_")
    ));
    if std::fs::read_to_string(&path).ok().as_deref() != Some(crate::HOST_SCRIPT) {
        let temp = run_dir.join(format!(".host-{}.mjs", uuid::Uuid::new_v4().simple()));
        std::fs::write(&temp, crate::HOST_SCRIPT).map_err(|e| io(&temp, e))?;
        std::fs::rename(&temp, &path).map_err(|e| io(&path, e))?;
    }
    Ok(path)
}

/// One request through the egress proxy, as a log line: host, method, status, bytes, and why refused.
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

/// The parent pid of a process, from `/proc/<pid>/stat` (after the parenthesised name, the state, then
/// the parent).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

fn io(path: &Path, source: std::io::Error) -> EngineError {
    EngineError::Io {
        path: path.display().to_string(),
        source,
    }
}
