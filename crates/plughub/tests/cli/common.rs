//! What the binary's tests share: the binary with every source on loopback, and a small HTTP client.

pub use plughub_testkit::http::{LoopbackNpm, closed_port_url, packument};
pub use plughub_testkit::registry_snapshot_dir;
pub use serde_json::Value;
pub use std::io::{BufRead, BufReader, Read, Write};
pub use std::net::TcpStream;
pub use std::process::{Child, Command, Output, Stdio};
pub use std::time::{Duration, Instant};

pub fn plughub(data_dir: &std::path::Path) -> Command {
    open_to_the_server(data_dir);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plughub"));
    cmd.arg("--data-dir").arg(data_dir);
    // Every source a test could reach is on loopback.
    cmd.env(
        "PLUGHUB_REGISTRY_URL",
        closed_port_url("generated-registry.json"),
    );
    cmd.env("NPM_CONFIG_REGISTRY", closed_port_url(""));
    cmd.env_remove("PLUGHUB_DATABASE_URL");
    cmd
}

/// `plughub serve`, started as root as the tests run, serves as an ordinary account, which must be
/// able to reach the data directory: the temporary folders above it, made owner-only, let others
/// through (to search, not to list).
fn open_to_the_server(data_dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let temp = std::env::temp_dir();
    for folder in data_dir
        .ancestors()
        .filter(|f| f.starts_with(&temp) && *f != temp)
    {
        if let Ok(meta) = std::fs::metadata(folder) {
            let mode = meta.permissions().mode();
            if mode & 0o001 == 0 {
                let _ =
                    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(mode | 0o711));
            }
        }
    }
}

/// Runs `cmd`, which must succeed, and gives its stdout.
pub fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run plughub")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn http_get(addr: &str, path: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::String(body.to_string())),
    )
}

pub struct Server(pub Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_server(data_dir: &std::path::Path) -> (Server, String) {
    serve(plughub(data_dir).args(["serve", "--listen", "127.0.0.1:0"]))
}

/// Starts `plughub serve` as `cmd` says, and waits for the address it listens on. It is started in a
/// folder that the account it serves as can read but not reach, beneath one closed to it (as a checkout
/// in root's home is): the programs it runs (pnpm) must not be left there.
pub fn serve(cmd: &mut Command) -> (Server, String) {
    static CLOSED: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let closed = CLOSED.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let inside = dir.path().join("checkout");
        std::fs::create_dir(&inside).unwrap();
        std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    });
    let mut child = cmd
        .current_dir(closed.path().join("checkout"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_string();
    assert!(line.contains("listening"), "{line}");
    (Server(child), addr)
}

/// pnpm for the binary under test: its npm points at loopback, so pnpm is installed once for the tests
/// (with npm, from the user's npm configuration) and copied into each data directory.
pub async fn share_pnpm(data_dir: &std::path::Path) {
    static ONCE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let shared = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tools");
    {
        let _one = ONCE.lock().await;
        let store = tempfile::tempdir().unwrap();
        plughub_install::DependencyInstaller::locate(
            &shared,
            store.path().to_path_buf(),
            &closed_port_url(""),
        )
        .await
        .expect("pnpm for the tests");
    }
    let packages = data_dir.join("packages");
    std::fs::create_dir_all(&packages).unwrap();
    // Copied, not linked: a server serves as an account that may not reach the target folder.
    if shared.exists() && !packages.join("tools").exists() {
        let copied = Command::new("cp")
            .arg("-a")
            .arg(&shared)
            .arg(packages.join("tools"))
            .status()
            .unwrap();
        assert!(copied.success(), "copying pnpm into {}", packages.display());
    }
}

/// The store of a data directory, opened as the binary opens it.
pub async fn store_of(data_dir: &std::path::Path) -> plughub_store::Store {
    plughub_store::Store::open(&plughub_store::Location::DataDir(data_dir.to_path_buf()))
        .await
        .unwrap()
}

/// The executions a store recorded (`plugin_action_executed`), in the order they happened.
pub async fn executions(store: &plughub_store::Store) -> Vec<plughub_domain::StoredEvent> {
    store
        .events(&plughub_store::EventFilter {
            event_type: Some(plughub_domain::EventType::PluginActionExecuted),
            ..Default::default()
        })
        .await
        .unwrap()
}

/// Organisation `acme` with the hello fixture installed and its required key set to `key`.
pub fn hello_in_acme(data_dir: &std::path::Path, key: &str) {
    hello_in(|| plughub(data_dir), "acme", key);
}

/// Organisation `org` made on the store `cmd` opens, with the hello fixture installed (granted) and its
/// required key set to `key`.
pub fn hello_in(cmd: impl Fn() -> Command, org: &str, key: &str) {
    let hello = plughub_testkit::fixture_plugin("plugin-hello");
    let setting = format!("HELLO_API_KEY={key}");
    for args in [
        vec!["admin", "create-org", org],
        vec!["install", hello.to_str().unwrap(), "--org", org, "--grant"],
        vec!["configure", "@fixture/plugin-hello", "--org", org, &setting],
    ] {
        let out = run(cmd().args(&args));
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
}

/// Makes `email` an org_owner of `org` (which must exist) with an API token, and gives the token.
pub fn org_owner_token(data_dir: &std::path::Path, email: &str, org: &str) -> String {
    ok(plughub(data_dir).args([
        "admin",
        "create-user",
        email,
        "--org",
        org,
        "--role",
        "org_owner",
    ]));
    let made: Value = serde_json::from_str(&ok(plughub(data_dir).args([
        "admin",
        "create-token",
        email,
        "--json",
    ])))
    .unwrap();
    made["token"].as_str().unwrap().to_string()
}

/// The registry of the npm configuration: where an author's `npm install` gets the build's packages.
pub fn npm_registry() -> String {
    let out = Command::new("npm")
        .args(["config", "get", "registry"])
        .output()
        .expect("npm is installed");
    text(&out.stdout).trim().to_string()
}

/// What an author does after `plughub dev init`: `npm install` from the npm configuration's registry
/// (one npm cache for the test runs, under the target folder) and `npm run build`.
pub fn npm_install_and_build(dir: &std::path::Path) {
    let registry = npm_registry();
    let cache = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("npm-cache");
    let started = Instant::now();
    for args in [
        vec![
            "install",
            "--no-audit",
            "--no-fund",
            "--prefer-offline",
            "--registry",
            &registry,
            "--cache",
            cache.to_str().unwrap(),
        ],
        vec!["run", "build"],
    ] {
        let out = Command::new("npm")
            .args(&args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "npm {args:?}: {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    eprintln!("npm install and build took {:?}", started.elapsed());
}

/// Whether the registry of the npm configuration serves `package`; when not, prints why the live test
/// calling it is SKIPPED (it then returns).
pub fn npm_serves(package: &str) -> bool {
    match Command::new("npm")
        .args(["view", package, "version"])
        .output()
    {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            println!(
                "SKIPPED {package}: npm cannot reach a registry serving it: {}",
                text(&out.stderr).trim()
            );
            false
        }
        Err(e) => {
            println!("SKIPPED {package}: cannot run npm ({e})");
            false
        }
    }
}

/// One run of acme's hello fixture (agent a1) through `addr`'s API; `Err` when no HTTP answer came (the connection refused or closed).
pub fn post_hello(addr: &str, token: &str, text: &str) -> std::io::Result<u16> {
    let body = serde_json::json!({ "action": "HELLO", "text": text, "agent": "a1" }).to_string();
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "POST /api/orgs/acme/plugins/@fixture%2Fplugin-hello/run HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    raw.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no HTTP answer: {raw:?}")))
}
