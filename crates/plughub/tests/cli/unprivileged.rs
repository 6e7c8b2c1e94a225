//! `plughub serve` started as root gives root up: the serving process is an ordinary account with no
//! capabilities, the sandbox helper alone runs as root (one thread, the capabilities sandboxes need and
//! no others), and a worker the server runs still gets every layer `plughub doctor` lists, seen from
//! outside in `/proc` and from inside by a hostile plugin run through the server's API.

use crate::common::*;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;

fn status(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default()
}

/// A field of a `/proc/<pid>/status` text, trimmed.
fn field(status: &str, name: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn children(pid: u32) -> Vec<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
                .flat_map(|c| {
                    c.split_whitespace()
                        .filter_map(|p| p.parse().ok())
                        .collect::<Vec<u32>>()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn capability(mask: &str, bit: u32) -> bool {
    u64::from_str_radix(mask, 16).unwrap() & (1 << bit) != 0
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_gives_up_root_and_its_workers_keep_every_layer() {
    assert_eq!(
        field(&status(std::process::id()), "Uid")
            .split_whitespace()
            .next(),
        Some("0"),
        "the tests run as root, as plughub serve is started"
    );
    let dir = tempfile::tempdir().unwrap();
    let client_dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    share_pnpm(&d).await;
    let hello_key = "hk-0c1d2e3f";
    hello_in_acme(&d, hello_key);
    let escape = plughub_testkit::fixture_plugin("plugin-escape");
    for args in [
        vec![
            "install",
            escape.to_str().unwrap(),
            "--org",
            "acme",
            "--accept-risk",
            "owner",
        ],
        vec!["grant", "@fixture/plugin-escape", "--org", "acme"],
        vec![
            "configure",
            "@fixture/plugin-escape",
            "--org",
            "acme",
            "ESCAPE_TOKEN=et-1",
        ],
    ] {
        ok(plughub(&d).args(&args));
    }
    let token = org_owner_token(&d, "owner@acme.test", "acme");

    // What doctor says of this machine: the split, and the layers a worker gets.
    let doctor: Value = serde_json::from_str(&ok(plughub(&d).args(["doctor", "--json"]))).unwrap();
    let split = &doctor["privilege_split"];
    assert_eq!(split["helper"]["uid"], 0, "{split}");
    assert_eq!(split["helper"]["threads"], 1, "{split}");
    assert!(split["why_not"].is_null(), "{split}");
    let layers: Vec<String> = doctor["sandboxed_worker"]["layers_in_force"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert!(layers.len() >= 8, "{layers:?}");

    let (server, addr) = serve(plughub(&d).args(["serve", "--listen", "127.0.0.1:0", "--no-sync"]));
    let server_pid = server.0.id();

    // The serving process: an ordinary account, every id, no capability, no way to gain one.
    let serving = status(server_pid);
    let account = split["serves_as"].as_str().unwrap();
    assert!(
        account.contains("65532") || account == "plughub",
        "{account}"
    );
    let uid = field(&serving, "Uid");
    let ids: Vec<&str> = uid.split_whitespace().collect();
    assert_eq!(ids.len(), 4, "{serving}");
    assert!(
        ids.iter().all(|id| *id == ids[0] && *id != "0"),
        "{serving}"
    );
    assert!(
        field(&serving, "Gid")
            .split_whitespace()
            .all(|id| id != "0")
    );
    assert_eq!(field(&serving, "Groups"), "", "{serving}");
    for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(field(&serving, set), "0000000000000000", "{set}: {serving}");
    }
    assert_eq!(field(&serving, "NoNewPrivs"), "1");
    // Its store is the account's.
    let served_uid: u32 = ids[0].parse().unwrap();
    assert_eq!(
        std::fs::metadata(d.join("plughub.db")).unwrap().uid(),
        served_uid
    );

    // The helper: its child, root, one thread, the capabilities sandboxes need and not the others.
    let helper = children(server_pid)
        .into_iter()
        .find(|p| comm(*p) == "plughub-sandbox")
        .expect("the sandbox helper is the server's child");
    let helping = status(helper);
    assert!(field(&helping, "Uid").starts_with("0\t"), "{helping}");
    assert_eq!(field(&helping, "Threads"), "1");
    let effective = field(&helping, "CapEff");
    let bounding = field(&helping, "CapBnd");
    // CAP_SYS_ADMIN kept; CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_MODULE, CAP_SYS_BOOT, CAP_SETPCAP gone,
    // from the bounding set too.
    assert!(capability(&effective, 21), "{effective}");
    for gone in [12, 13, 16, 22, 8] {
        assert!(!capability(&effective, gone), "{gone}: {effective}");
        assert!(!capability(&bounding, gone), "{gone}: {bounding}");
    }

    // Plugins run through the server, and the hostile one is held.
    let url = format!("http://{addr}");
    let client = || {
        let mut cmd = plughub(client_dir.path());
        cmd.args(["--server", &url, "--token", &token]);
        cmd
    };
    let hello = ok(client().args([
        "run",
        "@fixture/plugin-hello",
        "HELLO",
        "--org",
        "acme",
        "--text",
        "Ada",
    ]));
    assert!(hello.contains("Ada"), "{hello}");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let store_file = d.join("plughub.db").display().to_string();
    for (action, target) in [
        ("READ_FILE", "/etc/shadow"),
        ("READ_FILE", store_file.as_str()),
        ("LIST_DIR", "/root"),
        ("WRITE_FILE", "/usr/escaped"),
        ("SPAWN", ""),
        ("CONNECT", port.as_str()),
        ("WHOAMI", ""),
    ] {
        let out = run(client().args([
            "run",
            "@fixture/plugin-escape",
            action,
            "--org",
            "acme",
            "--text",
            target,
            "--timeout",
            "20",
            "--json",
        ]));
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            !out.status.success() || said.contains("blocked:"),
            "{action} {target}: {said}"
        );
        assert!(!said.contains("ESCAPED"), "{action} {target}: {said}");
        assert!(!said.contains(hello_key), "{action} {target}: {said}");
    }
    assert!(listener.accept().is_err(), "the listener saw no connection");
    assert!(!std::path::Path::new("/usr/escaped").exists());

    // The workers the server runs, seen from outside: the helper's children are the keepers, each
    // keeper's child is Node. Those given a plugin have one mounted at /plughub/package.
    let workers: Vec<u32> = children(helper)
        .into_iter()
        .flat_map(children)
        .filter(|w| {
            std::fs::read_to_string(format!("/proc/{w}/mountinfo"))
                .is_ok_and(|m| m.contains(" /plughub/package "))
        })
        .collect();
    assert!(!workers.is_empty(), "the warm workers of hello and escape");
    let own = |ns: &str| std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
    let fds = |pid: u32| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .collect()
    };
    let helper_sockets: Vec<_> = fds(helper)
        .into_iter()
        .filter(|f| f.to_string_lossy().starts_with("socket:"))
        .collect();
    assert!(!helper_sockets.is_empty());
    for worker in workers {
        // Nothing of the helper's reaches a worker: not its socket to the server.
        let held = fds(worker);
        assert!(
            !held.iter().any(|f| helper_sockets.contains(f)),
            "{worker} holds {held:?}, the helper {helper_sockets:?}"
        );
        // The server reads a worker's memory (recycling by growth) as the account it serves as.
        let as_account = Command::new("setpriv")
            .args([
                "--reuid",
                ids[0],
                "--regid",
                ids[0],
                "--clear-groups",
                "cat",
            ])
            .arg(format!("/proc/{worker}/statm"))
            .output()
            .unwrap();
        assert!(
            as_account.status.success() && !as_account.stdout.is_empty(),
            "{}",
            text(&as_account.stderr)
        );
        let st = status(worker);
        let mountinfo = std::fs::read_to_string(format!("/proc/{worker}/mountinfo")).unwrap();
        let limits = std::fs::read_to_string(format!("/proc/{worker}/limits")).unwrap();
        let cmdline = std::fs::read_to_string(format!("/proc/{worker}/cmdline")).unwrap();
        for layer in &layers {
            let kind = layer.split([':', ' ']).next().unwrap();
            match kind {
                "namespaces" => {
                    for ns in ["user", "pid", "mnt", "net", "ipc", "uts"] {
                        let theirs = std::fs::read_link(format!("/proc/{worker}/ns/{ns}")).unwrap();
                        assert_ne!(theirs, own(ns), "{ns} of {worker}");
                    }
                }
                "a" => {
                    // Its own session (from outside, the session id is its own pid).
                    let stat = std::fs::read_to_string(format!("/proc/{worker}/stat")).unwrap();
                    let after = &stat[stat.rfind(')').unwrap() + 2..];
                    let session: u32 = after.split_whitespace().nth(3).unwrap().parse().unwrap();
                    assert_eq!(session, worker, "{layer}");
                }
                "root" => {
                    let root = mountinfo.lines().find(|l| l.split(' ').nth(4) == Some("/"));
                    assert!(root.is_some_and(|l| l.contains(" - tmpfs ")), "{mountinfo}");
                    let package = mountinfo
                        .lines()
                        .find(|l| l.split(' ').nth(4) == Some("/plughub/package"))
                        .unwrap();
                    assert!(
                        package.split(' ').nth(5).unwrap().starts_with("ro"),
                        "{package}"
                    );
                }
                "uid" => {
                    let uid: u32 = field(&st, "Uid")
                        .split_whitespace()
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert!(uid >= 3_000_000, "{st}");
                    assert_eq!(field(&st, "Groups"), "");
                    assert_eq!(field(&st, "NoNewPrivs"), "1");
                    assert_eq!(field(&st, "CapEff"), "0000000000000000");
                }
                "rlimits" => {
                    let open_files = limits
                        .lines()
                        .find(|l| l.starts_with("Max open files"))
                        .unwrap();
                    assert!(open_files.contains("8192"), "{limits}");
                    let core = limits
                        .lines()
                        .find(|l| l.starts_with("Max core file size"))
                        .unwrap();
                    assert!(core.split_whitespace().nth(4) == Some("0"), "{limits}");
                }
                "cgroup" => {
                    let cgroup = std::fs::read_to_string(format!("/proc/{worker}/cgroup")).unwrap();
                    assert!(cgroup.contains("/w-"), "{cgroup}");
                }
                "Landlock" => {
                    // Not shown in /proc; the attempts above met it (and Node's model) from inside.
                    assert!(layer.contains("executes Node only"), "{layer}");
                }
                "seccomp" => assert_eq!(field(&st, "Seccomp"), "2", "{st}"),
                "Node" => assert!(cmdline.contains("permission"), "{cmdline}"),
                other => panic!("a layer this test does not know: {other} ({layer})"),
            }
        }
    }
    drop(server);
}

/// A PostgreSQL URL without a password takes it from root's password file, which the account served as
/// cannot read where it is (root's home is closed): the server keeps an owner-only copy of its own and
/// reads that at every new connection, with no warning of a file it cannot open.
#[tokio::test(flavor = "multi_thread")]
async fn the_server_reads_roots_postgres_password_file_as_its_own_copy() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let home = dir.path().join("root-home");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let passwords = "127.0.0.1:*:*:postgres:not-needed-under-trust\n";
    std::fs::write(home.join(".pgpass"), passwords).unwrap();
    std::fs::set_permissions(home.join(".pgpass"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let name = format!("plughub_pgpass_{}", std::process::id());
    let url = plughub_testkit::fresh_postgres_database(&name).await;
    let stderr = dir.path().join("stderr");
    let mut child = plughub(&d)
        .args([
            "--database-url",
            &url,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-sync",
        ])
        .env("HOME", &home)
        .env_remove("PGPASSFILE")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = Server(child);
    let addr = line.trim().rsplit("http://").next().unwrap().to_string();
    // Requests at once and together: the pool opens new connections for them.
    let gets: Vec<_> = (0..6)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || http_get(&addr, "/api/plugins?per_page=1").0)
        })
        .collect();
    for get in gets {
        assert_eq!(get.join().unwrap(), 200);
    }
    let copy = d.join("run/pgpass");
    let meta = std::fs::metadata(&copy).unwrap();
    assert_eq!(
        meta.uid(),
        status_uid(server.0.id()),
        "the copy is the account's"
    );
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), passwords);
    drop(server);
    let log = std::fs::read_to_string(&stderr).unwrap();
    assert!(log.contains("password file copied"), "{log}");
    assert!(!log.contains("pgpass` file"), "{log}");
}

fn status_uid(pid: u32) -> u32 {
    field(&status(pid), "Uid")
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}
