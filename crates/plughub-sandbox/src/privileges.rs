//! Giving up root: the server, once its sandbox helper runs, becomes an ordinary account with no
//! capabilities, no supplementary groups, and no way to gain privileges again (no-new-privs).

use std::ffi::CString;
use std::io::{Error, Result};

/// An account to run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The account named `name` in the system's user database, if there is one.
pub fn find_account(name: &str) -> Result<Option<Account>> {
    let c_name = CString::new(name).map_err(|_| Error::other("an account name with a NUL byte"))?;
    let mut buffer = vec![0u8; 16 * 1024];
    // SAFETY: passwd is plain data; getpwnam_r fills it with pointers into `buffer`.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call, with `buffer`'s length given.
    let rc = unsafe {
        libc::getpwnam_r(
            c_name.as_ptr(),
            &mut entry,
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            &mut found,
        )
    };
    if rc != 0 {
        return Err(Error::from_raw_os_error(rc));
    }
    Ok((!found.is_null()).then(|| Account {
        name: name.to_string(),
        uid: entry.pw_uid,
        gid: entry.pw_gid,
    }))
}

/// Becomes `account` for good: no supplementary groups, its group, its user (real, effective and
/// saved, so there is no way back), then no-new-privs. Leaving root for another uid clears every
/// capability; this checks that none is left. Call it before any thread is started: no-new-privs is a
/// thread's, inherited by the threads and processes started after.
pub fn become_account(account: &Account) -> Result<()> {
    if account.uid == 0 {
        return Err(Error::other("the account to serve as must not be root"));
    }
    let check = |rc: libc::c_int, what: &str| match rc {
        0 => Ok(()),
        _ => {
            let e = Error::last_os_error();
            Err(Error::new(e.kind(), format!("{what}: {e}")))
        }
    };
    // SAFETY: these take integers (and a null list of no groups) only.
    unsafe {
        check(libc::setgroups(0, std::ptr::null()), "setgroups")?;
        check(
            libc::setresgid(account.gid, account.gid, account.gid),
            "setresgid",
        )?;
        check(
            libc::setresuid(account.uid, account.uid, account.uid),
            "setresuid",
        )?;
        check(
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
            "no-new-privs",
        )?;
    }
    let left = Capabilities::of("self")?;
    if !left.none() {
        return Err(Error::other(format!(
            "capabilities are left after giving up root: {left:?}"
        )));
    }
    Ok(())
}

/// Sets an environment variable of this process for the account it becomes (what `su` does for HOME).
/// Changing the environment races with any other thread reading it, so this refuses unless the process
/// has one thread, which it checks.
pub fn set_environment_alone(key: &str, value: &std::ffi::OsStr) -> Result<()> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .map(str::trim);
    if threads != Some("1") {
        return Err(Error::other(format!(
            "cannot set {key}: the environment is changed only while one thread runs ({} run)",
            threads.unwrap_or("?")
        )));
    }
    // SAFETY: no other thread exists to read the environment meanwhile (checked above).
    unsafe { std::env::set_var(key, value) };
    Ok(())
}

/// A process's capability sets, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub inheritable: u64,
    pub permitted: u64,
    pub effective: u64,
    pub ambient: u64,
}

impl Capabilities {
    /// Of process `pid` (or `self`).
    pub fn of(pid: &str) -> Result<Capabilities> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let set = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                .unwrap_or(0)
        };
        Ok(Capabilities {
            inheritable: set("CapInh:"),
            permitted: set("CapPrm:"),
            effective: set("CapEff:"),
            ambient: set("CapAmb:"),
        })
    }

    /// Whether the process holds no capability it could use.
    pub fn none(&self) -> bool {
        self.permitted == 0 && self.effective == 0 && self.ambient == 0 && self.inheritable == 0
    }
}

