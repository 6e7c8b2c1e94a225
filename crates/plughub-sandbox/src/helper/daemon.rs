//! The helper process itself: one thread, one loop. It waits on its socket to plughub and on a
//! descriptor for each worker's process (`pidfd`), launches, mounts and ends workers as asked, and
//! says when one has exited. It does nothing else: no network, no store, no parsing but its own
//! messages. When plughub goes (its end of the socket closes), it ends every worker and exits.

use super::wire::{self, Launch, Message, Op, Request};
use crate::{Sandbox, SandboxPaths};
use rustix::event::{PollFd, PollFlags};
use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A worker the helper started and still watches.
struct Running {
    keeper: Child,
    /// Readable once the keeper has exited.
    pidfd: OwnedFd,
    pid: u32,
    sandbox: Sandbox,
    socket_dir: PathBuf,
    lowered: bool,
    killed: bool,
}

impl Running {
    /// Takes down what the worker had, once it has exited: its sockets' folder, its root's mount point,
    /// its cgroup; returns the cgroup folders still busy (its process dies a moment after its keeper).
    fn take_down(self) -> Vec<PathBuf> {
        let _ = std::fs::remove_dir_all(&self.socket_dir);
        self.sandbox.take_down()
    }
}

/// How long a dead worker's cgroup folders are tried again, and how often.
const BUSY_CGROUP_TRIES: Duration = Duration::from_secs(5);
const BUSY_CGROUP_EVERY: Duration = Duration::from_millis(100);

struct Helper {
    socket: OwnedFd,
    /// Where packages may be mounted from: none until plughub says (`Configure`).
    package_roots: Option<Vec<PathBuf>>,
    running: HashMap<u64, Running>,
    next_worker: u64,
    /// Cgroup folders of workers that have ended, still busy, and since when: tried again from the
    /// loop (the helper keeps to its one thread).
    busy_cgroups: Vec<(PathBuf, Instant)>,
}

/// Runs the helper on `socket` until plughub closes it, then exits the process.
pub(crate) fn run(socket: OwnedFd) -> ! {
    let mut helper = Helper {
        socket,
        package_roots: None,
        running: HashMap::new(),
        next_worker: 1,
        busy_cgroups: Vec::new(),
    };
    let mut buffer = vec![0u8; wire::MAX_MESSAGE];
    loop {
        let workers: Vec<u64> = helper.running.keys().copied().collect();
        let (request_ready, exited) = {
            let mut polled = Vec::with_capacity(workers.len() + 1);
            polled.push(PollFd::new(&helper.socket, PollFlags::IN));
            for worker in &workers {
                polled.push(PollFd::new(&helper.running[worker].pidfd, PollFlags::IN));
            }
            let timeout = rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: BUSY_CGROUP_EVERY.as_nanos() as _,
            };
            let timeout = (!helper.busy_cgroups.is_empty()).then_some(&timeout);
            match rustix::event::poll(&mut polled, timeout) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => fail(&format!("waiting: {e}")),
            }
            let ready = |p: &PollFd| !p.revents().is_empty();
            let exited: Vec<u64> = workers
                .iter()
                .zip(&polled[1..])
                .filter(|(_, p)| ready(p))
                .map(|(w, _)| *w)
                .collect();
            (ready(&polled[0]), exited)
        };
        for worker in exited {
            helper.reap(worker);
        }
        if !helper.busy_cgroups.is_empty() {
            let dirs: Vec<PathBuf> = helper.busy_cgroups.iter().map(|(d, _)| d.clone()).collect();
            let still = crate::cgroup::remove_dirs(&dirs);
            helper
                .busy_cgroups
                .retain(|(dir, since)| still.contains(dir) && since.elapsed() < BUSY_CGROUP_TRIES);
        }
        if request_ready {
            match wire::receive::<Request>(helper.socket.as_fd(), &mut buffer) {
                Ok(Some((request, _))) => helper.answer(request),
                // plughub has gone: so do its workers.
                Ok(None) | Err(_) => helper.end_all(),
            }
        }
    }
}

fn fail(why: &str) -> ! {
    eprintln!("plughub sandbox helper: {why}");
    std::process::exit(1)
}

