//! `plughub audit` on real plugins, a local folder and a hostile tarball.

use crate::common::*;

/// Live: real plugins from the npm registry of this machine's npm configuration, fetched, verified and
/// analysed as `plughub audit` does. Skipped, with the reason printed, when the registry cannot be reached.
#[test]
fn live_audit_of_real_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let probe = Command::new(env!("CARGO_BIN_EXE_plughub"))
        .args(["audit", "@elizaos/plugin-openai", "--json"])
        .env_remove("NPM_CONFIG_REGISTRY")
        .output()
        .unwrap();
    if !probe.status.success() {
        let err = text(&probe.stderr);
        if err.contains("cannot")
            || err.contains("no npm registry")
            || err.contains("registry could not be used")
        {
            println!("SKIPPED live audit: {err}");
            return;
        }
        panic!("audit failed: {err}");
    }
    for (plugin, at_most) in [
        ("@elizaos/plugin-openai", 0),
        ("@elizaos/plugin-bootstrap", 0),
        ("@elizaos/plugin-ollama", 20),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_plughub"))
            .args(["audit", plugin, "--json"])
            .env_remove("NPM_CONFIG_REGISTRY")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{plugin}: {}", text(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["name"], plugin);
        assert!(
            report["integrity"].as_str().unwrap().starts_with("sha512-"),
            "{report}"
        );
        assert!(
            report["files"].as_u64().unwrap() >= 1 && report["bytes"].as_u64().unwrap() > 10_000
        );
        assert!(
            report["score"].as_u64().unwrap() <= at_most,
            "{plugin}: {}",
            report["findings"]
        );
        println!(
            "live audit: {plugin}@{} score {} findings {}",
            report["version"], report["score"], report["findings"]
        );
    }
    // plugin-ollama declares a postinstall script: true, and reported.
    let out = run(Command::new(env!("CARGO_BIN_EXE_plughub"))
        .args(["audit", "@elizaos/plugin-ollama"])
        .env_remove("NPM_CONFIG_REGISTRY"));
    let table = text(&out.stdout);
    assert!(
        table.contains("install-script") && table.contains("postinstall"),
        "{table}"
    );
}

#[test]
fn audit_of_a_local_folder_and_a_hostile_tarball() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("my-plugin");
    std::fs::create_dir_all(pkg.join("dist")).unwrap();
    std::fs::write(
        pkg.join("package.json"),
        r#"{"name":"my-plugin","version":"0.0.1"}"#,
    )
    .unwrap();
    std::fs::write(
        pkg.join("dist/index.js"),
        "export default { name: 'mine', init: () => eval(process.argv[2]) };",
    )
    .unwrap();
    let out = run(plughub(dir.path()).args(["audit"]).arg(&pkg).arg("--json"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["findings"][0]["rule"], "dynamic-code");
    assert_eq!(report["findings"][0]["file"], "dist/index.js");

    let tgz = dir.path().join("evil-1.0.0.tgz");
    let archive = plughub_testkit::tarball::tgz(&[plughub_testkit::tarball::file(
        "package/../../escape.js",
        "x",
    )]);
    std::fs::write(&tgz, archive).unwrap();
    let out = run(plughub(dir.path()).args(["audit"]).arg(&tgz));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unsafe archive"),
        "{}",
        text(&out.stderr)
    );
}
