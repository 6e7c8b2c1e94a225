//! Booting a worker: Node.js started on the host script in the worker's sandbox, connected to plughub
//! and confined (its cgroup joined), with no plugin yet. Booting is most of what a worker's start
//! costs (Node's own start); what is left for `Worker::assign` is the plugin's import and `init`. A
//! booted worker reads nothing of any plugin until it is assigned one: in a sandbox its package's mount
//! point is empty until then (`Sandbox::mount_package`).

use crate::EngineError;
use crate::lines::{Line, next_line};
use crate::worker::Shared;
use plughub_sandbox::helper::{Launch, SandboxHelper};
use plughub_sandbox::{Sandbox, SandboxPolicy};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::BufReader;
use tokio::net::{UnixListener, UnixStream};
use tokio::process::Command;
use tokio::sync::oneshot;

/// What a booted worker is: the same for every plugin that runs under the same limits and grants, so a
/// worker booted ahead of time serves any of them (see `WorkerPool`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BootSpec {
    /// The Node.js executable.
    pub node: PathBuf,
    /// A private folder for the host script and the sockets.
    pub run_dir: PathBuf,
    /// V8's heap cap (`--max-old-space-size`), passed only where no memory cgroup holds the worker.
    pub memory_mb: Option<u32>,
    /// The OS sandbox (`None`: a plain child process).
    pub sandbox: Option<SandboxPolicy>,
}

/// How long Node may take to start and connect. Not a plugin's time (its load is timed once it is
/// assigned one), so one figure for all: generous, since a boot ahead of need runs at the lowest CPU
/// priority and, on a busy machine, gets only what executions leave.
const BOOT_TIMEOUT: Duration = Duration::from_secs(30);

/// How hard a boot may press on the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// A run waits for it: the boot runs at the server's own priority.
    Now,
    /// Ahead of need (a pool filling up, a recycled worker's successor): Node starts at the lowest CPU
    /// priority, so that it takes the CPU executions leave idle and never theirs; assigning raises it
    /// back. Only where plughub may raise it back (as root); elsewhere as `Now`.
    Ahead,
}

/// A worker booted, waiting for its plugin. Dropping it ends the process.
pub struct Booted {
    /// The connection to the host script, which waits for `plughub.start`.
    pub(crate) stream: UnixStream,
    /// The Node process (in a sandbox, the child of the process the helper started).
    pub(crate) pid: u32,
    /// The sandbox helper's worker, when it runs in a sandbox.
    pub(crate) sandboxed: Option<Sandboxed>,
    /// The egress proxy's socket, bound in the worker's socket folder; served once a plugin with a
    /// way out is assigned.
    pub(crate) egress_listener: UnixListener,
    pub(crate) egress_path: PathBuf,
    /// Fires when the process has ended.
    pub(crate) exited: oneshot::Receiver<()>,
    /// When it was booted, and whether ahead of need: said in its log once it is assigned a plugin.
    pub(crate) booted_at: std::time::Instant,
    pub(crate) urgency: Urgency,
    pub(crate) guard: EndUnlessAssigned,
}

/// A sandboxed worker, as the sandbox helper that started it names it.
#[derive(Clone)]
pub(crate) struct Sandboxed {
    pub(crate) helper: Arc<SandboxHelper>,
    pub(crate) worker: u64,
}

/// A booted worker's shared state, which ends it when dropped before it was assigned a plugin (a pool
/// let go, an assignment that failed half-way).
pub(crate) struct EndUnlessAssigned {
    pub(crate) shared: Arc<Shared>,
    pub(crate) assigned: bool,
}

impl Drop for EndUnlessAssigned {
    fn drop(&mut self) {
        if !self.assigned {
            self.shared
                .end("ended by plughub before it ran a plugin".into());
        }
    }
}

impl Booted {
    /// Whether the process still runs.
    pub fn is_alive(&self) -> bool {
        self.guard
            .shared
            .ended
            .lock()
            .expect("not poisoned")
            .is_none()
    }

