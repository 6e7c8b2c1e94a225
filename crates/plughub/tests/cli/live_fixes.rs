//! Live: the real plugins that showed each install fault, installed through the binary from the npm
//! registry of this machine's npm configuration, then loaded and initialised offline. Skipped, with the
//! reason printed, when npm cannot reach a registry or the registry does not serve the plugin.

use crate::common::*;
use crate::live_install::plughub_live;

/// A data directory with an organisation `live`.
fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = run(plughub_live(dir.path()).args(["admin", "create-org", "live"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir
}

/// Installs `args` (a plugin and flags) into `live`; the install record.
fn install(d: &std::path::Path, args: &[&str]) -> Value {
    let out = run(plughub_live(d)
        .arg("install")
        .args(args)
        .args(["--org", "live", "--json"]));
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["state"], "INSTALLED", "{record}");
    record
}

fn package_dir(d: &std::path::Path, record: &Value) -> std::path::PathBuf {
    d.join("packages/pkgs")
        .join(record["package"].as_str().unwrap())
}

/// The version of `dependency` that Node.js resolves from the folder of `package` (a package folder
/// under `from`'s node_modules), and the version of `package` itself.
fn resolved_from(from: &std::path::Path, package: &str, dependency: &str) -> (String, String) {
    let script = format!(
        "const {{ createRequire }} = require('node:module'); const fs = require('node:fs');\
         const own = createRequire({from:?} + '/package.json').resolve({package:?} + '/package.json');\
         const dep = createRequire(fs.realpathSync(own)).resolve({dependency:?} + '/package.json');\
         console.log(require(own).version + ' ' + require(dep).version);",
        from = from.display().to_string()
    );
    let out = Command::new("node").args(["-e", &script]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    let (own, dep) = line.trim().split_once(' ').unwrap();
    (own.to_string(), dep.to_string())
}

/// The true manifest `inspect` shows after loading and initialising the plugin in the sandbox, with what
/// it asks for granted (a domain it asks for by a setting named one that never resolves).
fn inspect(d: &std::path::Path, plugin: &str) -> Result<Value, String> {
    let out = run(plughub_live(d).args(["grant", plugin, "--org", "live"]));
    assert!(out.status.success(), "{plugin}: {}", text(&out.stderr));
    let out = run(plughub_live(d).args(["permissions", plugin, "--org", "live", "--json"]));
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    if view["missing"]["network.external"] == serde_json::json!([]) {
        let out = run(plughub_live(d).args([
            "grant",
            plugin,
            "--org",
            "live",
            "--domain",
            "plugin-api.invalid",
        ]));
        assert!(out.status.success(), "{plugin}: {}", text(&out.stderr));
    }
    let out = run(plughub_live(d).args(["inspect", plugin, "--org", "live", "--json"]));
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(text(&out.stderr))
    }
}

/// `@elizaos/plugin-browser` 1.0.3 declares `"resolutions": { "zod": "3.25.23" }` for its own development;
/// npm ignores it in a dependency, pnpm obeyed it in the plugin's folder and gave `@elizaos/core` (which
/// declares zod ^4) zod 3: `z3.object(...).loose is not a function` at load. Now core gets the zod major it
/// declares, the plugin its own, and the plugin gets past loading (it may still stop at starting
/// Chromium, a program it runs: a permission of its own).
#[test]
fn plugin_browser_gets_the_zod_each_module_declares() {
    let plugin = "@elizaos/plugin-browser";
    if !npm_serves(plugin) {
        return;
    }
    let dir = data_dir();
    let d = dir.path();
    let record = install(d, &[plugin]);
    let package = package_dir(d, &record);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(package.join("package.json")).unwrap())
            .unwrap();
    assert!(manifest.get("resolutions").is_none(), "{manifest}");
    let (core, core_zod) = resolved_from(&package, "@elizaos/core", "zod");
    let declared: Value = serde_json::from_str(
        &std::fs::read_to_string(package.join("node_modules/@elizaos/core/package.json")).unwrap(),
    )
    .unwrap();
    let wanted = declared["dependencies"]["zod"].as_str().unwrap_or("*");
    let range = nodejs_semver::Range::parse(wanted).unwrap();
    assert!(
        nodejs_semver::Version::parse(&core_zod)
            .unwrap()
            .satisfies(&range),
        "@elizaos/core {core} declares zod {wanted} and gets {core_zod}"
    );
    let (_, own_zod) = resolved_from(&package, plugin, "zod");
    println!(
        "plugin-browser@{}: core {core} gets zod {core_zod}, the plugin zod {own_zod}",
        record["version"]
    );
    match inspect(d, plugin) {
        Ok(manifest) => println!("plugin-browser loads and inits: {}", manifest["actions"]),
        Err(stderr) => {
            assert!(
                !stderr.contains("loose is not a function") && !stderr.contains("zod"),
                "{stderr}"
            );
            println!("plugin-browser loads, then stops at: {}", stderr.trim());
        }
    }
}