impl Helper {
    fn send(&self, message: &Message, fds: &[std::os::fd::BorrowedFd<'_>]) {
        if wire::send(self.socket.as_fd(), message, fds).is_err() {
            self.end_all_now();
        }
    }

    fn answer(&mut self, request: Request) {
        let id = request.id;
        let outcome = match request.op {
            Op::Configure { package_roots } => match self.package_roots {
                Some(_) => Err("the helper was configured already".to_string()),
                None => {
                    let roots = package_roots
                        .iter()
                        .filter_map(|r| std::fs::canonicalize(r).ok())
                        .collect();
                    self.package_roots = Some(roots);
                    Ok(())
                }
            },
            Op::Launch(launch) => return self.launch(id, *launch),
            Op::Assign { worker, package } => self.assign(worker, &package),
            Op::Kill { worker } => {
                if let Some(running) = self.running.get_mut(&worker) {
                    running.killed = true;
                    let _ = running.keeper.kill();
                }
                Ok(())
            }
        };
        let message = match outcome {
            Ok(()) => Message::Done { id },
            Err(error) => Message::Failed { id, error },
        };
        self.send(&message, &[]);
    }

    fn launch(&mut self, id: u64, launch: Launch) {
        let worker = self.next_worker;
        self.next_worker += 1;
        match start(&launch) {
            Ok((running, fds, layers, limits_memory, egress_path)) => {
                let message = Message::Launched {
                    id,
                    worker,
                    keeper: running.keeper.id(),
                    pid: running.pid,
                    layers,
                    limits_memory,
                    egress_path,
                };
                let borrowed: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
                self.running.insert(worker, running);
                self.send(&message, &borrowed);
            }
            Err(error) => self.send(&Message::Failed { id, error }, &[]),
        }
    }

    fn assign(&mut self, worker: u64, package: &Path) -> Result<(), String> {
        let roots = self
            .package_roots
            .as_ref()
            .ok_or("the helper was not told where packages are")?;
        let running = self.running.get(&worker).ok_or("the worker has ended")?;
        running
            .sandbox
            .mount_package(package, roots)
            .map_err(|e| e.to_string())?;
        if running.lowered {
            crate::priority::raise_to_ordinary(running.pid);
        }
        Ok(())
    }

    /// A worker's keeper has exited: why, said to plughub, and its sandbox taken down.
    fn reap(&mut self, worker: u64) {
        let Some(mut running) = self.running.remove(&worker) else {
            return;
        };
        let mut reason = match running.keeper.wait() {
            _ if running.killed => "ended by plughub".to_string(),
            Ok(status) => crate::describe_exit(status),
            Err(e) => format!("cannot wait for it: {e}"),
        };
        if running.sandbox.oom_killed() {
            reason = format!("{reason}: it went over its memory limit");
        }
        let now = Instant::now();
        self.busy_cgroups
            .extend(running.take_down().into_iter().map(|dir| (dir, now)));
        self.send(&Message::Exited { worker, reason }, &[]);
    }

    fn end_all(&mut self) -> ! {
        let mut all: Vec<Running> = self.running.drain().map(|(_, r)| r).collect();
        for running in &mut all {
            let _ = running.keeper.kill();
        }
        for running in &mut all {
            let _ = running.keeper.wait();
        }
        let mut busy: Vec<PathBuf> = all.into_iter().flat_map(Running::take_down).collect();
        // The helper is about to exit: the groups get a moment to empty, no more.
        for _ in 0..20 {
            if busy.is_empty() {
                break;
            }
            std::thread::sleep(BUSY_CGROUP_EVERY);
            busy = crate::cgroup::remove_dirs(&busy);
        }
        std::process::exit(0)
    }

    /// As `end_all`, from where `self` is shared (a send that failed: plughub has gone).
    fn end_all_now(&self) -> ! {
        for running in self.running.values() {
            // SAFETY: kill takes integers; the keeper is this process's child, not yet waited for.
            unsafe { libc::kill(running.keeper.id() as i32, libc::SIGKILL) };
        }
        std::process::exit(0)
    }
}

type Started = (Running, Vec<OwnedFd>, Vec<String>, bool, PathBuf);

/// Starts Node on the host script in a new sandbox: its socket folder, the two listeners it connects
/// to, the sandbox prepared, the process spawned and moved into its cgroup.
fn start(launch: &Launch) -> Result<Started, String> {
    let socket_dir = launch.run_dir.join(format!("w-{}.d", launch.name));
    std::fs::create_dir_all(&socket_dir).map_err(|e| format!("{}: {e}", socket_dir.display()))?;
    // From here the folder goes with `Running` or, on failure, with this guard.
    let guard = RemoveOnFailure(Some(socket_dir.clone()));
    let socket_path = socket_dir.join("sock");
    let egress_path = socket_dir.join("egress.sock");
    let bind = |path: &Path| {
        std::os::unix::net::UnixListener::bind(path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let listener = bind(&socket_path)?;
    let egress_listener = bind(&egress_path)?;
    let paths = SandboxPaths {
        node: launch.node.clone(),
        host_script: launch.host_script.clone(),
        socket_dir: socket_dir.clone(),
        work_dir: launch.run_dir.join(format!("w-{}.box", launch.name)),
    };
    let sandbox = Sandbox::prepare(paths, &launch.policy).map_err(|e| e.to_string())?;
    sandbox
        .grant_socket(&socket_path)
        .map_err(|e| e.to_string())?;
    sandbox
        .grant_socket(&egress_path)
        .map_err(|e| e.to_string())?;
    let mut command = Command::new(&launch.node);
    // Nothing of plughub's environment reaches the worker.
    command.env_clear();
    if let Some(flag) = &launch.permission_flag {
        command.args(sandbox.node_flags(flag));
    }
    // Without a memory cgroup, V8's own heap cap is the only memory limit (see `BootSpec::memory_mb`).
    if let Some(mb) = launch.memory_mb.filter(|_| !sandbox.limits_memory()) {
        command.arg(format!("--max-old-space-size={mb}"));
    }
    command
        .arg(&launch.host_script)
        .env("PLUGHUB_SOCKET", &socket_path)
        .current_dir(&launch.run_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if launch.lowest_priority {
        crate::priority::lowest_at_start(&mut command);
    }
    sandbox.apply(&mut command);
    let mut keeper = command.spawn().map_err(|e| {
        format!(
            "its sandbox could not be entered ({e}); `plughub doctor` shows what this machine allows"
        )
    })?;
    let attached = attach(&mut keeper, sandbox);
    let (sandbox, pid, pidfd) = match attached {
        Ok(attached) => attached,
        Err(e) => {
            let _ = keeper.kill();
            let _ = keeper.wait();
            return Err(e);
        }
    };
    let stdout: OwnedFd = keeper.stdout.take().expect("piped").into();
    let stderr: OwnedFd = keeper.stderr.take().expect("piped").into();
    let fds = vec![listener.into(), egress_listener.into(), stdout, stderr];
    let layers = sandbox.layers().to_vec();
    let limits_memory = sandbox.limits_memory();
    guard.keep();
    let running = Running {
        keeper,
        pidfd,
        pid,
        sandbox,
        socket_dir,
        lowered: launch.lowest_priority,
        killed: false,
    };
    Ok((running, fds, layers, limits_memory, egress_path))
}

/// Takes hold of a spawned worker: its mount namespace, its cgroup, and a descriptor for its keeper.
fn attach(keeper: &mut Child, mut sandbox: Sandbox) -> Result<(Sandbox, u32, OwnedFd), String> {
    let id = keeper.id();
    sandbox.attach(id).map_err(|e| e.to_string())?;
    // Node loads no plugin before it is assigned one, after this.
    let pid = match sandbox.confiner() {
        Some(confiner) => confiner
            .confine(id)
            .map_err(|e| format!("its cgroup: {e}"))?,
        None => crate::sandbox::worker_of(id).map_err(|e| e.to_string())?,
    };
    let raw = rustix::process::Pid::from_raw(id as i32).ok_or("no keeper")?;
    let pidfd = rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::empty())
        .map_err(|e| format!("watching process {id}: {e}"))?;
    Ok((sandbox, pid, pidfd))
}

/// A folder removed when dropped, unless kept.
struct RemoveOnFailure(Option<PathBuf>);

impl RemoveOnFailure {
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnFailure {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
