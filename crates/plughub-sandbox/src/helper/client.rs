//! plughub's side of the helper: requests sent from any thread, answers and exits read by one thread
//! of its own and handed to whoever waits for them.

use super::wire::{self, Launch, Message, Op, Request};
use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The running helper, as plughub reaches it.
pub struct SandboxHelper {
    socket: OwnedFd,
    pid: u32,
    next_id: AtomicU64,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for SandboxHelper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxHelper")
            .field("pid", &self.pid)
            .finish()
    }
}

#[derive(Default)]
struct State {
    waiting: HashMap<u64, oneshot::Sender<Answer>>,
    /// Each launched worker's exit, to be sent its reason.
    exits: HashMap<u64, oneshot::Sender<String>>,
    /// Why the helper can no longer be asked, once it cannot.
    gone: Option<String>,
}

enum Answer {
    Launched(Box<Launched>),
    Done,
    Failed(String),
}

/// A worker the helper started: Node, confined, about to connect.
pub struct Launched {
    /// The helper's name for it.
    pub worker: u64,
    /// The process the helper started, and Node, its child.
    pub keeper: u32,
    pub pid: u32,
    /// Each layer in force, in words.
    pub layers: Vec<String>,
    /// Whether a memory cgroup holds it.
    pub limits_memory: bool,
    /// The socket the worker connects to, and the one its egress proxy is served on.
    pub listener: std::os::unix::net::UnixListener,
    pub egress_listener: std::os::unix::net::UnixListener,
    pub egress_path: PathBuf,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// Sent why it ended, once it has (its sandbox gone).
    pub exited: oneshot::Receiver<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("the sandbox helper: {0}")]
pub struct HelperError(pub String);

impl SandboxHelper {
    pub(super) fn new(socket: OwnedFd, pid: u32) -> std::io::Result<Arc<SandboxHelper>> {
        let state = Arc::new(Mutex::new(State::default()));
        let reader = socket.try_clone()?;
        let reading = state.clone();
        std::thread::Builder::new()
            .name("sandbox-helper".into())
            .spawn(move || read_messages(reader, reading))?;
        Ok(Arc::new(SandboxHelper {
            socket,
            pid,
            next_id: AtomicU64::new(1),
            state,
        }))
    }

    /// The helper's process.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    async fn ask(&self, op: Op) -> Result<Answer, HelperError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut state = self.state.lock().expect("not poisoned");
            if let Some(gone) = &state.gone {
                return Err(HelperError(gone.clone()));
            }
            state.waiting.insert(id, tx);
        }
        if let Err(e) = wire::send(self.socket.as_fd(), &Request { id, op }, &[]) {
            self.state.lock().expect("not poisoned").waiting.remove(&id);
            return Err(HelperError(format!("cannot reach it: {e}")));
        }
        rx.await
            .map_err(|_| HelperError(self.gone_reason()))
            .and_then(|answer| match answer {
                Answer::Failed(e) => Err(HelperError(e)),
                answer => Ok(answer),
            })
    }

    /// Why the helper can no longer be asked, once it cannot (it ended or its socket broke).
    pub fn gone(&self) -> Option<String> {
        self.state.lock().expect("not poisoned").gone.clone()
    }

    fn gone_reason(&self) -> String {
        self.state
            .lock()
            .expect("not poisoned")
            .gone
            .clone()
            .unwrap_or_else(|| "it ended".into())
    }

    /// Starts a worker.
    pub async fn launch(&self, launch: Launch) -> Result<Launched, HelperError> {
        match self.ask(Op::Launch(Box::new(launch))).await? {
            Answer::Launched(launched) => Ok(*launched),
            _ => Err(HelperError("an answer that is not a launch".into())),
        }
    }

    /// Mounts `package` into the worker (read-only, at `PACKAGE_MOUNT`) and gives it the ordinary
    /// priority back if it had the lowest.
    pub async fn assign(&self, worker: u64, package: PathBuf) -> Result<(), HelperError> {
        self.ask(Op::Assign { worker, package }).await.map(|_| ())
    }

    /// Ends the worker; its exit comes as any other.
    pub fn kill(&self, worker: u64) {
        send_kill(
            &self.socket,
            worker,
            self.next_id.fetch_add(1, Ordering::Relaxed),
        );
    }
}

/// Asks for a worker's end without waiting for the answer (nobody is registered for request `id`).
fn send_kill(socket: &OwnedFd, worker: u64, id: u64) {
    let request = Request {
        id,
        op: Op::Kill { worker },
    };
    let _ = wire::send(socket.as_fd(), &request, &[]);
}

/// Reads the helper's messages until it ends; then every request and worker still waiting learns so.
fn read_messages(socket: OwnedFd, state: Arc<Mutex<State>>) {
    let mut buffer = vec![0u8; wire::MAX_MESSAGE];
    let why = loop {
        let (message, fds) = match wire::receive::<Message>(socket.as_fd(), &mut buffer) {
            Ok(Some(received)) => received,
            Ok(None) => break "it ended".to_string(),
            Err(e) => break format!("its messages cannot be read: {e}"),
        };
        let mut state = state.lock().expect("not poisoned");
        let (id, answer) = match message {
            Message::Launched {
                id,
                worker,
                keeper,
                pid,
                layers,
                limits_memory,
                egress_path,
            } => {
                let Ok([listener, egress_listener, stdout, stderr]) = <[OwnedFd; 4]>::try_from(fds)
                else {
                    break "a launch came without its four descriptors".to_string();
                };
                let (tx, exited) = oneshot::channel();
                state.exits.insert(worker, tx);
                let launched = Launched {
                    worker,
                    keeper,
                    pid,
                    layers,
                    limits_memory,
                    listener: listener.into(),
                    egress_listener: egress_listener.into(),
                    egress_path,
                    stdout,
                    stderr,
                    exited,
                };
                (id, Answer::Launched(Box::new(launched)))
            }
            Message::Done { id } => (id, Answer::Done),
            Message::Failed { id, error } => (id, Answer::Failed(error)),
            Message::Exited { worker, reason } => {
                if let Some(tx) = state.exits.remove(&worker) {
                    let _ = tx.send(reason);
                }
                continue;
            }
        };
        // A launch nobody waits for any more (its caller gave up) is ended at once.
        let unwanted = match state.waiting.remove(&id) {
            Some(tx) => tx.send(answer).err(),
            None => Some(answer),
        };
        if let Some(Answer::Launched(launched)) = unwanted {
            state.exits.remove(&launched.worker);
            send_kill(&socket, launched.worker, 0);
        }
    };
    // It ends only with plughub, unless killed or crashed: say so where the operator looks.
    eprintln!(
        "plughub: the sandbox helper ended ({why}); no plugin can run until plughub is restarted"
    );
    let mut state = state.lock().expect("not poisoned");
    state.gone = Some(format!("the sandbox helper ended ({why})"));
    state.waiting.clear();
    for (_, tx) in state.exits.drain() {
        let _ = tx.send(format!("ended with the sandbox helper ({why})"));
    }
}
