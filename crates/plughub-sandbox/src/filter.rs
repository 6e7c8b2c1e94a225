//! The seccomp filters: system calls a plugin never needs fail with EPERM; `clone3` fails with ENOSYS so
//! that the C library falls back to `clone`, whose flags the filter can read (no new namespaces).

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
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
    // Sockets: Unix, IPv4 and IPv6 only (no packet, netlink, vsock, alg, …), and never raw or SOCK_PACKET.
    let other_family = SeccompRule::new(
        [libc::AF_UNIX, libc::AF_INET, libc::AF_INET6]
            .iter()
            .map(|family| {
                SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, *family as u64)
                    .expect("valid condition")
            })
            .collect(),
    )
    .expect("valid rule");
    rules.insert(
        libc::SYS_socket,
        vec![
            other_family,
            condition(1, SeccompCmpOp::MaskedEq(0xf), libc::SOCK_RAW as u64),
            // SOCK_PACKET (10), the old way to a packet socket through AF_INET.
            condition(1, SeccompCmpOp::MaskedEq(0xf), 10),
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
    let mut programs: Vec<BpfProgram> = [deny, clone3]
        .into_iter()
        .map(|f| BpfProgram::try_from(f).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    if cfg!(target_arch = "x86_64") {
        programs.push(no_x32());
    }
    Ok(programs)
}

/// x32 system calls carry the x86_64 architecture with bit 30 set in their number, so they would match
/// no rule above: every number with that bit fails.
fn no_x32() -> BpfProgram {
    const LOAD_NR: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS, offset 0: the system call's number
    const JGE: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    const RET: u16 = 0x06; // BPF_RET | BPF_K
    const X32_BIT: u32 = 0x4000_0000;
    let instruction = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    vec![
        instruction(LOAD_NR, 0, 0, 0),
        instruction(JGE, 0, 1, X32_BIT),
        instruction(RET, 0, 0, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        instruction(RET, 0, 0, libc::SECCOMP_RET_ALLOW),
    ]
}

/// The names of what the filter denies, for the report of what is in force.
pub(crate) fn denied_names() -> Vec<&'static str> {
    DENIED
        .iter()
        .map(|(name, _)| *name)
        .chain([
            "sockets other than Unix, IPv4 and IPv6",
            "raw and packet sockets",
            "clone into new namespaces",
            "x32 system calls",
        ])
        .collect()
}
