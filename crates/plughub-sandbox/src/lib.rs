//! The sandbox a plugin worker starts in, built from Linux primitives as bubblewrap and nsjail build
//! theirs: new mount, network, ipc and uts namespaces; a root of its own (a size-capped tmpfs holding the
//! Node runtime and the host script read-only, an empty mount point for the one package the worker is
//! given once it has booted ([`Sandbox::mount_package`]), and `/tmp` as its scratch); an
//! unprivileged uid of its own; rlimits; a memory cgroup (with pids on v2) where the machine has one;
//! Landlock where the kernel has it; a seccomp filter; and Node's permission flags innermost.
//!
//! Everything that allocates is prepared in the parent ([`Sandbox::prepare`]); between fork and exec the
//! child only makes system calls on what was prepared. The parent moves the worker into its cgroup while
//! Node starts ([`Confiner`]), and the worker loads no plugin code before that is done. [`probe`] says what this machine allows, and the
//! sandbox never claims a layer that is not in force ([`Sandbox::layers`]).

mod cgroup;
mod child;
mod filter;
pub mod helper;
mod landlock;
mod package_mount;
mod priority;
pub mod privileges;
pub mod probe;
mod root;
mod sandbox;

pub use probe::{Capabilities, probe};

/// Where a sandboxed worker sees its plugin's package: an empty directory of its root when it boots,
/// onto which plughub mounts the one package it assigns ([`Sandbox::mount_package`]), read-only.
pub const PACKAGE_MOUNT: &str = "/plughub/package";
/// The folder holding it, which the worker's Landlock rule for reading the package names: Landlock
/// checks a path's rules from the file up, and passes over a mount point hidden by what is mounted on
/// it, so a rule must be on a folder above the mount point to cover what is mounted there later.
pub(crate) const PACKAGE_PARENT_C: &std::ffi::CStr = c"/plughub";
pub use sandbox::{Confiner, Sandbox, SandboxError, SandboxPaths, SandboxPolicy};

/// Why a worker's process ended, in words, from its exit status (a sandboxed worker's keeper exits
/// with the worker's code, or 128 and the signal that killed it).
pub fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("it exited with code {code}"),
        (None, Some(signal)) => format!("it was killed by signal {signal}"),
        _ => "it exited".into(),
    }
}
