//! The seccomp filters: system calls a plugin never needs fail with EPERM; `clone3` fails with ENOSYS so
//! that the C library falls back to `clone`, whose flags the filter can read (no new namespaces).

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

/// System calls denied outright.
const DENIED: &[(&str, i64)] = &[
    ("ptrace", libc::SYS_ptrace),
    ("process_vm_readv", libc::SYS_process_vm_readv),
    ("process_vm_writev", libc::SYS_process_vm_writev),
    ("mount", libc::SYS_mount),
    ("umount2", libc::SYS_umount2),
    ("pivot_root", libc::SYS_pivot_root),
    ("chroot", libc::SYS_chroot),
    ("unshare", libc::SYS_unshare),
    ("setns", libc::SYS_setns),
    ("bpf", libc::SYS_bpf),
    ("perf_event_open", libc::SYS_perf_event_open),
    ("kexec_load", libc::SYS_kexec_load),
    ("kexec_file_load", libc::SYS_kexec_file_load),
    ("init_module", libc::SYS_init_module),
    ("finit_module", libc::SYS_finit_module),
    ("delete_module", libc::SYS_delete_module),
    ("keyctl", libc::SYS_keyctl),
    ("add_key", libc::SYS_add_key),
    ("request_key", libc::SYS_request_key),
    ("reboot", libc::SYS_reboot),
    ("swapon", libc::SYS_swapon),
    ("swapoff", libc::SYS_swapoff),
    ("userfaultfd", libc::SYS_userfaultfd),
    ("open_by_handle_at", libc::SYS_open_by_handle_at),
    ("io_uring_setup", libc::SYS_io_uring_setup),
];

fn arch() -> TargetArch {
    if cfg!(target_arch = "aarch64") {
        TargetArch::aarch64
    } else {
        TargetArch::x86_64
    }
}

fn condition(arg: u8, op: SeccompCmpOp, value: u64) -> SeccompRule {
    let condition =
        SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).expect("valid condition");
    SeccompRule::new(vec![condition]).expect("valid rule")
}

/// The two filters, compiled: the denylist (EPERM) and clone3 (ENOSYS).
pub(crate) fn compile() -> Result<Vec<BpfProgram>, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = DENIED
        .iter()
        .map(|(_, number)| (*number, Vec::new()))
        .collect();
    // Raw and packet sockets.
    let raw = libc::SOCK_RAW as u64;
    rules.insert(
        libc::SYS_socket,
        vec![
            condition(0, SeccompCmpOp::Eq, libc::AF_PACKET as u64),
            condition(1, SeccompCmpOp::MaskedEq(0xf), raw),
        ],
    );
    // No new namespaces through clone's flags either.
    let namespaces = [
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWCGROUP,
    ];
    rules.insert(
        libc::SYS_clone,
        namespaces
            .iter()
            .map(|flag| {
                let flag = *flag as u64;
                condition(0, SeccompCmpOp::MaskedEq(flag), flag)
            })
            .collect(),
    );
    let deny = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch(),
    )
    .map_err(|e| e.to_string())?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch(),
    )
    .map_err(|e| e.to_string())?;
    [deny, clone3]
        .into_iter()
        .map(|f| BpfProgram::try_from(f).map_err(|e| e.to_string()))
        .collect()
}

/// The names of what the filter denies, for the report of what is in force.
pub(crate) fn denied_names() -> Vec<&'static str> {
    DENIED
        .iter()
        .map(|(name, _)| *name)
        .chain(["raw and packet sockets", "clone into new namespaces"])
        .collect()
}