/// The capabilities the sandbox helper keeps (linux/capability.h's numbers), each for a step of
/// building or ending a worker; every other is dropped for good, from the bounding set too.
const HELPER_KEEPS: &[(u32, &str)] = &[
    // The worker's socket folder is given to its uid.
    (0, "CAP_CHOWN"),
    // Its folders are made in plughub's run folder, which is the server account's.
    (1, "CAP_DAC_OVERRIDE"),
    (2, "CAP_DAC_READ_SEARCH"),
    (3, "CAP_FOWNER"),
    // Keepers run as the worker's uid once started.
    (5, "CAP_KILL"),
    (6, "CAP_SETGID"),
    (7, "CAP_SETUID"),
    // Entering a worker's mount namespace to mount its package (with CAP_SYS_ADMIN).
    (18, "CAP_SYS_CHROOT"),
    // Opening a keeper's namespace (`/proc/<pid>/ns/mnt`): the keeper is not dumpable.
    (19, "CAP_SYS_PTRACE"),
    // Namespaces, mounts, the new root, cgroups.
    (21, "CAP_SYS_ADMIN"),
    // A worker booted ahead of need gets its ordinary priority back.
    (23, "CAP_SYS_NICE"),
    // Its rlimits.
    (24, "CAP_SYS_RESOURCE"),
];

/// Drops every capability but [`HELPER_KEEPS`] from this process (bounding, permitted, effective and
/// inheritable sets). Called by the helper as it starts, single-threaded.
pub(crate) fn keep_helper_capabilities() -> Result<()> {
    const CAP_SETPCAP: u32 = 8;
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(40);
    let kept = |cap: u32| HELPER_KEEPS.iter().any(|(c, _)| *c == cap);
    // The bounding set first: dropping from it needs CAP_SETPCAP, which goes next.
    for cap in (0..=last).filter(|c| !kept(*c) && *c != CAP_SETPCAP) {
        // SAFETY: prctl takes integers only.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } != 0 {
            return Err(Error::last_os_error());
        }
    }
    // SAFETY: as above.
    if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, CAP_SETPCAP as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(Error::last_os_error());
    }
    // Of those, what this process has (a container may have withheld some, CAP_SYS_RESOURCE here).
    let held = Capabilities::of("self")?.permitted;
    let mask: u64 = HELPER_KEEPS.iter().fold(0, |m, (c, _)| m | (1u64 << c)) & held;
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let header = Header {
        // _LINUX_CAPABILITY_VERSION_3: two 32-bit words a set.
        version: 0x2008_0522,
        pid: 0,
    };
    let word = |i: u32| (mask >> (32 * i)) as u32;
    let data = [0, 1].map(|i| Data {
        effective: word(i),
        permitted: word(i),
        inheritable: 0,
    });
    // SAFETY: a valid header and two data words, as version 3 of capset takes.
    if unsafe { libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) } != 0 {
        return Err(Error::last_os_error());
    }
    Ok(())
}

/// The names of the capabilities of `effective` (a capability set) that the sandbox helper keeps.
pub fn helper_capabilities(effective: u64) -> Vec<&'static str> {
    HELPER_KEEPS
        .iter()
        .filter(|(cap, _)| effective & (1 << cap) != 0)
        .map(|(_, name)| *name)
        .collect()
}

/// The capabilities the sandbox helper needs that `effective` (its capability set) lacks: every one it
/// keeps but CAP_SYS_RESOURCE, which it uses where the machine gives it. A container or service that
/// withholds one of them gets workers that fail to start; `/readyz` and the server's start say which.
pub fn helper_capabilities_missing(effective: u64) -> Vec<&'static str> {
    HELPER_KEEPS
        .iter()
        .filter(|(cap, name)| effective & (1 << cap) == 0 && *name != "CAP_SYS_RESOURCE")
        .map(|(_, name)| *name)
        .collect()
}

#[cfg(test)]
mod missing_tests {
    #[test]
    fn what_the_helper_lacks_is_named_but_sys_resource() {
        let all = super::HELPER_KEEPS
            .iter()
            .fold(0u64, |m, (c, _)| m | (1 << c));
        assert!(super::helper_capabilities_missing(all).is_empty());
        assert!(super::helper_capabilities_missing(all & !(1 << 24)).is_empty());
        assert_eq!(
            super::helper_capabilities_missing(all & !(1 << 21)),
            ["CAP_SYS_ADMIN"]
        );
    }
}