/// `@elizaos/plugin-edge-tts` 1.0.0 publishes `"@elizaos/core": "workspace:*"`: pnpm refused to install
/// it. The reference is replaced by the published core it was built against, and it loads and inits.
#[test]
fn plugin_edge_tts_workspace_dependency_is_replaced_by_a_published_version() {
    let plugin = "@elizaos/plugin-edge-tts";
    if !npm_serves(plugin) {
        return;
    }
    let out = Command::new("npm")
        .args(["view", plugin, "dependencies", "--json"])
        .output()
        .unwrap();
    let published: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    if published["@elizaos/core"]
        .as_str()
        .is_none_or(|r| !r.starts_with("workspace:"))
    {
        println!(
            "SKIPPED {plugin}: its newest version no longer has a workspace: dependency ({published})"
        );
        return;
    }
    let dir = data_dir();
    let d = dir.path();
    let record = install(d, &[plugin]);
    let package = package_dir(d, &record);
    let (core, _) = resolved_from(&package, "@elizaos/core", "@elizaos/core");
    let installed: Value =
        serde_json::from_str(&std::fs::read_to_string(package.join("package.json")).unwrap())
            .unwrap();
    assert_eq!(
        installed["dependencies"]["@elizaos/core"],
        core.as_str(),
        "workspace:* became the exact version installed"
    );
    println!(
        "plugin-edge-tts@{}: workspace:* → core {core}",
        record["version"]
    );
    let manifest = inspect(d, plugin).unwrap();
    assert_eq!(manifest["name"], "edge-tts", "{manifest}");
}

/// `@elizaos/plugin-mcp` 1.8.2 peers on core `*` and calls `getRequestContext`, which the newest core
/// lacks: it now gets the core it was built against (its devDependencies' range, published last before
/// it), and `--core v1` takes it (its devDependencies say v1) instead of refusing a `*` range.
#[test]
fn plugin_mcp_gets_the_core_it_was_built_against() {
    let plugin = "@elizaos/plugin-mcp";
    if !npm_serves(plugin) {
        return;
    }
    let dir = data_dir();
    let d = dir.path();
    let record = install(d, &[plugin, "--core", "v1"]);
    let package = package_dir(d, &record);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(package.join("package.json")).unwrap())
            .unwrap();
    let (core, _) = resolved_from(&package, "@elizaos/core", "@elizaos/core");
    println!(
        "plugin-mcp@{}: core {core}; peer range now {}",
        record["version"], manifest["peerDependencies"]["@elizaos/core"]
    );
    let out = Command::new("npm")
        .args([
            "view",
            &format!("{plugin}@{}", record["version"].as_str().unwrap()),
            "peerDependencies",
            "--json",
        ])
        .output()
        .unwrap();
    let published: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    if published["@elizaos/core"] == "*" {
        assert_eq!(
            manifest["peerDependencies"]["@elizaos/core"],
            core.as_str(),
            "the peer range '*' became the core installed"
        );
    }
    let shown = inspect(d, plugin).unwrap_or_else(|stderr| panic!("{stderr}"));
    assert_eq!(shown["name"], "mcp", "{shown}");
}

/// `@elizaos/client-direct` 0.25.9 stopped at load under plughub and loaded under plain npm: its core
/// (0.25.x) looks for a `.env` from where it runs up to `/` with `fs.existsSync`, which Node 20's
/// permission model turned into `ERR_ACCESS_DENIED` for `/.env`. The worker now starts in its scratch
/// folder and may look for `/.env` in its own root, where there is none: the plugin loads and inits.
#[test]
fn client_direct_finds_no_env_file_instead_of_being_refused() {
    let plugin = "@elizaos/client-direct";
    if !npm_serves(plugin) {
        return;
    }
    let dir = data_dir();
    let d = dir.path();
    install(d, &[&format!("{plugin}@0.25.9")]);
    let shown = inspect(d, plugin).unwrap_or_else(|stderr| panic!("{stderr}"));
    assert!(shown["actions"].is_array(), "{shown}");
}

