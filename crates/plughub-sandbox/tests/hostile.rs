//! The system calls a plugin never needs, tried from inside a real sandbox. JavaScript cannot make most
//! of them (raw sockets, ptrace, bpf), so this test binary runs itself in the sandbox in Node's place and
//! reports what each call returned; the outer test asserts that the kernel said no to each.

use plughub_sandbox::{Sandbox, SandboxPaths, SandboxPolicy};
use std::collections::BTreeMap;

const CHILD: &str = "PLUGHUB_HOSTILE_CHILD";

/// Inside the sandbox: each call, and the errno it failed with (`ok` if it did not fail).
#[test]
fn hostile_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let outcome = |rc: libc::c_long| -> String {
        if rc >= 0 {
            return "ok".into();
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EPERM) => "EPERM".into(),
            Some(libc::EACCES) => "EACCES".into(),
            Some(libc::ENOSYS) => "ENOSYS".into(),
            Some(other) => format!("errno {other}"),
            None => "unknown".into(),
        }
    };
    let mut results: Vec<(&str, String)> = Vec::new();
    for (name, domain, kind, protocol) in [
        (
            "raw_inet",
            libc::AF_INET,
            libc::SOCK_RAW,
            libc::IPPROTO_ICMP,
        ),
        (
            "raw_inet6",
            libc::AF_INET6,
            libc::SOCK_RAW,
            libc::IPPROTO_ICMPV6,
        ),
        ("packet", libc::AF_PACKET, libc::SOCK_RAW, 0),
        ("netlink", libc::AF_NETLINK, libc::SOCK_RAW, 0),
    ] {
        // SAFETY: socket() takes plain integers; a descriptor it returns is closed straight away.
        let fd = unsafe { libc::socket(domain, kind, protocol) };
        results.push((name, outcome(fd as libc::c_long)));
        if fd >= 0 {
            // SAFETY: `fd` is a descriptor this process just opened and owns.
            unsafe { libc::close(fd) };
        }
    }
    // SAFETY: PTRACE_TRACEME takes no pointers.
    let traceme = unsafe { libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) };
    results.push(("ptrace_traceme", outcome(traceme)));
    // SAFETY: PTRACE_ATTACH takes a pid and no pointers.
    let attach = unsafe { libc::ptrace(libc::PTRACE_ATTACH, 1, 0, 0) };
    results.push(("ptrace_attach", outcome(attach)));
    // SAFETY: unshare() takes flags only.
    let unshare = unsafe { libc::unshare(libc::CLONE_NEWUSER) };
    results.push(("unshare_user", outcome(unshare as libc::c_long)));
    let (source, target, fstype) = (c"none", c"/tmp", c"tmpfs");
    // SAFETY: the strings are NUL-terminated literals and the data pointer is null, as mount() allows.
    let mount = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    results.push(("mount", outcome(mount as libc::c_long)));
    // SAFETY: with a null attribute pointer and size 0 the kernel reads nothing.
    let bpf = unsafe { libc::syscall(libc::SYS_bpf, 0, std::ptr::null::<u8>(), 0) };
    results.push(("bpf", outcome(bpf)));
    // SAFETY: KEYCTL_GET_KEYRING_ID (0) with integer arguments reads no memory of ours.
    let keyctl = unsafe { libc::syscall(libc::SYS_keyctl, 0, -1, 0) };
    results.push(("keyctl", outcome(keyctl)));
    let empty = c"";
    // SAFETY: a null image of length 0 and an empty NUL-terminated parameter string.
    let module = unsafe {
        libc::syscall(
            libc::SYS_init_module,
            std::ptr::null::<u8>(),
            0,
            empty.as_ptr(),
        )
    };
    results.push(("init_module", outcome(module)));
    // SAFETY: getuid() cannot fail and takes nothing.
    let uid = unsafe { libc::getuid() };
    results.push(("uid", uid.to_string()));
    for (name, result) in results {
        println!("hostile:{name}={result}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_a_plugin_never_needs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let package = dir.path().join("package");
    let sockets = dir.path().join("sockets");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::create_dir_all(&sockets).unwrap();
    let host_script = dir.path().join("host.mjs");
    std::fs::write(&host_script, "").unwrap();
    let sandbox = Sandbox::prepare(
        SandboxPaths {
            node: exe.clone(),
            package_dir: package,
            host_script,
            socket_dir: sockets,
            work_dir: dir.path().join("work"),
        },
        &SandboxPolicy::default(),
    )
    .unwrap();
    let mut command = tokio::process::Command::new(&exe);
    command.env_clear().env(CHILD, "1").args([
        "--exact",
        "hostile_child",
        "--nocapture",
        "--test-threads=1",
    ]);
    sandbox.apply(&mut command);
    let out = command.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let results: BTreeMap<&str, &str> = stdout
        .lines()
        .filter_map(|l| l.split_once("hostile:")?.1.split_once('='))
        .collect();
    assert!(
        out.status.success() && results.len() == 12,
        "the child ran in the sandbox: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for call in [
        "raw_inet",
        "raw_inet6",
        "packet",
        "netlink",
        "ptrace_traceme",
        "ptrace_attach",
        "unshare_user",
        "mount",
        "bpf",
        "keyctl",
        "init_module",
    ] {
        assert_eq!(results[call], "EPERM", "{call}: {results:?}");
    }
    // Inside its unmapped user namespace its uid shows as the overflow uid; outside it is the sandbox's
    // own. Root in neither.
    assert_eq!(results["uid"], "65534", "never root, not even inside");
    assert!(sandbox.uid() >= 3_000_000 && sandbox.uid() != 0);
}
