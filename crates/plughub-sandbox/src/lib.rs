//! The sandbox a plugin worker starts in, built from Linux primitives as bubblewrap and nsjail build
//! theirs: new mount, network, ipc and uts namespaces; a root of its own (a size-capped tmpfs holding the
//! Node runtime, the plugin's package and the host script read-only, and `/tmp` as its scratch); an
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
mod landlock;
pub mod probe;
mod root;
mod sandbox;

pub use probe::{Capabilities, probe};
pub use sandbox::{Confiner, Sandbox, SandboxError, SandboxPaths, SandboxPolicy};
