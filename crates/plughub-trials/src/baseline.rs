//! The same version under plain npm, in the same run: `npm install --ignore-scripts` in a folder of its
//! own, then Node imports the package from there inside a network namespace with no route (`unshare
//! --net`), so that nothing a module does at import leaves the machine. Where no such namespace can be
//! made, the import is not tried and the baseline says so: a plain import could reach the network. The
//! import runs as nobody (util-linux's `setpriv`), never as the root that `unshare` needs: a module's
//! import-time code can then write nothing of plughub's or the machine's.

use crate::classify::first_lines;
use plughub_domain::trial::{Baseline, Reached};
use std::path::Path;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::process::Command;

/// How long plain npm may take to install one plugin, and Node to import it.
pub const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// What the import prints when it got through, so that a module that keeps Node alive after importing
/// (a timer, a server) still counts as loaded.
const LOADED: &str = "plughub-compat: loaded";

/// Installs `package@version` with npm from `registry` and imports it with `node` offline.
pub async fn baseline(node: &Path, registry: &str, package: &str, version: &str) -> Baseline {
    let started = Instant::now();
    let done = |reached: Reached, message: Option<String>| Baseline {
        reached,
        message,
        duration_ms: started.elapsed().as_millis() as i64,
    };
    let dir = match tempfile::Builder::new()
        .prefix("plughub-compat-npm-")
        .tempdir()
    {
        Ok(dir) => dir,
        Err(e) => return done(Reached::Nothing, Some(format!("no temporary folder: {e}"))),
    };
    // An empty package.json: npm installs into this folder, not into one above it.
    if let Err(e) = std::fs::write(dir.path().join("package.json"), "{\"private\":true}") {
        return done(
            Reached::Nothing,
            Some(format!("cannot write package.json: {e}")),
        );
    }
    let mut install = Command::new("npm");
    install
        .args(["install", "--ignore-scripts", "--no-audit", "--no-fund"])
        .arg("--registry")
        .arg(registry)
        .arg(format!("{package}@{version}"))
        .current_dir(dir.path());
    match output(&mut install, INSTALL_TIMEOUT).await {
        Ok((true, _)) => {}
        Ok((false, text)) => return done(Reached::Nothing, Some(first_lines(&text))),
        Err(why) => return done(Reached::Nothing, Some(why)),
    }
    let Some(setpriv) = setpriv() else {
        return done(
            Reached::Installed,
            Some("not imported: util-linux's setpriv is not on the PATH, and the import must not run as root".into()),
        );
    };
    if !offline_namespace() {
        return done(
            Reached::Installed,
            Some(
                "not imported: no network namespace can be made here (`unshare --net` needs root), and a plain import could reach the network".into(),
            ),
        );
    }
    let script = format!(
        "import({package:?}).then(() => {{ console.log({LOADED:?}); process.exit(0); }}, (e) => {{ console.error(e && e.stack ? e.stack : String(e)); process.exit(1); }});"
    );
    // Nobody reads the package's files: the folder is opened to others (the files are npm's, public).
    if let Err(e) = std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    ) {
        return done(Reached::Installed, Some(format!("not imported: {e}")));
    }
    let mut load = Command::new("unshare");
    load.arg("--net")
        .arg(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(node)
        .args(["--input-type=module", "-e", &script])
        .current_dir(dir.path());
    let reached = match output(&mut load, LOAD_TIMEOUT).await {
        Ok((_, text)) if text.contains(LOADED) => done(Reached::Loaded, None),
        Ok((_, text)) => done(Reached::Installed, Some(first_lines(&text))),
        Err(why) => done(Reached::Installed, Some(why)),
    };
    drop(dir);
    reached
}

/// util-linux's `setpriv` on the PATH.
fn setpriv() -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("setpriv"))
            .find(|candidate| candidate.is_file())
    })
}

/// Whether `unshare --net` works here (root, namespaces allowed): asked once.
pub fn offline_namespace() -> bool {
    static CAN: OnceLock<bool> = OnceLock::new();
    *CAN.get_or_init(|| {
        std::process::Command::new("unshare")
            .args(["--net", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Runs `command`: whether it succeeded, and its stdout then stderr; an error when it could not start
/// or took longer than `timeout` (it is killed then).
async fn output(command: &mut Command, timeout: Duration) -> Result<(bool, String), String> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let program = format!("{:?}", command.as_std().get_program());
    let child = command
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => Ok((
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )),
        Ok(Err(e)) => Err(format!("{program} failed: {e}")),
        Err(_) => Err(format!(
            "{program} did not finish within {} s",
            timeout.as_secs()
        )),
    }
}
