//! A worker's sandbox: prepared in the parent, entered by the child, cleaned up after the worker exits.

use crate::cgroup::{self, WorkerCgroup};
use crate::landlock::{self, EXECUTE, READ_DIR, READ_FILE, Ruleset, WRITE_FILE};
use crate::root::{self, RootPlan};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The limits of one worker. Defaults from the product spec (512 MB a plugin).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SandboxPolicy {
    /// The cgroup memory limit (the whole process, Buffers included, not only V8's heap).
    pub memory_mb: u64,
    /// The size of the scratch `/tmp` (and of everything else the worker could write).
    pub scratch_mb: u64,
    /// Tasks (processes and threads) of the worker, Node alone: the rlimit of the worker's uid, and the
    /// pids cgroup on v2. RLIMIT_NPROC counts every task of a uid, threads included, and each worker has
    /// a uid of its own, so it caps this worker's tasks and no one else's, as `pids.max` does. Node
    /// runs 11 (measured for plugin-evm, -local-ai, -discord, -knowledge, -browser, -sql loaded: main,
    /// four libuv and four V8 platform threads, two of its own; both pools are fixed in size, not one a
    /// core). Its permission model forbids children and worker threads, so 64 leaves a margin of five
    /// and still stops a fork bomb where that model is off. The grants add to it: see
    /// [`SandboxPolicy::max_tasks`].
    pub max_processes: u64,
    /// Open files. Node's ESM loader reads a module graph's files concurrently, so a plugin needs about
    /// as many descriptors as its widest level of imports: measured, `@elizaos/plugin-evm` does not load
    /// below 983 (viem, ox and the LiFi SDK: 9,000 module files in its tree) where 256 was the limit,
    /// `@elizaos/plugin-local-ai` below 223. 8192 is eight times the largest seen. It weakens nothing:
    /// an open file is kernel memory the memory cgroup charges to the worker, and every file reachable
    /// is still what Landlock and the root allow.
    pub max_open_files: u64,
    /// The largest file the worker may write.
    pub max_file_mb: u64,
    /// CPU seconds over the worker's life (a recycled worker starts again from zero).
    pub cpu_seconds: u64,
    /// Node's permission model as the innermost layer (off only to test the layers beneath it).
    pub node_permissions: bool,
    /// The `native.addons` grant: Node's addon gate (`--allow-addons`) is lifted for this worker alone;
    /// every OS layer stays (an addon's code runs as the worker's uid in the same namespaces, root,
    /// Landlock domain, seccomp filter and cgroup).
    pub native_addons: bool,
    /// The `process.spawn` grant: the real paths of the programs the worker may execute besides Node.
    /// Node lets it start children (`--allow-child-process`); Landlock lets it execute these files alone,
    /// and the children stay in every layer of the worker's sandbox.
    pub programs: Vec<PathBuf>,
}

impl Default for SandboxPolicy {
    fn default() -> SandboxPolicy {
        SandboxPolicy {
            memory_mb: 512,
            scratch_mb: 64,
            max_processes: 64,
            max_open_files: 8192,
            max_file_mb: 16,
            cpu_seconds: 600,
            node_permissions: true,
            native_addons: false,
            programs: Vec::new(),
        }
    }
}

/// Tasks a granted program may add. Chromium, as plugin-browser starts it (headless, one blank page),
/// measured 9 processes and 107 tasks; each further page is a renderer of about a dozen more. 512 holds
/// some thirty pages.
const SPAWN_TASKS: u64 = 512;

impl SandboxPolicy {
    /// The tasks the worker may have, with what its grants add: an addon's thread pools are sized by
    /// the machine's cores (llama.cpp and onnxruntime start one thread a core), so two a core more; a
    /// program it may start, [`SPAWN_TASKS`] more.
    pub fn max_tasks(&self) -> u64 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        let mut tasks = self.max_processes;
        if self.native_addons {
            tasks += 2 * cores;
        }
        if !self.programs.is_empty() {
            tasks += SPAWN_TASKS;
        }
        tasks
    }
}

