//! Workers booted before they have a plugin (a pool's, booted ahead of need): what one can read before
//! and after it is given a package, seen from the host (its root through `/proc/PID/root`, its mounts)
//! and from the plugin inside it; its CPU priority; and a pool handing one booted for one plugin to
//! another.

use crate::common::*;
use plughub_engine::{Booted, SandboxPolicy, Urgency, Worker, WorkerPool};

fn sandboxed(name: &str, run: &std::path::Path) -> PluginSpec {
    let mut spec = spec(name, run, &[("HELLO_API_KEY", "k")]);
    spec.worker.sandbox = Some(SandboxPolicy {
        memory_mb: 256,
        scratch_mb: 16,
        ..SandboxPolicy::default()
    });
    spec.worker.memory_mb = None;
    spec
}

/// `path` (absolute, as the host names it) inside the root of process `pid`.
fn in_root(pid: u32, path: &std::path::Path) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/root")).join(path.strip_prefix("/").unwrap())
}

/// The nice value of every thread of `pid`.
fn nice_values(pid: u32) -> Vec<i64> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            // After the parenthesised name: state is field 3; nice is field 19.
            stat[stat.rfind(')')? + 2..]
                .split(' ')
                .nth(16)?
                .parse()
                .ok()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_booted_worker_reads_no_package_before_it_is_given_one_and_only_its_own_after() {
    let run = tempfile::tempdir().unwrap();
    let spec = sandboxed("plugin-escape", run.path());
    let own = fixture("plugin-escape");
    let other = fixture("plugin-hello");
    let booted = Booted::boot(&spec.worker.boot(), Urgency::Ahead)
        .await
        .unwrap();
    let pid = booted.pid();

    // Before: the mount point is empty, and no package of the host's is in its root or its mounts.
    let mount_point = in_root(pid, std::path::Path::new(plughub_sandbox::PACKAGE_MOUNT));
    assert_eq!(
        std::fs::read_dir(&mount_point).unwrap().count(),
        0,
        "nothing is mounted for a worker without a plugin"
    );
    for package in [&own, &other] {
        assert!(
            !in_root(pid, package).exists(),
            "{} is not in its root",
            package.display()
        );
    }
    let fixtures = own.parent().unwrap().display().to_string();
    let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    assert!(!mounts.contains(&fixtures), "no package mounted: {mounts}");
    // Booted ahead of need: at the lowest priority until it is given a plugin.
    assert!(
        nice_values(pid).iter().all(|n| *n == 19),
        "{:?}",
        nice_values(pid)
    );

    let runtime = Arc::new(LocalRuntime::default());
    let worker = Worker::assign(booted, &spec.worker, runtime).await.unwrap();
    assert_eq!(worker.pid(), pid);
    let plugin = LoadedPlugin::init(worker, &spec).await.unwrap();

    // After: its own package at the mount point, read-only; still no other package.
    assert_eq!(
        std::fs::read_to_string(mount_point.join("package.json")).unwrap(),
        std::fs::read_to_string(own.join("package.json")).unwrap()
    );
    assert!(!in_root(pid, &other).exists());
    let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    let package_mount = mounts
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(plughub_sandbox::PACKAGE_MOUNT))
        .unwrap_or_else(|| panic!("the package is mounted: {mounts}"));
    assert!(
        package_mount.split(' ').nth(5).unwrap().starts_with("ro,"),
        "read-only: {package_mount}"
    );
    assert!(
        nice_values(pid).iter().all(|n| *n == 0),
        "{:?}",
        nice_values(pid)
    );

    // And from inside: its own package reads, another's does not, and the mount point holds one.
    let own_manifest = format!("{}/package.json", plughub_sandbox::PACKAGE_MOUNT);
    let read = attempt(&plugin, "READ_FILE", &own_manifest).await;
    assert!(read.contains("plugin-escape"), "{read}");
    let other_manifest = other.join("package.json").display().to_string();
    let read = attempt(&plugin, "READ_FILE", &other_manifest).await;
    assert!(read.starts_with("blocked"), "{read}");
    let listed = attempt(&plugin, "LIST_DIR", plughub_sandbox::PACKAGE_MOUNT).await;
    assert!(listed.contains("package.json"), "{listed}");
    let written = attempt(&plugin, "WRITE_FILE", &own_manifest).await;
    assert!(written.starts_with("blocked"), "{written}");
    let log = plugin.worker().log();
    assert!(
        log.iter()
            .any(|l| l.stream == "plughub" && l.text.contains("ahead of need")),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pool_boots_ahead_and_its_workers_serve_any_plugin_under_the_same_limits() {
    let run = tempfile::tempdir().unwrap();
    let pool = WorkerPool::new(1, Duration::from_secs(60));
    let runtime = Arc::new(LocalRuntime::default());
    let mut first = sandboxed("plugin-escape", run.path());
    first.worker.pool = Some(pool.clone());
    let mut second = sandboxed("plugin-hello", run.path());
    second.worker.pool = Some(pool.clone());

    // The pool has nothing yet: the first boots now, and the pool boots one ahead for these limits.
    let escape = LoadedPlugin::load(&first, runtime.clone()).await.unwrap();
    assert!(
        !escape
            .worker()
            .log()
            .iter()
            .any(|l| l.text.contains("ahead of need"))
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while pool.booted() < 1 {
        assert!(std::time::Instant::now() < deadline, "the pool boots one");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Another plugin under the same limits gets it, and loads in it.
    let hello = LoadedPlugin::load(&second, runtime.clone()).await.unwrap();
    let log = hello.worker().log();
    assert!(
        log.iter().any(|l| l.text.contains("ahead of need")),
        "{log:?}"
    );
    assert!(hello.manifest().actions.iter().any(|a| a.name == "HELLO"));
    let read = attempt(
        &escape,
        "READ_FILE",
        &format!("/proc/{}/root", hello.worker().pid()),
    )
    .await;
    assert!(
        read.starts_with("blocked"),
        "one worker cannot look into another: {read}"
    );

    // Other limits are other workers: none kept for them yet.
    let mut bigger = sandboxed("plugin-hello", run.path());
    bigger.worker.sandbox.as_mut().unwrap().memory_mb = 300;
    bigger.worker.pool = Some(pool.clone());
    let other = LoadedPlugin::load(&bigger, runtime.clone()).await.unwrap();
    assert!(
        !other
            .worker()
            .log()
            .iter()
            .any(|l| l.text.contains("ahead of need"))
    );
    pool.clear();
    assert_eq!(pool.booted(), 0);
}