    /// The Node process.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Boots a worker for `spec`.
    pub async fn boot(spec: &BootSpec, urgency: Urgency) -> Result<Booted, EngineError> {
        let booted_at = std::time::Instant::now();
        let host = write_host_script(&spec.run_dir)?;
        check_socket_room(&spec.run_dir)?;
        let id = uuid::Uuid::new_v4().simple().to_string()[..WORKER_ID_HEX].to_string();
        let shared = Arc::new(Shared::default());
        let (kill_tx, kill_rx) = oneshot::channel();
        *shared.kill.lock().expect("not poisoned") = Some(kill_tx);
        let (exit_tx, mut exit_rx) = oneshot::channel::<()>();
        let started = match &spec.sandbox {
            Some(policy) => {
                let started = start_sandboxed(spec, policy, host, id, urgency, &shared).await?;
                tokio::spawn(watch_sandboxed(
                    started.exit,
                    started.sandboxed,
                    kill_rx,
                    shared.clone(),
                    exit_tx,
                ));
                started.process
            }
            None => start_plain(spec, &host, &id, &shared, kill_rx, exit_tx)?,
        };
        let Process {
            listener,
            egress_listener,
            egress_path,
            pid: expected,
            sandboxed,
        } = started;
        let accepted = tokio::time::timeout(BOOT_TIMEOUT, async {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let (stream, _) = accepted.map_err(|e| io(Path::new("the worker's socket"), e))?;
                        // Only the worker we started may speak for the plugin.
                        let peer = stream.peer_cred().ok().and_then(|c| c.pid());
                        if peer == Some(expected as i32) {
                            return Ok(stream);
                        }
                    }
                    _ = &mut exit_rx => return Err(shared.exited()),
                }
            }
        })
        .await;
        // Nobody else may connect: the listener goes once the worker has.
        drop(listener);
        let stream = match accepted {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                shared.end("it did not connect in time".into());
                return Err(EngineError::Timeout {
                    what: "starting Node.js".into(),
                    seconds: BOOT_TIMEOUT.as_secs(),
                });
            }
        };
        Ok(Booted {
            stream,
            pid: expected,
            sandboxed,
            egress_listener,
            egress_path,
            exited: exit_rx,
            booted_at,
            urgency,
            guard: EndUnlessAssigned {
                shared,
                assigned: false,
            },
        })
    }
}

/// A started worker's process, before it has connected.
struct Process {
    listener: UnixListener,
    egress_listener: UnixListener,
    egress_path: PathBuf,
    /// The Node process, which alone may connect.
    pid: u32,
    sandboxed: Option<Sandboxed>,
}

struct StartedSandboxed {
    process: Process,
    exit: oneshot::Receiver<String>,
    sandboxed: Sandboxed,
}

/// Has the sandbox helper start Node in a sandbox, confined before it loads anything of a plugin.
async fn start_sandboxed(
    spec: &BootSpec,
    policy: &SandboxPolicy,
    host: PathBuf,
    id: String,
    urgency: Urgency,
    shared: &Arc<Shared>,
) -> Result<StartedSandboxed, EngineError> {
    let start =
        |e: plughub_sandbox::helper::HelperError| EngineError::Start(format!("its sandbox: {e}"));
    let helper = plughub_sandbox::helper::shared().map_err(start)?;
    let permission_flag = policy
        .node_permissions
        .then(|| crate::sandboxing::node_permission_flag(&spec.node, &spec.run_dir))
        .flatten();
    let launched = helper
        .launch(Launch {
            policy: policy.clone(),
            node: crate::sandboxing::resolve_node(&spec.node),
            host_script: host,
            run_dir: spec.run_dir.clone(),
            name: id,
            permission_flag: permission_flag.clone(),
            memory_mb: spec.memory_mb,
            lowest_priority: urgency == Urgency::Ahead,
        })
        .await
        .map_err(start)?;
    let sandboxed = Sandboxed {
        helper: helper.clone(),
        worker: launched.worker,
    };
    for layer in &launched.layers {
        shared.log("sandbox", layer.clone());
    }
    match &permission_flag {
        Some(flag) => shared.log("sandbox", format!("Node permission model ({flag}): reads of the package, writes in /tmp; no child processes, workers or addons")),
        None => shared.log("sandbox", "Node permission model: not in force".into()),
    }
    let listeners = (|| {
        let listener = tokio_listener(launched.listener)?;
        let egress_listener = tokio_listener(launched.egress_listener)?;
        for (fd, name) in [(launched.stdout, "stdout"), (launched.stderr, "stderr")] {
            let pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(fd)?;
            tokio::spawn(capture(Box::new(pipe), name, shared.clone()));
        }
        Ok::<_, std::io::Error>((listener, egress_listener))
    })();
    let (listener, egress_listener) = match listeners {
        Ok(listeners) => listeners,
        Err(e) => {
            helper.kill(launched.worker);
            return Err(EngineError::Start(format!("its sockets: {e}")));
        }
    };
    Ok(StartedSandboxed {
        process: Process {
            listener,
            egress_listener,
            egress_path: launched.egress_path,
            pid: launched.pid,
            sandboxed: Some(sandboxed.clone()),
        },
        exit: launched.exited,
        sandboxed,
    })
}

fn tokio_listener(listener: std::os::unix::net::UnixListener) -> std::io::Result<UnixListener> {
    listener.set_nonblocking(true)?;
    UnixListener::from_std(listener)
}

