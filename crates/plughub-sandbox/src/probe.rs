//! What this machine allows, found by trying it, not by reading what should be there (securityfs is not
//! mounted on some machines, so Landlock is asked of the kernel directly).

use serde::Serialize;
use std::path::Path;
use std::process::Command;

/// Each sandbox layer: in force here or not, and why not.
#[derive(Debug, Clone, Serialize)]
pub struct Capabilities {
    pub root: bool,
    /// mount, network, ipc and uts namespaces, tried on a real child.
    pub namespaces: Result<(), String>,
    pub landlock_abi: Option<u32>,
    /// Whether Landlock keeps a worker's signals inside its sandbox (ABI 6 and later).
    pub landlock_scopes_signals: bool,
    pub seccomp: Result<(), String>,
    /// `v1` or `v2` when plughub can make cgroups here.
    pub cgroup: Option<String>,
    /// The flag that turns on Node's permission model, when the given Node has one.
    pub node_permission: Option<String>,
}

impl Capabilities {
    /// Whether workers can be sandboxed here (every mandatory layer works).
    pub fn sandbox_possible(&self) -> bool {
        self.root && self.namespaces.is_ok() && self.seccomp.is_ok()
    }
}

/// Tries each layer; `node` is the Node.js workers would run.
pub fn probe(node: &Path) -> Capabilities {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let landlock_abi = crate::landlock::abi();
    Capabilities {
        root,
        namespaces: try_namespaces(),
        landlock_abi,
        landlock_scopes_signals: landlock_abi.is_some_and(crate::landlock::scopes_signals),
        seccomp: crate::filter::compile().map(|_| ()),
        cgroup: crate::cgroup::layout().map(|l| format!("{l:?}").to_lowercase()),
        node_permission: node_permission_flag(node),
    }
}

fn try_namespaces() -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new("/bin/sh");
    command.args(["-c", "exit 0"]);
    // SAFETY: unshare takes flags only and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            let flags =
                libc::CLONE_NEWNS | libc::CLONE_NEWNET | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS;
            match libc::unshare(flags) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("a child in new namespaces ended with {status}")),
        Err(e) => Err(e.to_string()),
    }
}

/// `--permission` (Node 22.13 and later) or `--experimental-permission` (Node 20), whichever this Node
/// accepts; `None` when neither.
pub fn node_permission_flag(node: &Path) -> Option<String> {
    ["--permission", "--experimental-permission"]
        .into_iter()
        .find(|flag| {
            Command::new(node)
                .args([flag, "--no-warnings", "-e", "0"])
                .env_clear()
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(str::to_string)
}

/// The kernel's page size (what `/proc/<pid>/statm` counts in), asked once.
pub fn page_size() -> u64 {
    static PAGE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    // SAFETY: sysconf only reads a constant of the system.
    *PAGE.get_or_init(|| match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as u64,
        _ => 4096,
    })
}
