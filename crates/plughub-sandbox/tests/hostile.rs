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
    let cwd = std::env::current_dir().map_or_else(|e| e.to_string(), |d| d.display().to_string());
    results.push(("cwd", cwd));
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
            host_script,
            socket_dir: sockets,
            work_dir: dir.path().join("work"),
        },
        &SandboxPolicy::default(),
    )
    .unwrap();
    let mut command = std::process::Command::new(&exe);
    command.env_clear().env(CHILD, "1").args([
        "--exact",
        "hostile_child",
        "--nocapture",
        "--test-threads=1",
    ]);
    sandbox.apply(&mut command);
    let out = tokio::process::Command::from(command)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let results: BTreeMap<&str, &str> = stdout
        .lines()
        .filter_map(|l| l.split_once("hostile:")?.1.split_once('='))
        .collect();
    assert!(
        out.status.success() && results.len() == 13,
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
    // It starts in its scratch folder, one it may read (a lookup of `.env` beside it finds none), not in
    // `/`, where Node's permission model refuses the read instead.
    assert_eq!(results["cwd"], "/tmp");
}

const SIGNALS_CHILD: &str = "PLUGHUB_SIGNALS_CHILD";
const SLEEPER_CHILD: &str = "PLUGHUB_SLEEPER_CHILD";

/// Inside the sandbox: its pid, session and group as it sees them, then a SIGCONT to its process group
/// (`kill(0, …)`) and to every process it may signal (`kill(-1, …)`). A SIGCONT is what crosses uids:
/// the kernel lets it reach any process of the sender's session.
#[test]
fn signals_child() {
    if std::env::var_os(SIGNALS_CHILD).is_none() {
        return;
    }
    let outcome = |rc: libc::c_int| match rc {
        0 => "ok".to_string(),
        _ => format!(
            "errno {}",
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
        ),
    };
    // SAFETY: these take integers only and read nothing of ours.
    let (pid, sid, pgid) = unsafe { (libc::getpid(), libc::getsid(0), libc::getpgid(0)) };
    // SAFETY: as above.
    let group = outcome(unsafe { libc::kill(0, libc::SIGCONT) });
    // SAFETY: as above.
    let everyone = outcome(unsafe { libc::kill(-1, libc::SIGCONT) });
    for (name, value) in [
        ("pid", pid.to_string()),
        ("sid", sid.to_string()),
        ("pgid", pgid.to_string()),
        ("group", group),
        ("everyone", everyone),
    ] {
        println!("signals:{name}={value}");
    }
}

/// Inside another sandbox: a second worker that only waits, to be stopped from outside.
#[test]
fn sleeper_child() {
    if std::env::var_os(SLEEPER_CHILD).is_some() {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

/// A process's state letter in `/proc` (`T` when stopped).
fn state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rfind(')')
        .and_then(|end| stat[end + 1..].trim_start().chars().next())
        .unwrap_or('?')
}

fn stop(pid: u32) {
    // SAFETY: kill takes integers only; the test is root and owns the process.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGSTOP) }, 0);
    for _ in 0..200 {
        if state(pid) == 'T' {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{pid} did not stop: {}", state(pid));
}

/// A sandbox running this test binary in Node's place.
fn sandbox_in(dir: &std::path::Path) -> Sandbox {
    let exe = std::env::current_exe().unwrap();
    let package = dir.join("package");
    let sockets = dir.join("sockets");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::create_dir_all(&sockets).unwrap();
    let host_script = dir.join("host.mjs");
    std::fs::write(&host_script, "").unwrap();
    Sandbox::prepare(
        SandboxPaths {
            node: exe,
            host_script,
            socket_dir: sockets,
            work_dir: dir.join("work"),
        },
        &SandboxPolicy::default(),
    )
    .unwrap()
}

fn child_command(sandbox: &Sandbox, mode: &str, test: &str) -> tokio::process::Command {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .env_clear()
        .env(mode, "1")
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    sandbox.apply(&mut command);
    let mut command = tokio::process::Command::from(command);
    command.kill_on_drop(true);
    command
}

/// Kills what a test left stopped, whether the test passed or not.
struct KillOnDrop(Vec<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for pid in &self.0 {
            // SAFETY: kill takes integers only; these are the test's own processes.
            unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn signals_from_inside_reach_nothing_outside_the_sandbox() {
    // Outside: a process in this test's own process group and session, and a second sandboxed worker
    // (its keeper and its Node), all stopped: a SIGCONT that reached any of them would wake it.
    let mut sibling = std::process::Command::new("sleep")
        .arg("60")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stopped = KillOnDrop(vec![sibling.id()]);
    stop(sibling.id());
    let other_dir = tempfile::tempdir().unwrap();
    let other = sandbox_in(other_dir.path());
    let mut other_keeper = child_command(&other, SLEEPER_CHILD, "sleeper_child")
        .spawn()
        .unwrap();
    let keeper = other_keeper.id().unwrap();
    stopped.0.push(keeper);
    let mut other_worker = None;
    for _ in 0..500 {
        let children = std::fs::read_to_string(format!("/proc/{keeper}/task/{keeper}/children"));
        other_worker = children
            .ok()
            .and_then(|c| c.split_whitespace().next()?.parse::<u32>().ok());
        if other_worker.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let other_worker = other_worker.expect("the second sandbox's worker started");
    stopped.0.push(other_worker);
    stop(other_worker);
    stop(keeper);

    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox_in(dir.path());
    let out = child_command(&sandbox, SIGNALS_CHILD, "signals_child")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let results: BTreeMap<&str, &str> = stdout
        .lines()
        .filter_map(|l| l.split_once("signals:")?.1.split_once('='))
        .collect();
    assert!(
        out.status.success() && results.len() == 5,
        "the child ran in the sandbox: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(std::time::Duration::from_millis(100));
    for (what, pid) in [
        ("a process in plughub's group and session", sibling.id()),
        ("another sandbox's keeper", keeper),
        ("another sandbox's worker", other_worker),
    ] {
        assert_eq!(
            state(pid),
            'T',
            "{what} was woken by the worker's SIGCONT: {results:?}"
        );
    }
    // It leads a session and a group of its own, as the first process of its pid namespace.
    assert_eq!(
        (results["pid"], results["sid"], results["pgid"]),
        ("1", "1", "1"),
        "{results:?}"
    );
    // kill(0) reached its own group (itself); kill(-1) found nobody else it may signal.
    assert_eq!(results["group"], "ok", "{results:?}");
    assert_eq!(
        results["everyone"],
        format!("errno {}", libc::ESRCH),
        "{results:?}"
    );
    drop(stopped);
    sibling.wait().unwrap();
    other_keeper.wait().await.unwrap();
}
