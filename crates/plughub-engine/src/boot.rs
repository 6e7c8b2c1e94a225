//! Booting a worker: Node.js started on the host script in the worker's sandbox, connected to plughub
//! and confined (its cgroup joined), with no plugin yet. Booting is most of what a worker's start
//! costs (Node's own start); what is left for `Worker::assign` is the plugin's import and `init`. A
//! booted worker reads nothing of any plugin until it is assigned one: in a sandbox its package's mount
//! point is empty until then (`Sandbox::mount_package`).

use crate::EngineError;
use crate::lines::{Line, next_line};
use crate::worker::Shared;
use plughub_sandbox::{Sandbox, SandboxPaths, SandboxPolicy};
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
    /// The Node process (in a sandbox, the child of the process plughub started).
    pub(crate) pid: u32,
    pub(crate) sandbox: Option<Arc<Sandbox>>,
    /// The egress proxy's socket, bound in the worker's socket folder; served once a plugin with a
    /// way out is assigned.
    pub(crate) egress_listener: UnixListener,
    pub(crate) egress_path: PathBuf,
    /// Fires when the process has ended.
    pub(crate) exited: oneshot::Receiver<()>,
    /// Whether Node runs at the lowest priority still (booted ahead of need).
    pub(crate) lowered: bool,
    /// When it was booted, and whether ahead of need: said in its log once it is assigned a plugin.
    pub(crate) booted_at: std::time::Instant,
    pub(crate) urgency: Urgency,
    pub(crate) guard: EndUnlessAssigned,
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
        let socket_dir = spec.run_dir.join(format!("w-{id}.d"));
        std::fs::create_dir_all(&socket_dir).map_err(|e| io(&socket_dir, e))?;
        // The folder and its sockets go with the worker (in `watch`), or here when it does not start.
        let cleanup = SocketDir(Some(socket_dir.clone()));
        let socket_path = socket_dir.join("sock");
        let egress_path = socket_dir.join("egress.sock");
        let mut command = Command::new(&spec.node);
        // Nothing of plughub's environment reaches the worker: it is cleared before anything is set.
        command.env_clear();
        let sandbox = match &spec.sandbox {
            Some(policy) => {
                let paths = SandboxPaths {
                    node: crate::sandboxing::resolve_node(&spec.node),
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
                Some((sandbox, flag))
            }
            None => None,
        };
        let listener = UnixListener::bind(&socket_path).map_err(|e| io(&socket_path, e))?;
        let egress_listener = UnixListener::bind(&egress_path).map_err(|e| io(&egress_path, e))?;
        let lowered = urgency == Urgency::Ahead && plughub_sandbox::priority::may_lower();
        if lowered {
            plughub_sandbox::priority::lowest_at_start(&mut command);
        }
        if let Some((sandbox, _)) = &sandbox {
            let start =
                |e: plughub_sandbox::SandboxError| EngineError::Start(format!("its sandbox: {e}"));
            sandbox.grant_socket(&socket_path).map_err(start)?;
            sandbox.grant_socket(&egress_path).map_err(start)?;
            sandbox.apply(&mut command);
        } else {
            // Even unsandboxed, out of plughub's process group and session (the sandbox does the same).
            Sandbox::own_session(&mut command);
        }
        // A V8 heap flag makes V8 refuse the code cache Node carries for its own modules (their flags
        // must match the build's): measured here, a start then costs 120 ms of CPU instead of 70. So
        // where a memory cgroup holds the worker, the cgroup alone caps it. The trade-off: V8 then
        // sizes its heap by the machine (it cannot see the cgroup from inside the sandbox), so a plugin
        // whose live heap nears the plan's memory is ended by the kernel (reported as over its memory)
        // where V8 would have collected harder first; one far below it is unaffected.
        let cgroup_caps_memory = sandbox.as_ref().is_some_and(|(s, _)| s.limits_memory());
        if let Some(mb) = spec.memory_mb.filter(|_| !cgroup_caps_memory) {
            command.arg(format!("--max-old-space-size={mb}"));
        }
        command
            .arg(&host)
            .env("PLUGHUB_SOCKET", &socket_path)
            .current_dir(&spec.run_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| match (&sandbox, e.kind()) {
            (_, std::io::ErrorKind::NotFound) | (None, _) => {
                EngineError::NoNode(format!("{}: {e}", spec.node.display()))
            }
            (Some(_), _) => EngineError::Start(format!(
                "its sandbox could not be entered ({e}); `plughub doctor` shows what this machine allows"
            )),
        })?;
        let keeper = child.id().unwrap_or_default();
        let sandboxed = sandbox.is_some();
        let shared = Arc::new(Shared::default());
        let sandbox = match sandbox {
            Some((mut sandbox, flag)) => {
                // Its mount namespace, where its package will be mounted, is taken hold of now.
                if let Err(e) = sandbox.attach(keeper) {
                    let _ = child.start_kill();
                    return Err(EngineError::Start(format!("its sandbox: {e}")));
                }
                for layer in sandbox.layers() {
                    shared.log("sandbox", layer.clone());
                }
                match flag {
                    Some(flag) => shared.log("sandbox", format!("Node permission model ({flag}): reads of the package, writes in /tmp; no child processes, workers or addons")),
                    None => shared.log("sandbox", "Node permission model: not in force".into()),
                }
                Some(Arc::new(sandbox))
            }
            None => None,
        };
        // The worker is moved into its cgroup from here while Node starts; it loads no plugin before it
        // is assigned one, after that.
        let confining = sandbox
            .as_ref()
            .and_then(|sandbox| sandbox.confiner())
            .map(|confiner| tokio::task::spawn_blocking(move || confiner.confine(keeper)));
        for (stream, name) in [
            (child.stdout.take().map(Either::Out), "stdout"),
            (child.stderr.take().map(Either::Err), "stderr"),
        ] {
            if let Some(stream) = stream {
                tokio::spawn(capture(stream, name, shared.clone()));
            }
        }
        let (kill_tx, kill_rx) = oneshot::channel();
        *shared.kill.lock().expect("not poisoned") = Some(kill_tx);
        let (exit_tx, mut exit_rx) = oneshot::channel::<()>();
        tokio::spawn(watch(
            child,
            kill_rx,
            shared.clone(),
            exit_tx,
            sandbox.clone(),
            cleanup,
        ));

        let accepted = tokio::time::timeout(BOOT_TIMEOUT, async {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let (stream, _) = accepted.map_err(|e| io(&socket_path, e))?;
                        // Only the worker we started may speak for the plugin.
                        let peer = stream.peer_cred().ok().and_then(|c| c.pid());
                        // In a sandbox the worker is the child of the process plughub started (the
                        // first process of its pid namespace).
                        if let Some(peer) = peer.filter(|p| {
                            *p == keeper as i32 || (sandboxed && parent_of(*p) == Some(keeper as i32))
                        }) {
                            return Ok((stream, peer as u32));
                        }
                    }
                    _ = &mut exit_rx => return Err(shared.exited()),
                }
            }
        })
        .await;
        // Nobody else may connect: the socket goes once the worker has.
        let _ = std::fs::remove_file(&socket_path);
        let (stream, pid) = match accepted {
            Ok(Ok(accepted)) => accepted,
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                shared.end("it did not connect in time".into());
                return Err(EngineError::Timeout {
                    what: "starting Node.js".into(),
                    seconds: BOOT_TIMEOUT.as_secs(),
                });
            }
        };
        if let Some(confining) = confining {
            let confined = match confining.await {
                Ok(Ok(worker)) if worker == pid => Ok(()),
                Ok(Ok(worker)) => Err(format!("its cgroup took process {worker}, not the worker")),
                Ok(Err(e)) => Err(format!("its cgroup: {e}")),
                Err(e) => Err(format!("its cgroup: {e}")),
            };
            if let Err(why) = confined {
                shared.end(why.clone());
                return Err(EngineError::Start(why));
            }
        }
        Ok(Booted {
            stream,
            pid,
            sandbox,
            egress_listener,
            egress_path,
            exited: exit_rx,
            lowered,
            booted_at,
            urgency,
            guard: EndUnlessAssigned {
                shared,
                assigned: false,
            },
        })
    }
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

/// Waits for the process to end (or ends it when asked), then records why.
async fn watch(
    mut child: tokio::process::Child,
    kill: oneshot::Receiver<()>,
    shared: Arc<Shared>,
    exited: oneshot::Sender<()>,
    sandbox: Option<Arc<Sandbox>>,
    socket_dir: SocketDir,
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
    // The worker is gone: its cgroup and mount point go with the sandbox (once nothing else holds it),
    // and its sockets.
    drop(sandbox);
    drop(socket_dir);
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

/// The parent pid of a process, from `/proc/<pid>/stat` (after the parenthesised name, the state, then
/// the parent).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
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
