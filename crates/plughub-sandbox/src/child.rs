//! What the worker's process does to itself between fork and exec, on what the parent prepared: system
//! calls only, no allocation (the parent is multi-threaded, so nothing that takes a lock is safe here).
//! Order matters: namespaces and the new root while still root, limits, then the uid dropped, then
//! Landlock and seccomp last (they would forbid the steps before). The cgroup is not joined here: a join
//! waits for an RCU grace period, so the parent moves the worker while Node starts (see `confine`).

use crate::root::{RootPlan, Step};
use crate::sandbox::Prepared;
use std::io::{Error, Result};
use std::ptr::null;

fn check(rc: libc::c_int) -> Result<()> {
    match rc {
        0 => Ok(()),
        _ => Err(Error::last_os_error()),
    }
}

/// Makes the calling process the leader of a new session and process group. Allocates nothing.
pub(crate) fn new_session() -> Result<()> {
    // SAFETY: setsid takes nothing; it fails only for a group leader, which a freshly forked child is not.
    match unsafe { libc::setsid() } {
        -1 => Err(Error::last_os_error()),
        _ => Ok(()),
    }
}

/// Runs in the child after fork, before exec.
pub(crate) fn enter(prepared: &Prepared) -> Result<()> {
    // A session and process group of its own, first: in plughub's, `kill(0, …)` from the worker would
    // reach plughub and every other worker, and a SIGCONT passes the uid check within a session.
    new_session()?;
    let namespaces =
        libc::CLONE_NEWNS | libc::CLONE_NEWNET | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS;
    // SAFETY: unshare takes flags only.
    check(unsafe { libc::unshare(namespaces) })?;
    let host = b"plughub";
    // SAFETY: the name is a valid buffer of the length given.
    check(unsafe { libc::sethostname(host.as_ptr().cast(), host.len()) })?;
    make_root(&prepared.root)?;
    for (resource, limit) in &prepared.rlimits {
        let value = libc::rlimit {
            rlim_cur: *limit,
            rlim_max: *limit,
        };
        // SAFETY: `value` is a valid rlimit for the call.
        check(unsafe { libc::setrlimit(*resource, &value) })?;
    }
    let id = prepared.uid;
    // SAFETY: these take integers only; after them the process is an unprivileged uid with no groups.
    unsafe {
        check(libc::setgroups(0, null()))?;
        check(libc::setresgid(id, id, id))?;
        check(libc::setresuid(id, id, id))?;
        // Not dumpable (the keeper; exec makes Node dumpable again, where seccomp's ptrace denial and a
        // uid of its own keep others out).
        check(libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0))?;
        check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
        // A user namespace of its own, entered unprivileged and left unmapped: inside it the plugin is
        // the overflow uid, and exec drops whatever capabilities entering it gave.
        check(libc::unshare(libc::CLONE_NEWUSER))?;
        // Its processes get a pid namespace of their own, which only a child can enter: see `fork_init`.
        check(libc::unshare(libc::CLONE_NEWPID))?;
        // This process dies with plughub.
        check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0))?;
    }
    if let Some((ruleset, rights)) = prepared.landlock {
        // Everything in the scratch directory but executing what was written there; reads beneath the
        // folder of the package's mount point, where plughub mounts the package it gives the worker.
        let scratch = rights & !crate::landlock::EXECUTE;
        let package = crate::landlock::READ_FILE | crate::landlock::READ_DIR;
        // SAFETY: the ruleset descriptor is held open by `prepared` until the spawn returns.
        unsafe {
            crate::landlock::restrict_in_root(
                ruleset,
                &[(c"/tmp", scratch), (crate::PACKAGE_PARENT_C, package)],
            )?
        };
    }
    for program in &prepared.seccomp {
        seccompiler::apply_filter(program).map_err(|e| Error::other(e.to_string()))?;
    }
    fork_init()
}

