//! What the sandbox's grants lift, and what they leave in force: the open-files limit sized for real
//! plugins still refuses past it; `native.addons` lets native code load, and that code still meets every
//! OS layer; `process.spawn` lets the worker execute the programs granted and no other, and what they run
//! stays in the sandbox. Without a grant, the refusal names the permission to grant.

use crate::common::*;
use plughub_engine::SandboxPolicy;
use std::net::TcpListener;
use std::path::Path;

fn boxed(package_dir: &Path, run: &Path, policy: SandboxPolicy) -> PluginSpec {
    let mut spec = spec("plugin-escape", run, &[]);
    spec.worker.package_dir = package_dir.to_path_buf();
    spec.worker.sandbox = Some(SandboxPolicy {
        memory_mb: 256,
        scratch_mb: 16,
        ..policy
    });
    spec.worker.memory_mb = None;
    spec
}

async fn run(plugin: &LoadedPlugin, action: &str, text: &str) -> Result<String, String> {
    plugin
        .invoke_action(action, message(text, "agent-1"), SECOND * 20, None)
        .await
        .map(|done| done.result["text"].as_str().unwrap_or_default().to_string())
        .map_err(|e| e.to_string())
}

/// A listener on loopback that counts the connections it sees (none, when the sandbox holds).
fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_open_files_limit_fits_real_plugins_and_still_holds() {
    let run_dir = tempfile::tempdir().unwrap();
    let policy = SandboxPolicy::default();
    // plugin-evm needs 983 at load (see SandboxPolicy::max_open_files): the default fits it.
    assert!(
        policy.max_open_files >= 983 * 4,
        "{}",
        policy.max_open_files
    );
    let limit = policy.max_open_files;
    let plugin = LoadedPlugin::load(
        &boxed(&fixture("plugin-escape"), run_dir.path(), policy),
        Arc::new(LocalRuntime::default()),
    )
    .await
    .unwrap();
    assert!(
        plugin
            .worker()
            .log()
            .iter()
            .any(|l| l.text.contains(&format!("{limit} open files"))),
        "the log says the limit in force"
    );
    let fits = run(&plugin, "OPEN_FILES", "1000").await.unwrap();
    assert_eq!(fits, "1000 opened");
    let past = run(&plugin, "OPEN_FILES", &(limit + 100).to_string())
        .await
        .unwrap();
    println!("past the limit: {past}");
    let (opened, refusal) = past.split_once(" opened, then ").expect(&past);
    assert_eq!(refusal, "EMFILE", "{past}");
    // What Node itself holds open (its own descriptors, the socket, the log pipes) comes off the limit.
    let opened: u64 = opened.parse().unwrap();
    assert!(opened < limit && opened > limit - 64, "{past}");
}