/// What the worker needs from the host, every path absolute.
#[derive(Debug, Clone)]
pub struct SandboxPaths {
    /// The Node.js binary (its installation is bound in: `/usr` or the prefix it lives under).
    pub node: PathBuf,
    pub host_script: PathBuf,
    /// The directory holding the worker's socket (the worker's own).
    pub socket_dir: PathBuf,
    /// An empty directory of the worker's own, for the new root's mount point.
    pub work_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("the seccomp filter could not be built: {0}")]
    Filter(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SandboxError {
    let what = what.into();
    move |source| SandboxError::Io { what, source }
}

/// What the child needs, prepared (allocated) in the parent.
pub(crate) struct Prepared {
    pub(crate) root: RootPlan,
    pub(crate) rlimits: Vec<(libc::__rlimit_resource_t, libc::rlim_t)>,
    pub(crate) uid: libc::uid_t,
    /// The ruleset descriptor and the rights it handles.
    pub(crate) landlock: Option<(std::os::fd::RawFd, u64)>,
    pub(crate) seccomp: Vec<seccompiler::BpfProgram>,
    /// Keeps the ruleset descriptor open until the worker has started.
    _ruleset: Option<Ruleset>,
}

pub struct Sandbox {
    prepared: Arc<Prepared>,
    cgroup: Option<WorkerCgroup>,
    work_dir: PathBuf,
    uid: u32,
    layers: Vec<String>,
    paths: SandboxPaths,
    node_permissions: bool,
    native_addons: bool,
    spawns: bool,
    /// The worker's mount namespace, once it runs (`attach`): where its package is mounted.
    namespace: Option<std::os::fd::OwnedFd>,
}

/// Where the Node installation lives: `/usr` for a system Node, else the prefix above its `bin/`.
fn node_prefix(node: &Path) -> PathBuf {
    let real = std::fs::canonicalize(node).unwrap_or_else(|_| node.to_path_buf());
    match real.parent().and_then(Path::parent) {
        Some(prefix) if prefix != Path::new("/") => prefix.to_path_buf(),
        _ => real,
    }
}

impl Sandbox {
    /// Prepares everything the worker's sandbox needs, and makes its cgroup.
    pub fn prepare(paths: SandboxPaths, policy: &SandboxPolicy) -> Result<Sandbox, SandboxError> {
        let mut layers = vec![
            "namespaces: user (unmapped), pid (the worker is its first process), mount, network (no interface but a down loopback), ipc, uts".to_string(),
            "a session and process group of its own: kill(0) and kill(-1) reach only its own processes".to_string(),
        ];
        std::fs::create_dir_all(&paths.work_dir)
            .map_err(io(paths.work_dir.display().to_string()))?;
        let root_dir = paths.work_dir.join("root");
        std::fs::create_dir_all(&root_dir).map_err(io(root_dir.display().to_string()))?;
        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let mut binds = vec![PathBuf::from("/usr")];
        let prefix = node_prefix(&paths.node);
        if !prefix.starts_with("/usr") {
            binds.push(prefix.clone());
        }
        binds.extend(
            ["/etc/ssl", "/etc/ca-certificates"]
                .iter()
                .map(PathBuf::from)
                .filter(|p| p.exists()),
        );
        let host_script = canonical(&paths.host_script);
        let socket_dir = canonical(&paths.socket_dir);
        // No package: the worker boots without one, and plughub mounts the one it assigns at
        // `PACKAGE_MOUNT` (`mount_package`), so a booted worker waiting for its plugin can read none.
        binds.extend([host_script.clone(), socket_dir.clone()]);
        // A granted program's folder is bound in when it lies outside what is (its resources are
        // usually beside it: Chromium's are); under /usr it is visible already.
        let programs: Vec<PathBuf> = policy.programs.iter().map(|p| canonical(p)).collect();
        for program in &programs {
            if let Some(dir) = program.parent()
                && !binds.iter().any(|b| dir.starts_with(b))
            {
                binds.push(dir.to_path_buf());
            }
        }
        let root = root::plan(&root_dir, &binds, policy.scratch_mb << 20);
        layers.push(format!(
            "root: a tmpfs of {} MB with /usr, Node and the host script read-only, the package assigned mounted read-only at {}, /tmp as scratch",
            policy.scratch_mb,
            crate::PACKAGE_MOUNT
        ));

        // A uid of its own, never root, never another worker's (so no worker can signal or trace another).
        let uid = 3_000_000 + (uuid::Uuid::new_v4().as_u128() % 1_000_000) as u32;
        layers.push(format!("uid {uid}, no groups, no new privileges"));
        let mb = |n: u64| n << 20;
        let tasks = policy.max_tasks();
        let rlimits = vec![
            (libc::RLIMIT_NPROC, tasks),
            (libc::RLIMIT_NOFILE, policy.max_open_files),
            (libc::RLIMIT_FSIZE, mb(policy.max_file_mb)),
            (libc::RLIMIT_CPU, policy.cpu_seconds),
            (libc::RLIMIT_CORE, 0),
        ];
        layers.push(format!(
            "rlimits: {tasks} tasks (processes and threads), {} open files, {} MB a file, {} CPU seconds, no core dumps",
            policy.max_open_files, policy.max_file_mb, policy.cpu_seconds
        ));

        let name = format!("w-{}", uuid::Uuid::new_v4().simple());
        let cgroup = match cgroup::layout() {
            Some(layout) => {
                let made = WorkerCgroup::create(layout, &name, mb(policy.memory_mb), tasks)
                    .map_err(io("creating the worker's cgroup"))?;
                layers.push(match layout {
                    cgroup::Layout::V2 => format!(
                        "cgroup v2: {} MB of memory, {tasks} tasks",
                        policy.memory_mb
                    ),
                    cgroup::Layout::V1 => format!(
                        "cgroup v1: {} MB of memory (processes: the rlimit of its own uid)",
                        policy.memory_mb
                    ),
                });
                Some(made)
            }
            None => None,
        };
        let ruleset = match landlock::abi() {
            Some(abi) => {
                let ruleset = Ruleset::create(abi).map_err(io("creating the Landlock ruleset"))?;
                // Only Node itself may be executed, and the programs granted: no shell, no other
                // program, even were Node's own permission model bypassed.
                let read = READ_FILE | READ_DIR;
                let node = canonical(&paths.node);
                for program in std::iter::once(&node).chain(&programs) {
                    ruleset
                        .allow(program, EXECUTE | READ_FILE)
                        .map_err(io(format!("Landlock rule for {}", program.display())))?;
                }
                // The kernel executes the ELF interpreter too.
                for loader in ["/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"] {
                    if let Ok(loader) = std::fs::canonicalize(loader) {
                        let _ = ruleset.allow(&loader, EXECUTE | READ_FILE);
                    }
                }
                for path in &binds {
                    if path.exists() {
                        ruleset
                            .allow(path, read)
                            .map_err(io(format!("Landlock rule for {}", path.display())))?;
                    }
                }
                for device in ["/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"] {
                    let _ = ruleset.allow(Path::new(device), READ_FILE | WRITE_FILE);
                }
                let signals = if ruleset.scopes_signals {
                    "; signals scoped to the sandbox"
                } else {
                    ""
                };
                let executes = if programs.is_empty() {
                    "Node only".to_string()
                } else {
                    format!(
                        "Node and {} only",
                        programs
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                layers.push(format!(
                    "Landlock ABI {abi}: reads beneath what is bound in, writes in /tmp only (never executed), executes {executes}{signals}"
                ));
                Some(ruleset)
            }
            None => None,
        };
        let seccomp = crate::filter::compile().map_err(SandboxError::Filter)?;
        layers.push(format!(
            "seccomp: {} denied",
            crate::filter::denied_names().join(", ")
        ));
        let landlock = ruleset.as_ref().map(|r| (r.raw_fd(), r.rights));
        Ok(Sandbox {
            prepared: Arc::new(Prepared {
                root,
                rlimits,
                uid,
                landlock,
                seccomp,
                _ruleset: ruleset,
            }),
            cgroup,
            work_dir: paths.work_dir.clone(),
            uid,
            layers,
            node_permissions: policy.node_permissions,
            native_addons: policy.native_addons,
            spawns: !programs.is_empty(),
            namespace: None,
            paths: SandboxPaths {
                host_script,
                socket_dir,
                ..paths
            },
        })
    }

    /// What moves the worker into its cgroup, when it has one (see [`Confiner`]).
    pub fn confiner(&self) -> Option<Confiner> {
        self.cgroup.as_ref().map(|c| Confiner {
            procs: c.procs_files(),
        })
    }

    /// Makes `command` start inside the sandbox.
    pub fn apply(&self, command: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        let prepared = self.prepared.clone();
        command.env("HOME", "/tmp").env("TMPDIR", "/tmp");
        // SAFETY: `enter` makes system calls on data prepared beforehand and allocates nothing, which is
        // what a closure run between fork and exec must keep to.
        unsafe {
            command.pre_exec(move || crate::child::enter(&prepared));
        }
    }

    /// Makes `command` (a worker started without the sandbox) start in a session and process group of
    /// its own, so that its `kill(0, …)` reaches only its own processes, not plughub and the other
    /// workers. (Without the sandbox it runs as plughub's uid and can still signal them by pid.)
    pub fn own_session(command: &mut tokio::process::Command) {
        // SAFETY: setsid is a system call on no memory, which a closure run between fork and exec may make.
        unsafe {
            command.pre_exec(crate::child::new_session);
        }
    }

    /// Node's permission flags, the innermost layer: reads of the package and the host script, writes in
    /// the scratch directory; no child processes, workers, native addons or inspector, but what the
    /// grants lift (addons; child processes, whose programs Landlock names).
    pub fn node_flags(&self, permission_flag: &str) -> Vec<String> {
        if !self.node_permissions {
            return Vec::new();
        }
        let granted = [
            (self.native_addons, "--allow-addons"),
            (self.spawns, "--allow-child-process"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, flag)| flag.to_string());
        let mut flags = vec![
            permission_flag.to_string(),
            format!("--allow-fs-read={}", crate::PACKAGE_MOUNT),
            format!("--allow-fs-read={}", self.paths.host_script.display()),
            "--allow-fs-read=/tmp".into(),
            // elizaOS core 0.x looks for a `.env` in every folder from where it runs up to `/` at load,
            // with `fs.existsSync`, which Node 20's permission model makes throw `ERR_ACCESS_DENIED` for
            // `/.env` instead of answering false. `/` is the worker's own root (a tmpfs of plughub's,
            // see `root::plan`), where no `.env` exists: the read finds nothing of the host's.
            "--allow-fs-read=/.env".into(),
            "--allow-fs-write=/tmp".into(),
            "--no-warnings".into(),
        ];
        flags.extend(granted);
        flags
    }

    /// The socket directory must be reachable by the worker's uid.
    pub fn grant_socket(&self, socket: &Path) -> Result<(), SandboxError> {
        use std::os::unix::fs::PermissionsExt;
        let open = |p: &Path, mode: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
                .map_err(io(p.display().to_string()))
        };
        std::os::unix::fs::chown(&self.paths.socket_dir, Some(self.uid), None).map_err(io(self
            .paths
            .socket_dir
            .display()
            .to_string()))?;
        open(&self.paths.socket_dir, 0o700)?;
        std::os::unix::fs::chown(socket, Some(self.uid), None)
            .map_err(io(socket.display().to_string()))?;
        Ok(())
    }

    /// Takes hold of the mount namespace of the worker's first process (`keeper`, the process plughub
    /// started), for `mount_package`. Called once the process has been spawned: it has entered its
    /// namespaces by then.
    pub fn attach(&mut self, keeper: u32) -> Result<(), SandboxError> {
        self.namespace = Some(
            crate::package_mount::open_namespace(keeper)
                .map_err(io(format!("the mount namespace of process {keeper}")))?,
        );
        Ok(())
    }

    /// Mounts `package_dir` read-only at `PACKAGE_MOUNT` in the worker's namespace (it sees it there,
    /// and nothing else of the host's packages). Only a folder beneath one of `roots` (canonical paths)
    /// is mounted: the helper is asked by a process that is not root, which must not have a worker
    /// read what it could not. Blocking (a fork and a wait).
    pub fn mount_package(&self, package_dir: &Path, roots: &[PathBuf]) -> Result<(), SandboxError> {
        let namespace = self.namespace.as_ref().ok_or_else(|| SandboxError::Io {
            what: "mounting the package".into(),
            source: std::io::Error::other("the worker's namespace is not known (not attached)"),
        })?;
        let package =
            std::fs::canonicalize(package_dir).map_err(io(package_dir.display().to_string()))?;
        if !roots.iter().any(|root| package.starts_with(root)) {
            return Err(SandboxError::Io {
                what: format!("mounting {}", package.display()),
                source: std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    "not beneath the folders packages are installed in",
                ),
            });
        }
        // Opened without following any link: the canonical path checked above is the one mounted,
        // even if a folder on the way were replaced by a link meanwhile.
        let opened = rustix::fs::openat2(
            rustix::fs::CWD,
            &package,
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
            rustix::fs::ResolveFlags::NO_SYMLINKS,
        )
        .map_err(|e| SandboxError::Io {
            what: format!("opening {}", package.display()),
            source: e.into(),
        })?;
        crate::package_mount::mount_into(namespace, &opened, crate::PACKAGE_MOUNT)
            .map_err(io(format!("mounting {}", package.display())))
    }

    /// Each layer in force, in words, for the worker's log and `plughub doctor`.
    pub fn layers(&self) -> &[String] {
        &self.layers
    }

    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// Whether a memory cgroup holds the worker to the policy's `memory_mb`.
    pub fn limits_memory(&self) -> bool {
        self.cgroup.is_some()
    }

    /// Takes the sandbox down once its worker has exited: its mount point goes, and its cgroup unless
    /// still busy (the worker dies a moment after its keeper); returns the cgroup folders left, to be
    /// removed a little later (`cgroup::remove_dirs`).
    pub(crate) fn take_down(mut self) -> Vec<PathBuf> {
        self.cgroup.take().map(|c| c.remove()).unwrap_or_default()
    }

    /// Whether the kernel killed the worker for going over its memory.
    pub fn oom_killed(&self) -> bool {
        self.cgroup.as_ref().is_some_and(WorkerCgroup::oom_killed)
    }
}

impl Drop for Sandbox {
    /// The worker has exited (its owner drops the sandbox after): the cgroup and the mount point go.
    fn drop(&mut self) {
        if let Some(cgroup) = &self.cgroup {
            cgroup.remove();
        }
        let _ = std::fs::remove_dir_all(&self.work_dir);
    }
}

/// Moves a worker into its cgroup from the parent. A v1 join waits for an RCU grace period (5–12 ms
/// measured here), which in the child would delay every start; from the parent it runs while Node
/// starts, and the worker loads no plugin code until plughub says it is confined.
#[derive(Debug, Clone)]
pub struct Confiner {
    procs: Vec<PathBuf>,
}

impl Confiner {
    /// Moves the worker, the child of `keeper` (the process plughub started), and returns its pid.
    /// Blocking.
    pub fn confine(&self, keeper: u32) -> Result<u32, SandboxError> {
        let worker = worker_of(keeper)?;
        for procs in &self.procs {
            std::fs::write(procs, worker.to_string()).map_err(io(procs.display().to_string()))?;
        }
        Ok(worker)
    }
}

/// The worker of `keeper` (the process plughub started), its child. The keeper forks the worker before
/// the worker's exec, which is when spawning returns; looked for again briefly in case the kernel lists
/// it late. Blocking.
pub(crate) fn worker_of(keeper: u32) -> Result<u32, SandboxError> {
    for _ in 0..100 {
        if let Some(worker) = child_of(keeper) {
            return Ok(worker);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Err(SandboxError::Io {
        what: format!("finding the worker of {keeper}"),
        source: std::io::Error::other("the keeper has no child"),
    })
}

/// The first child of `parent`: from `/proc/<pid>/task/<pid>/children` where the kernel has it, else by
/// the parent pid each process's `stat` names.
fn child_of(parent: u32) -> Option<u32> {
    let listed = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"));
    if let Ok(listed) = listed {
        return listed
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok());
    }
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // After the parenthesised name: the state, then the parent pid.
            let ppid: u32 = stat[stat.rfind(')')? + 1..]
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            (ppid == parent).then_some(pid)
        })
}
