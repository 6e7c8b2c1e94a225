//! Giving a booted worker its package: a read-only copy of the package's mount tree, made on the host
//! (`open_tree`) and moved onto the worker's empty mount point from inside the worker's own mount
//! namespace (`setns`, `move_mount`). Nothing is mounted in the host's namespace, so nothing is left
//! there when plughub ends, and nothing of one worker's package shows in another's namespace: each
//! namespace gets only the tree moved into it.
//!
//! `setns` into a mount namespace is refused to a multithreaded process, so the move is made by a
//! forked child, which only makes system calls on what the parent opened, then exits.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

// The new mount API's flags (linux/mount.h); the kernel's ABI, fixed.
const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;
const MOUNT_ATTR_RDONLY: u64 = 1;
const MOUNT_ATTR_NOSUID: u64 = 2;
const MOUNT_ATTR_NODEV: u64 = 4;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn last_error(what: &str) -> std::io::Error {
    let e = std::io::Error::last_os_error();
    std::io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// The worker's mount namespace, opened while its process is known (a descriptor, so a pid reused
/// later cannot be taken for it).
pub(crate) fn open_namespace(pid: u32) -> std::io::Result<OwnedFd> {
    let path = CString::new(format!("/proc/{pid}/ns/mnt")).expect("no NUL");
    // SAFETY: a valid C string; the descriptor is owned below.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(last_error("opening the worker's mount namespace"));
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Mounts `package` (an `O_PATH` descriptor of its folder, with whatever is mounted beneath it)
/// read-only, without set-uid or devices, at `target` in the mount namespace `namespace`. Blocking: a
/// fork and a wait.
pub(crate) fn mount_into(
    namespace: &OwnedFd,
    package: &OwnedFd,
    target: &str,
) -> std::io::Result<()> {
    let target = CString::new(target).expect("no NUL");
    // SAFETY: an open descriptor and an empty C string; the flags are the kernel's.
    let tree = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            package.as_raw_fd(),
            c"".as_ptr(),
            OPEN_TREE_CLONE
                | libc::O_CLOEXEC as libc::c_uint
                | libc::AT_RECURSIVE as libc::c_uint
                | libc::AT_EMPTY_PATH as libc::c_uint,
        )
    };
    if tree < 0 {
        return Err(last_error("copying the package's folder"));
    }
    // SAFETY: `tree` was just opened and is owned by nothing else.
    let tree = unsafe { OwnedFd::from_raw_fd(tree as i32) };
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: the descriptor is open, the path empty, `attr` lives for the call with its size given.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc != 0 {
        return Err(last_error("making the package's copy read-only"));
    }
    // SAFETY: after fork, the child makes only system calls on descriptors and strings prepared above,
    // then `_exit`s: nothing that allocates or takes a lock.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(last_error("forking to enter the worker's namespace"));
    }
    if child == 0 {
        // SAFETY: see above; the exit code carries the errno of the step that failed.
        unsafe {
            if libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNS) != 0 {
                libc::_exit(errno_code(1));
            }
            let moved = libc::syscall(
                libc::SYS_move_mount,
                tree.as_raw_fd(),
                c"".as_ptr(),
                libc::AT_FDCWD,
                target.as_ptr(),
                MOVE_MOUNT_F_EMPTY_PATH,
            );
            libc::_exit(if moved == 0 { 0 } else { errno_code(2) });
        }
    }
    let mut status = 0;
    loop {
        // SAFETY: waits for the child just forked.
        let rc = unsafe { libc::waitpid(child, &mut status, 0) };
        if rc == child {
            break;
        }
        if rc < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return Err(last_error("waiting for the mount"));
        }
    }
    match libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)) {
        Some(0) => Ok(()),
        Some(code) => {
            let (step, errno) = (code >> 7, code & 0x7f);
            let step = if step == 0 {
                "entering the worker's mount namespace"
            } else {
                "mounting the package in the worker's namespace"
            };
            Err(std::io::Error::new(
                std::io::Error::from_raw_os_error(errno).kind(),
                format!("{step}: {}", std::io::Error::from_raw_os_error(errno)),
            ))
        }
        None => Err(std::io::Error::other("the mount's child was killed")),
    }
}

/// An exit code saying which step failed (the high bit) and its errno (the low seven bits: every errno
/// these calls return fits).
fn errno_code(step: i32) -> i32 {
    // SAFETY: reads this thread's errno.
    let errno = unsafe { *libc::__errno_location() };
    ((step - 1) << 7) | (errno & 0x7f)
}