/// Forks: the child, pid 1 of the new pid namespace, goes on to exec Node; this process stays as its
/// keeper, waits for it and exits as it did, so that plughub sees the worker's end. Killing the keeper
/// kills the worker (its parent-death signal).
fn fork_init() -> Result<()> {
    // SAFETY: after fork only system calls follow in either process.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(Error::last_os_error());
    }
    if child == 0 {
        // Out of the keeper's session and group too: the worker's `kill(0, …)` then reaches only the
        // processes of its own pid namespace (as `kill(-1, …)` does, the namespace hiding the rest).
        new_session()?;
        // SAFETY: prctl takes integers only. (getppid cannot tell whether the keeper died in between:
        // the keeper is outside this pid namespace, so it reads 0 either way.)
        check(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) })?;
        return Ok(());
    }
    // The keeper never execs, so it would hold every descriptor of plughub's it inherited, among them
    // the pipe on which plughub learns that the exec happened: it keeps only its standard streams.
    // SAFETY: closes this process's own descriptors; it uses none of them again.
    let closed = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    if closed != 0 {
        // Kernels before 5.9: one by one, up to the open-files limit set above.
        for fd in 3..1024 {
            // SAFETY: closing a descriptor number this process may or may not have open.
            unsafe { libc::close(fd) };
        }
    }
    let mut status = 0;
    loop {
        // SAFETY: waits for the child just forked; `status` is a valid int.
        let rc = unsafe { libc::waitpid(child, &mut status, 0) };
        if rc == child {
            break;
        }
        if rc < 0 && Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            // SAFETY: _exit ends the keeper without running anything of the parent's.
            unsafe { libc::_exit(1) };
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    // SAFETY: as above.
    unsafe { libc::_exit(code) }
}

fn make_root(plan: &RootPlan) -> Result<()> {
    let flags_ro = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID;
    // SAFETY: every pointer is a valid C string prepared by the parent, or null where mount allows it.
    unsafe {
        // Nothing mounted here may reach the host's mount table.
        check(libc::mount(
            null(),
            c"/".as_ptr(),
            null(),
            libc::MS_REC | libc::MS_PRIVATE,
            null(),
        ))?;
        check(libc::mount(
            c"tmpfs".as_ptr(),
            plan.root.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            plan.tmpfs_options.as_ptr().cast(),
        ))?;
        for step in &plan.steps {
            match step {
                Step::Dir(path) => {
                    let rc = libc::mkdir(path.as_ptr(), 0o755);
                    if rc != 0 && Error::last_os_error().raw_os_error() != Some(libc::EEXIST) {
                        return Err(Error::last_os_error());
                    }
                }
                Step::File(path) => {
                    let fd = libc::open(
                        path.as_ptr(),
                        libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                        0o644,
                    );
                    if fd < 0 {
                        return Err(Error::last_os_error());
                    }
                    libc::close(fd);
                }
                Step::Symlink { target, link } => {
                    check(libc::symlink(target.as_ptr(), link.as_ptr()))?;
                }
                Step::Bind {
                    source,
                    target,
                    device,
                } => {
                    check(libc::mount(
                        source.as_ptr(),
                        target.as_ptr(),
                        null(),
                        libc::MS_BIND | libc::MS_REC,
                        null(),
                    ))?;
                    if !device {
                        check(libc::mount(
                            null(),
                            target.as_ptr(),
                            null(),
                            flags_ro | libc::MS_NODEV,
                            null(),
                        ))?;
                    }
                }
            }
        }
        check(libc::chmod(plan.scratch.as_ptr(), 0o1777))?;
        // The new root replaces the old one, which is then detached: nothing of the host stays reachable.
        check(libc::chdir(plan.root.as_ptr()))?;
        check(libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) as libc::c_int)?;
        check(libc::umount2(c".".as_ptr(), libc::MNT_DETACH))?;
        // The worker starts in its scratch folder, as a program under plain npm starts in a folder it may
        // read: code that looks for a file beside it (dotenv's `.env`, read by elizaOS core 0.x at load)
        // then finds none, where in `/` Node's permission model would throw `ERR_ACCESS_DENIED` instead.
        check(libc::chdir(c"/tmp".as_ptr()))?;
    }
    Ok(())
}
