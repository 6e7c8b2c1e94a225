//! The sandbox helper: the one process of plughub's that keeps root's powers, so that the server, its
//! store, installer and analyzer do not. It is plughub's own executable started again (`start`) with a
//! socket to it, and it becomes the helper before `main` runs (`run_if_asked`): one thread, which
//! builds workers' sandboxes (namespaces, cgroups, mounts, a uid of their own), mounts a package into a
//! booted worker, and ends workers, as plughub asks over that socket, and nothing else. The socket is
//! one end of a socket pair: nobody but the process that started the helper holds the other.
//!
//! A worker's descriptors (its socket's listener, its egress listener, its output) are passed to
//! plughub, which speaks to the worker itself: the helper never reads a worker's messages.

mod client;
mod daemon;
mod wire;

pub use client::{HelperError, Launched, SandboxHelper};
pub use wire::Launch;

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Set, in the helper's environment alone, to the descriptor of its socket.
const HELPER_FD_ENV: &str = "PLUGHUB_SANDBOX_HELPER_FD";
/// The descriptor the helper finds its socket on.
const HELPER_FD: i32 = 3;

/// Becomes the helper, before `main`, in a process started by `start`; returns at once in any other.
/// Before `main`, so that every program linking plughub's sandbox (plughub itself, its tests) can be
/// the helper without a command of its own, and the helper starts with one thread.
#[ctor::ctor]
fn run_if_asked() {
    if std::env::var_os(HELPER_FD_ENV).as_deref() != Some(HELPER_FD.to_string().as_ref()) {
        return;
    }
    // SAFETY: `start` put the helper's end of the socket pair at this descriptor, and nothing else in
    // this process owns it.
    let socket = unsafe { OwnedFd::from_raw_fd(HELPER_FD) };
    // Inherited without close-on-exec, as it had to be: set again, or every worker would inherit it
    // and could speak to plughub as the helper.
    // SAFETY: fcntl on a descriptor this process owns.
    if unsafe { libc::fcntl(HELPER_FD, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
        eprintln!("plughub sandbox helper: cannot keep its socket from its workers");
        std::process::exit(1);
    }
    // Named for `ps` and /proc (it was started as /proc/self/exe, and so is called `exe`).
    // SAFETY: prctl reads the NUL-terminated name given.
    unsafe { libc::prctl(libc::PR_SET_NAME, c"plughub-sandbox".as_ptr(), 0, 0, 0) };
    if let Err(e) = crate::privileges::keep_helper_capabilities() {
        eprintln!("plughub sandbox helper: cannot drop the capabilities it does not need: {e}");
        std::process::exit(1);
    }
    daemon::run(socket)
}

/// Starts a helper, which may mount packages from beneath `package_roots` only; plughub must be root.
pub fn start(package_roots: Vec<PathBuf>) -> std::io::Result<Arc<SandboxHelper>> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let (ours, theirs) = rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )?;
    let theirs_raw = theirs.as_raw_fd();
    let mut command = std::process::Command::new("/proc/self/exe");
    command
        .arg0("plughub-sandbox-helper")
        .env(HELPER_FD_ENV, HELPER_FD.to_string())
        .stdin(std::process::Stdio::null());
    // SAFETY: dup2, fcntl and setsid are system calls on integers, which a closure run between fork
    // and exec may make.
    unsafe {
        command.pre_exec(move || {
            if theirs_raw == HELPER_FD {
                // dup2 onto itself would keep close-on-exec: cleared instead.
                if libc::fcntl(HELPER_FD, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(theirs_raw, HELPER_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Out of plughub's process group: a ^C at plughub's terminal is plughub's to handle (it
            // ends its workers through the helper), not the helper's.
            libc::setsid();
            Ok(())
        });
    }
    let child = command.spawn()?;
    drop(theirs);
    // The folders are said now, while plughub is still the only one who could have started it.
    wire::send(
        ours.as_fd(),
        &wire::Request {
            id: 0,
            op: wire::Op::Configure { package_roots },
        },
        &[],
    )?;
    let mut buffer = vec![0u8; 64 * 1024];
    match wire::receive::<wire::Message>(ours.as_fd(), &mut buffer)? {
        Some((wire::Message::Done { id: 0 }, _)) => {}
        Some((wire::Message::Failed { error, .. }, _)) => {
            return Err(std::io::Error::other(error));
        }
        _ => {
            return Err(std::io::Error::other(
                "the sandbox helper ended as it started",
            ));
        }
    }
    SandboxHelper::new(ours, child.id())
}

static SHARED: Mutex<Option<Arc<SandboxHelper>>> = Mutex::new(None);

/// Makes `helper` the one this process's workers are launched by (`plughub serve` starts it before
/// it gives up root).
pub fn install(helper: Arc<SandboxHelper>) {
    *SHARED.lock().expect("not poisoned") = Some(helper);
}

/// The helper this process's workers are launched by: the one installed, else one started now, which
/// needs root (a command run as root that keeps root itself, such as `plughub run` or the tests, may
/// mount packages from anywhere).
pub fn shared() -> Result<Arc<SandboxHelper>, HelperError> {
    let mut shared = SHARED.lock().expect("not poisoned");
    if let Some(helper) = &*shared {
        return Ok(helper.clone());
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(HelperError(
            "plughub is not root, so it cannot start the helper that builds plugins' sandboxes; run \
             it as root (`plughub serve` then gives up root itself), or set PLUGHUB_SANDBOX=off to \
             run plugins without the OS sandbox"
                .into(),
        ));
    }
    let helper = start(vec![PathBuf::from("/")])
        .map_err(|e| HelperError(format!("it did not start: {e}")))?;
    *shared = Some(helper.clone());
    Ok(helper)
}

/// The helper installed or started in this process, if any (for `plughub doctor`).
pub fn current() -> Option<Arc<SandboxHelper>> {
    SHARED.lock().expect("not poisoned").clone()
}