/// Builds the escape fixture's addon into a copy of the fixture; `None` (the test is skipped) without a
/// C compiler.
fn escape_with_addon(dir: &Path) -> Option<PathBuf> {
    let source = fixture("plugin-escape");
    for file in ["package.json", "index.js", "escape-addon.c"] {
        std::fs::copy(source.join(file), dir.join(file)).unwrap();
    }
    let addon = dir.join("escape.node");
    let built = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&addon)
        .arg(dir.join("escape-addon.c"))
        .status();
    match built {
        Ok(status) if status.success() => Some(addon),
        other => {
            println!(
                "SKIPPED native addon: no C compiler to build the fixture's addon ({other:?})"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_granted_addon_loads_and_its_native_code_meets_every_os_layer() {
    let package = tempfile::tempdir().unwrap();
    let Some(addon) = escape_with_addon(package.path()) else {
        return;
    };
    let run_dir = tempfile::tempdir().unwrap();
    let runtime = Arc::new(LocalRuntime::default());
    let (listener, port) = listener();
    // The addon as the worker sees it: its package is mounted at the sandbox's package mount point.
    let addon = Path::new(plughub_sandbox::PACKAGE_MOUNT).join(addon.file_name().unwrap());
    let text = format!("{} {port}", addon.display());

    // Not granted: Node's addon gate refuses it, and the error names the grant.
    let plugin = LoadedPlugin::load(
        &boxed(package.path(), run_dir.path(), SandboxPolicy::default()),
        runtime.clone(),
    )
    .await
    .unwrap();
    let refused = run(&plugin, "ADDON", &text).await.unwrap_err();
    assert!(
        refused.contains("loading addons is disabled")
            && refused.contains("grants it native.addons"),
        "{refused}"
    );

    // Granted: it loads, and its native code, beneath Node's permission model, is held by the OS layers.
    let granted = SandboxPolicy {
        native_addons: true,
        ..SandboxPolicy::default()
    };
    let plugin = LoadedPlugin::load(&boxed(package.path(), run_dir.path(), granted), runtime)
        .await
        .unwrap();
    let met = run(&plugin, "ADDON", &text).await.unwrap();
    println!("the addon's native code met: {met}");
    assert!(met.starts_with("write: "), "the addon ran: {met}");
    assert!(!met.contains("ESCAPED"), "{met}");
    assert!(
        listener.accept().is_err(),
        "the loopback listener saw no connection"
    );
    assert!(!Path::new("/usr/escaped-addon").exists());
    // The rest of the battery, with the gate lifted.
    let scratch = run(&plugin, "WRITE_SCRATCH", "").await.unwrap();
    assert_eq!(scratch, "ESCAPED: fine", "its scratch directory works");
    for (action, text) in [
        ("READ_FILE", "/etc/shadow"),
        ("WRITE_FILE", "/usr/escaped"),
        ("SPAWN", ""),
        ("CONNECT", &port.to_string()),
    ] {
        let answer = run(&plugin, action, text).await.unwrap();
        assert!(answer.starts_with("blocked:"), "{action}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn granted_programs_run_in_the_sandbox_and_no_other() {
    let run_dir = tempfile::tempdir().unwrap();
    let runtime = Arc::new(LocalRuntime::default());
    let package = fixture("plugin-escape");
    let id = std::fs::canonicalize("/usr/bin/id").unwrap();
    let node = std::env::var_os("PLUGHUB_NODE").map_or_else(
        || {
            std::env::split_paths(&std::env::var_os("PATH").unwrap())
                .map(|dir| dir.join("node"))
                .find(|p| p.is_file())
                .expect("node is on the PATH")
        },
        PathBuf::from,
    );
    let (listener, port) = listener();

    // Not granted: Node refuses to start a child, and the error names the grant.
    let plugin = LoadedPlugin::load(
        &boxed(&package, run_dir.path(), SandboxPolicy::default()),
        runtime.clone(),
    )
    .await
    .unwrap();
    let refused = run(&plugin, "RUN_PROGRAM", &id.display().to_string())
        .await
        .unwrap_err();
    assert!(
        refused.contains("ERR_ACCESS_DENIED: ChildProcess")
            && refused.contains("grants it process.spawn"),
        "{refused}"
    );

    let granted = SandboxPolicy {
        programs: vec![id.clone()],
        ..SandboxPolicy::default()
    };
    let plugin = LoadedPlugin::load(&boxed(&package, run_dir.path(), granted), runtime)
        .await
        .unwrap();
    assert!(
        plugin.worker().log().iter().any(|l| l
            .text
            .contains(&format!("executes Node and {} only", id.display()))),
        "{:?}",
        plugin.worker().log()
    );
    // The program runs, as the worker's unmapped user (the overflow uid), never root.
    let uid = run(&plugin, "RUN_PROGRAM", &format!("{} -u", id.display()))
        .await
        .unwrap();
    assert_eq!(uid, "65534");
    // Another program is not executed (Landlock), nor a shell, nor a copy written to the scratch.
    let whoami = std::fs::canonicalize("/usr/bin/whoami").unwrap();
    let other = run(&plugin, "RUN_PROGRAM", &whoami.display().to_string())
        .await
        .unwrap_err();
    assert!(
        other.contains("EACCES") && other.contains("process.spawn grant does not name"),
        "{other}"
    );
    for action in ["SPAWN", "EXEC_SCRATCH"] {
        let answer = run(&plugin, action, "").await.unwrap();
        assert!(answer.starts_with("blocked:"), "{action}: {answer}");
    }
    // A child outside Node's permission model (Node itself, run bare) is still held by the OS layers.
    for code in [
        format!(
            "require('net').connect({port},'127.0.0.1').on('error',e=>console.log('blocked:'+e.code)).on('connect',()=>console.log('ESCAPED'))"
        ),
        "try{require('fs').writeFileSync('/usr/escaped-child','x');console.log('ESCAPED')}catch(e){console.log('blocked:'+e.code)}".to_string(),
    ] {
        let answer = run(&plugin, "RUN_PROGRAM", &format!("{} -e {code}", node.display()))
            .await
            .unwrap();
        println!("a bare Node child: {answer}");
        assert!(answer.starts_with("blocked:"), "{code}: {answer}");
    }
    assert!(
        listener.accept().is_err(),
        "the loopback listener saw no connection"
    );
    assert!(!Path::new("/usr/escaped-child").exists());
}
