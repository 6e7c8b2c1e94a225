//! Landlock, by its system calls: the ruleset is made in the parent (opening the paths it allows), and the
//! child adds its scratch directory and restricts itself between fork and exec, where a library that
//! allocates would not be safe. Rules hold inodes, so they follow the bind mounts of the sandbox's root.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

const CREATE_RULESET_VERSION: libc::c_uint = 1;
const RULE_PATH_BENEATH: libc::c_int = 1;

pub(crate) const EXECUTE: u64 = 1 << 0;
pub(crate) const WRITE_FILE: u64 = 1 << 1;
pub(crate) const READ_FILE: u64 = 1 << 2;
pub(crate) const READ_DIR: u64 = 1 << 3;
const V1_ALL: u64 = (1 << 13) - 1;
const REFER: u64 = 1 << 13;
const TRUNCATE: u64 = 1 << 14;
const IOCTL_DEV: u64 = 1 << 15;
/// `LANDLOCK_SCOPE_SIGNAL` (ABI 6): no signal may leave the domain (the worker and its keeper), whatever
/// the uid or session would allow (a SIGCONT is otherwise allowed to any process of the same session).
pub(crate) const SCOPE_SIGNAL: u64 = 1 << 1;
/// What may be done to a file (not a directory) under a rule.
const FILE_RIGHTS: u64 = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// The Landlock ABI version of this kernel, if it has Landlock.
pub(crate) fn abi() -> Option<u32> {
    // SAFETY: asking for the version passes no memory and creates nothing.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    (version > 0).then_some(version as u32)
}

/// Whether this ABI can keep signals inside the domain.
pub(crate) fn scopes_signals(abi: u32) -> bool {
    abi >= 6
}

/// Every filesystem right this ABI knows: all are handled, so what is not allowed is denied.
pub(crate) fn all_rights(abi: u32) -> u64 {
    let mut rights = V1_ALL;
    if abi >= 2 {
        rights |= REFER;
    }
    if abi >= 3 {
        rights |= TRUNCATE;
    }
    if abi >= 5 {
        rights |= IOCTL_DEV;
    }
    rights
}

pub(crate) struct Ruleset {
    fd: OwnedFd,
    pub(crate) rights: u64,
    /// Whether the ruleset scopes signals (see [`SCOPE_SIGNAL`]).
    pub(crate) scopes_signals: bool,
}

impl Ruleset {
    pub(crate) fn create(abi: u32) -> std::io::Result<Ruleset> {
        let rights = all_rights(abi);
        let scopes_signals = scopes_signals(abi);
        let attr = RulesetAttr {
            handled_access_fs: rights,
            handled_access_net: 0,
            scoped: if scopes_signals { SCOPE_SIGNAL } else { 0 },
        };
        // SAFETY: `attr` is a valid ruleset attribute of the size given, alive for the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                &attr as *const RulesetAttr,
                std::mem::size_of::<RulesetAttr>(),
                0,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the kernel just returned this descriptor (close-on-exec) and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
        Ok(Ruleset {
            fd,
            rights,
            scopes_signals,
        })
    }

    /// Allows `access` beneath `path` (only file rights when it is a file).
    pub(crate) fn allow(&self, path: &Path, access: u64) -> std::io::Result<()> {
        let file = std::fs::File::options()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
            .open(path)?;
        let mut access = access & self.rights;
        if !file.metadata()?.is_dir() {
            access &= FILE_RIGHTS;
        }
        // SAFETY: both descriptors are open for the call; the attribute is valid.
        let rc = unsafe { add_rule(self.fd.as_raw_fd(), file.as_raw_fd(), access) };
        match rc {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

use std::os::unix::fs::OpenOptionsExt;

/// Adds a path-beneath rule. Allocates nothing: safe between fork and exec.
///
/// # Safety
/// `ruleset` and `parent` must be open descriptors.
pub(crate) unsafe fn add_rule(ruleset: RawFd, parent: RawFd, access: u64) -> libc::c_long {
    let attr = PathBeneathAttr {
        allowed_access: access,
        parent_fd: parent,
    };
    // SAFETY: the caller passes open descriptors; `attr` lives for the call.
    unsafe {
        libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset,
            RULE_PATH_BENEATH,
            &attr as *const PathBeneathAttr,
            0,
        )
    }
}

/// In the child, in its new root: allows each of `rules` (a directory and the rights beneath it: the
/// scratch directory, the package's mount point), then restricts the process to the ruleset. Rules on
/// the new root's own directories can only be added here: the parent cannot name them. `no_new_privs`
/// must be set already. Allocates nothing.
///
/// # Safety
/// `ruleset` must be an open Landlock ruleset descriptor.
pub(crate) unsafe fn restrict_in_root(
    ruleset: RawFd,
    rules: &[(&CStr, u64)],
) -> std::io::Result<()> {
    for (path, rights) in rules {
        // SAFETY: `path` is a valid C string; the descriptor is closed below.
        let dir = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
        if dir < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: both descriptors are open.
        let rc = unsafe { add_rule(ruleset, dir, *rights) };
        // SAFETY: `dir` was opened above and is not used again.
        unsafe { libc::close(dir) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    // SAFETY: restricting takes the open ruleset descriptor and no memory.
    let rc = unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0) };
    match rc {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    /// A process restricted by a ruleset scoping signals cannot send one out of its domain, even to a
    /// process it could signal otherwise (here its parent, as root).
    #[test]
    fn a_domain_scoping_signals_cannot_signal_out_of_it() {
        if !abi().is_some_and(scopes_signals) {
            eprintln!("skipped: this kernel's Landlock does not scope signals (ABI 6)");
            return;
        }
        // Nothing but signals handled, so that the child may still execute `kill`.
        let attr = RulesetAttr {
            handled_access_fs: 0,
            handled_access_net: 0,
            scoped: SCOPE_SIGNAL,
        };
        // SAFETY: `attr` is a valid ruleset attribute of the size given, alive for the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                &attr as *const RulesetAttr,
                std::mem::size_of::<RulesetAttr>(),
                0,
            )
        };
        assert!(fd >= 0, "{}", std::io::Error::last_os_error());
        // SAFETY: the kernel just returned this descriptor and nothing else owns it.
        let ruleset = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
        let raw = ruleset.as_raw_fd();
        let signal_parent = |scoped: bool| {
            let mut command = std::process::Command::new("kill");
            command
                .args(["-s", "CONT", &std::process::id().to_string()])
                .stderr(std::process::Stdio::null());
            if scoped {
                // SAFETY: prctl and landlock_restrict_self take integers only.
                unsafe {
                    command.pre_exec(move || {
                        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                            || libc::syscall(libc::SYS_landlock_restrict_self, raw, 0) != 0
                        {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
            }
            command.status().unwrap().success()
        };
        assert!(signal_parent(false), "unrestricted, the signal goes");
        assert!(!signal_parent(true), "scoped, the kernel refuses it");
    }
}