/// `@elizaos/plugin-coding-agent` 0.1.0-next.1 lists its `exports` conditions as `bun`, `import`, then a
/// `default` naming TypeScript it does not ship. plughub's rewrite of its package.json sorted them, and the
/// worker imported `src/index.ts`; the order is now kept and it loads `dist/index.js` and inits.
#[test]
fn plugin_coding_agent_keeps_the_order_of_its_export_conditions() {
    let plugin = "@elizaos/plugin-coding-agent";
    if !npm_serves(plugin) {
        return;
    }
    let dir = data_dir();
    let d = dir.path();
    let record = install(d, &[&format!("{plugin}@0.1.0-next.1")]);
    let written = std::fs::read_to_string(package_dir(d, &record).join("package.json")).unwrap();
    let (import, default) = (
        written.find("\"import\"").unwrap(),
        written.find("\"default\": \"./src/index.ts\"").unwrap(),
    );
    assert!(import < default, "{written}");
    let shown = inspect(d, plugin).unwrap_or_else(|stderr| panic!("{stderr}"));
    assert!(!shown["actions"].as_array().unwrap().is_empty(), "{shown}");
}

/// `@elizaos/plugin-defillama` 1.3.5 validates its init config with `z.string()` for
/// `RATE_LIMIT_PER_MINUTE`, a setting its package declares a number (default 300), as an elizaOS agent
/// has every setting: text from its environment. plughub passed the number and init threw "Expected
/// string, received number"; settings now reach init and `getSetting` as text, and it inits.
#[test]
fn plugin_defillama_gets_its_number_settings_as_text() {
    let plugin = "@elizaos/plugin-defillama";
    if !npm_serves(plugin) {
        return;
    }
    let dir = data_dir();
    let d = dir.path();
    install(d, &[&format!("{plugin}@1.3.5")]);
    let out = run(plughub_live(d).args([
        "configure",
        plugin,
        "--org",
        "live",
        "RATE_LIMIT_PER_MINUTE=120",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = inspect(d, plugin).unwrap_or_else(|stderr| panic!("{stderr}"));
    assert!(!shown["actions"].as_array().unwrap().is_empty(), "{shown}");
}

/// `@elizaos/plugin-sgx` 0.25.6-alpha.1 has an elizaOS 0.x provider, which has no name: its manifest
/// broke the worker protocol (`missing field name`). Such a provider is now named by its place
/// (`provider-1`), and the plugin inits.
#[test]
fn plugin_sgx_provider_without_a_name_gets_one() {
    let plugin = "@elizaos/plugin-sgx";
    if !npm_serves(plugin) {
        return;
    }
    let dir = data_dir();
    let d = dir.path();
    install(d, &[&format!("{plugin}@0.25.6-alpha.1")]);
    let shown = inspect(d, plugin).unwrap_or_else(|stderr| panic!("{stderr}"));
    let providers: Vec<&str> = shown["providers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(providers.contains(&"provider-1"), "{shown}");
}

/// `@lunchtable/plugin-ltcg` 0.1.0 shares one array between components: the worker wrote the second as
/// `"[Circular]"` and its manifest broke the protocol. Only true cycles are cut now: it reaches its own
/// init, whose validator refuses a key that does not start with `ltcg_` (the plugin's check).
#[test]
fn plugin_ltcg_manifest_with_shared_arrays_reaches_its_init() {
    let plugin = "@lunchtable/plugin-ltcg";
    if !npm_serves(plugin) {
        return;
    }
    let dir = data_dir();
    let d = dir.path();
    install(d, &[&format!("{plugin}@0.1.0")]);
    let out = run(plughub_live(d).args([
        "configure",
        plugin,
        "--org",
        "live",
        "LTCG_API_KEY=ltcg_placeholder",
        "LTCG_API_URL=https://plugin-api.invalid",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    match inspect(d, plugin) {
        Ok(shown) => assert!(shown["actions"].is_array(), "{shown}"),
        Err(stderr) => assert!(!stderr.contains("protocol"), "{stderr}"),
    }
}
