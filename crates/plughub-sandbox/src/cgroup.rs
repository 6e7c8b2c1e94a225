//! A memory and pids cgroup per worker (v2), or a memory cgroup (v1), where the machine lets plughub
//! write one. The parent makes it, sets its limits, moves the worker into it (see `Confiner`), and
//! removes it once the worker has exited.

use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";

/// Which cgroup layout this machine has, if plughub can write to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Unified hierarchy (`cgroup.controllers` at the root).
    V2,
    /// One hierarchy a controller (`memory/`, `pids/`).
    V1,
}

pub(crate) fn layout() -> Option<Layout> {
    let root = Path::new(ROOT);
    if root.join("cgroup.controllers").is_file() {
        let writable = std::fs::create_dir_all(root.join("plughub")).is_ok();
        return writable.then_some(Layout::V2);
    }
    let memory = root.join("memory");
    if memory.join("memory.limit_in_bytes").is_file() {
        let writable = std::fs::create_dir_all(memory.join("plughub")).is_ok();
        return writable.then_some(Layout::V1);
    }
    None
}

/// The cgroup directories of one worker (one for v2, one a controller for v1).
#[derive(Debug, Default)]
pub(crate) struct WorkerCgroup {
    pub(crate) dirs: Vec<PathBuf>,
}

impl WorkerCgroup {
    /// Makes the worker's cgroup with its limits: memory (swap included where the machine counts it), and
    /// on v2 processes (threads count).
    pub(crate) fn create(
        layout: Layout,
        name: &str,
        memory_bytes: u64,
        max_pids: u64,
    ) -> std::io::Result<WorkerCgroup> {
        let root = Path::new(ROOT);
        let mut made = WorkerCgroup::default();
        match layout {
            Layout::V2 => {
                let parent = root.join("plughub");
                // Controllers must be enabled for the children of plughub's group.
                let _ = std::fs::write(parent.join("cgroup.subtree_control"), "+memory +pids");
                let dir = parent.join(name);
                std::fs::create_dir(&dir)?;
                made.dirs.push(dir.clone());
                std::fs::write(dir.join("memory.max"), memory_bytes.to_string())?;
                let _ = std::fs::write(dir.join("memory.swap.max"), "0");
                std::fs::write(dir.join("pids.max"), max_pids.to_string())?;
            }
            Layout::V1 => {
                let memory = root.join("memory/plughub").join(name);
                std::fs::create_dir(&memory)?;
                made.dirs.push(memory.clone());
                std::fs::write(
                    memory.join("memory.limit_in_bytes"),
                    memory_bytes.to_string(),
                )?;
                let _ = std::fs::write(
                    memory.join("memory.memsw.limit_in_bytes"),
                    memory_bytes.to_string(),
                );
                // No pids cgroup on v1: joining a v1 cgroup waits for an RCU grace period (5–12 ms
                // measured here), and a second hierarchy would double that on every start. The
                // worker's processes and threads are capped anyway by RLIMIT_NPROC, which counts per
                // uid, and each worker has a uid of its own.
            }
        }
        Ok(made)
    }

    /// The `cgroup.procs` files the child writes itself into.
    pub(crate) fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// Whether the kernel OOM-killed something in the worker's memory cgroup.
    pub(crate) fn oom_killed(&self) -> bool {
        self.dirs.iter().any(|d| {
            let events = std::fs::read_to_string(d.join("memory.events")).unwrap_or_default();
            let v2 = events
                .lines()
                .any(|l| l.starts_with("oom_kill ") && !l.ends_with(" 0"));
            let failcnt = std::fs::read_to_string(d.join("memory.failcnt"))
                .map(|t| t.trim() != "0")
                .unwrap_or(false);
            v2 || failcnt
        })
    }

    /// Removes the directories; returns those still busy. When the keeper was killed, the worker dies
    /// a moment later (its parent-death signal) and the group is busy until then: the sandbox helper
    /// tries those again (see `remove_dirs`).
    pub(crate) fn remove(&self) -> Vec<PathBuf> {
        remove_dirs(&self.dirs)
    }
}

/// Removes each of `dirs` that is empty of processes now; returns the others.
pub(crate) fn remove_dirs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    dirs.iter()
        .filter(|dir| std::fs::remove_dir(dir).is_err() && dir.exists())
        .cloned()
        .collect()
}
