//! Live: a real plugin from the npm registry of this machine's npm configuration that needs a grant the
//! sandbox added: `@elizaos/plugin-local-ai`'s dependencies bring compiled addons, so it asks for
//! native.addons, does not start without it, and an org owner grants it; process.spawn is granted by
//! program, fixed to a real path. (It is run, with and without the grant, by the engine's live tests: here
//! it also asks for domains, which a test never grants.) Skipped, with the reason printed, when npm
//! cannot reach a registry.

use crate::common::*;
use std::path::Path;

fn plughub_live(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plughub"));
    cmd.arg("--data-dir").arg(data_dir);
    cmd.env_remove("NPM_CONFIG_REGISTRY")
        .env_remove("PLUGHUB_DATABASE_URL")
        .env_remove("PLUGHUB_SANDBOX")
        .env(
            "PLUGHUB_REGISTRY_URL",
            closed_port_url("generated-registry.json"),
        );
    cmd
}

fn ok_live(d: &Path, args: &[&str]) -> String {
    let out = run(plughub_live(d).args(args));
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn plugin_local_ai_asks_for_native_addons_and_an_owner_grants_it() {
    let plugin = "@elizaos/plugin-local-ai";
    if !npm_serves(plugin) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok_live(d, &["admin", "create-org", "live"]);
    ok_live(d, &["install", plugin, "--org", "live", "--core", "v1"]);
    let permissions = |d: &Path| -> Value {
        serde_json::from_str(&ok_live(
            d,
            &["permissions", plugin, "--org", "live", "--json"],
        ))
        .unwrap()
    };
    let view = permissions(d);
    assert_eq!(
        view["requested"]["native.addons"], true,
        "its dependencies brought compiled addons (node-llama-cpp's): {view}"
    );
    // Asked for and not granted, it does not start: the refusal names the permission to grant. (Started
    // anyway, Node's addon gate stops it with the same advice: see the engine's live tests.)
    ok_live(
        d,
        &[
            "configure",
            plugin,
            "--org",
            "live",
            "CACHE_DIR=/tmp/cache",
            "MODELS_DIR=/tmp/models",
        ],
    );
    let out = run(plughub_live(d).args(["inspect", plugin, "--org", "live"]));
    let refused = text(&out.stderr);
    assert!(!out.status.success(), "{refused}");
    assert!(refused.contains("native.addons"), "{refused}");
    ok_live(
        d,
        &[
            "grant",
            plugin,
            "--org",
            "live",
            "--permission",
            "native.addons",
        ],
    );
    let view = permissions(d);
    assert_eq!(view["granted"]["native.addons"], true, "{view}");
    assert!(view["missing"].get("native.addons").is_none(), "{view}");

    // process.spawn is granted by program, fixed to its real path on this machine when granted.
    let out = run(plughub_live(d).args([
        "grant",
        plugin,
        "--org",
        "live",
        "--permission",
        "process.spawn",
    ]));
    assert!(
        text(&out.stderr).contains("--program"),
        "{}",
        text(&out.stderr)
    );
    ok_live(d, &["grant", plugin, "--org", "live", "--program", "id"]);
    let id = std::fs::canonicalize("/usr/bin/id").unwrap();
    let view = permissions(d);
    assert_eq!(
        view["granted"]["process.spawn"],
        serde_json::json!([id.display().to_string()]),
        "{view}"
    );
    let script = d.join("run-me");
    std::fs::write(&script, "#!/bin/sh\ntrue\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = script.display().to_string();
    for (program, says) in [
        (script.as_str(), "is a script: grant the program it starts"),
        (
            "no-such-program-here",
            "no such program on this machine's PATH",
        ),
        ("../bin/sh", "not a program name or an absolute path"),
    ] {
        let out =
            run(plughub_live(d).args(["grant", plugin, "--org", "live", "--program", program]));
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains(says),
            "{program}: {}",
            text(&out.stderr)
        );
    }
    ok_live(d, &["revoke", plugin, "--org", "live", "--program", "id"]);
    assert!(permissions(d)["granted"].get("process.spawn").is_none());
}