/// Starts Node as a plain child process (no sandbox: `PLUGHUB_SANDBOX=off`), in a session of its own,
/// with its sockets in a folder of the run folder.
fn start_plain(
    spec: &BootSpec,
    host: &Path,
    id: &str,
    shared: &Arc<Shared>,
    kill: oneshot::Receiver<()>,
    exited: oneshot::Sender<()>,
) -> Result<Process, EngineError> {
    let socket_dir = spec.run_dir.join(format!("w-{id}.d"));
    std::fs::create_dir_all(&socket_dir).map_err(|e| io(&socket_dir, e))?;
    // The folder and its sockets go with the worker (in `watch_plain`), or here when it does not start.
    let cleanup = SocketDir(Some(socket_dir.clone()));
    let socket_path = socket_dir.join("sock");
    let egress_path = socket_dir.join("egress.sock");
    let listener = UnixListener::bind(&socket_path).map_err(|e| io(&socket_path, e))?;
    let egress_listener = UnixListener::bind(&egress_path).map_err(|e| io(&egress_path, e))?;
    let mut command = Command::new(&spec.node);
    // Nothing of plughub's environment reaches the worker: it is cleared before anything is set.
    command.env_clear();
    // Out of plughub's process group and session, as in the sandbox.
    Sandbox::own_session(&mut command);
    if let Some(mb) = spec.memory_mb {
        command.arg(format!("--max-old-space-size={mb}"));
    }
    command
        .arg(host)
        .env("PLUGHUB_SOCKET", &socket_path)
        .current_dir(&spec.run_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| EngineError::NoNode(format!("{}: {e}", spec.node.display())))?;
    let pid = child.id().unwrap_or_default();
    if let Some(out) = child.stdout.take() {
        tokio::spawn(capture(Box::new(out), "stdout", shared.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(capture(Box::new(err), "stderr", shared.clone()));
    }
    tokio::spawn(watch_plain(child, kill, shared.clone(), exited, cleanup));
    Ok(Process {
        listener,
        egress_listener,
        egress_path,
        pid,
        sandboxed: None,
    })
}

/// A worker's socket folder, removed when dropped unless taken.
pub(crate) struct SocketDir(Option<PathBuf>);

impl Drop for SocketDir {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The plugin's own output, line by line (cut when too long), into its log.
async fn capture(
    reader: Box<dyn tokio::io::AsyncRead + Unpin + Send>,
    name: &str,
    shared: Arc<Shared>,
) {
    let mut reader = BufReader::new(reader);
    while let Ok(Some(line)) = next_line(&mut reader, shared.caps().log_line_bytes).await {
        match line {
            Line::Complete(bytes) => shared.log(name, String::from_utf8_lossy(&bytes).into_owned()),
            Line::TooLong(bytes, total) => shared.log_cut(
                name,
                String::from_utf8_lossy(&bytes).into_owned(),
                (total - bytes.len()) as u64,
            ),
        }
    }
}

/// Waits for a plain process to end (or ends it when asked), then records why.
async fn watch_plain(
    mut child: tokio::process::Child,
    kill: oneshot::Receiver<()>,
    shared: Arc<Shared>,
    exited: oneshot::Sender<()>,
    socket_dir: SocketDir,
) {
    let reason = tokio::select! {
        status = child.wait() => match status {
            Ok(status) => plughub_sandbox::describe_exit(status),
            Err(e) => format!("cannot wait for it: {e}"),
        },
        _ = kill => {
            let _ = child.kill().await;
            "ended by plughub".into()
        }
    };
    drop(socket_dir);
    shared.end(reason);
    let _ = exited.send(());
}

/// Waits for the helper to say a sandboxed worker ended (or has the helper end it when asked), then
/// records why. The helper takes its sandbox down before it says so.
async fn watch_sandboxed(
    mut exit: oneshot::Receiver<String>,
    sandboxed: Sandboxed,
    kill: oneshot::Receiver<()>,
    shared: Arc<Shared>,
    exited: oneshot::Sender<()>,
) {
    let gone = |_| "the sandbox helper ended".to_string();
    let reason = tokio::select! {
        reason = &mut exit => reason.unwrap_or_else(gone),
        _ = kill => {
            sandboxed.helper.kill(sandboxed.worker);
            (&mut exit).await.unwrap_or_else(gone)
        }
    };
    shared.end(reason);
    let _ = exited.send(());
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

/// The hex digits naming a worker's files: 64 random bits, enough to never meet another's, and short,
/// because a Unix socket's path holds at most `SOCKET_PATH_MAX` bytes.
const WORKER_ID_HEX: usize = 16;

/// The longest path a Unix socket may be bound at (`sun_path` holds 108 bytes with the final NUL).
const SOCKET_PATH_MAX: usize = 107;

/// The longest name a worker's socket takes below the run folder: `/w-<id>.d/egress.sock`.
const SOCKET_NAME_LEN: usize = "/w-".len() + WORKER_ID_HEX + ".d/egress.sock".len();

/// Refuses, saying what to do, a run folder too deep for the workers' sockets: bound there, they would fail
/// with a bare "path too long" from the kernel.
fn check_socket_room(run_dir: &Path) -> Result<(), EngineError> {
    let room = SOCKET_PATH_MAX - SOCKET_NAME_LEN;
    let len = run_dir.as_os_str().len();
    if len > room {
        return Err(EngineError::Start(format!(
            "its sockets would be too long a path: the run folder {} is {len} bytes, and a Unix socket's \
             path holds at most {SOCKET_PATH_MAX}, which leaves {room} for the folder; use a data \
             directory with a shorter path (--data-dir or PLUGHUB_DATA_DIR)",
            run_dir.display()
        )));
    }
    Ok(())
}

pub(crate) fn io(path: &Path, source: std::io::Error) -> EngineError {
    EngineError::Io {
        path: path.display().to_string(),
        source,
    }
}
