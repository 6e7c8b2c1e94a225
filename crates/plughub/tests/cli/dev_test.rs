//! `plughub dev test` on a copy of the devtest fixture: its own suites run in the real engine (sandboxed
//! when this machine can, and without the sandbox), settings from plughub.dev.json, the scripted model,
//! the HTTP stub behind the egress proxy; exit codes 0, 1 and 2, the lines, the JUnit XML and the JSON.

use super::common::*;

/// A copy of the fixture to change, and a data directory for the development store (pnpm shared).
async fn copy() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("plugin-devtest");
    let fixture = plughub_testkit::fixture_plugin("plugin-devtest");
    std::fs::create_dir_all(package.join("dist")).unwrap();
    for file in ["package.json", "plughub.dev.json", "dist/index.js"] {
        std::fs::copy(fixture.join(file), package.join(file)).unwrap();
    }
    let data = dir.path().join("data");
    share_pnpm(&data).await;
    (dir, package, data)
}

fn dev_test(data: &std::path::Path, package: &std::path::Path, extra: &[&str]) -> Output {
    run(plughub(data)
        .args(["dev", "test", "--dir"])
        .arg(package)
        .args(extra))
}

#[tokio::test]
async fn the_plugins_suites_run_in_the_engine_with_lines_and_junit() {
    let (dir, package, data) = copy().await;
    let junit = dir.path().join("out.xml");
    let out = dev_test(&data, &package, &["--junit", junit.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    for passed in [
        "the action calls back with the greeting",
        "the provider reads a secret setting",
        "a memory written is read back",
        "the scripted model answers in order",
        "a request to the granted domain is answered by the stub",
        "a domain not granted is refused",
        "the runtime calls of the test are seen",
    ] {
        assert!(
            stdout.contains(&format!("✓ devtest › {passed} (")),
            "{passed}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("✗ devtest › fails on purpose ("),
        "{stdout}"
    );
    assert!(
        stdout.contains("    arithmetic: expected 4, got 3"),
        "{stdout}"
    );
    assert!(stdout.contains("1 failed, 7 passed of 8"), "{stdout}");

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(
        xml.contains("<testsuites name=\"@fixture/plugin-devtest\" tests=\"8\" failures=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testsuite name=\"devtest\" tests=\"8\" failures=\"1\""),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), 8, "{xml}");
    assert!(
        xml.contains("<failure message=\"arithmetic: expected 4, got 3\">Error: arithmetic"),
        "{xml}"
    );

    // Fixed, the run passes: exit 0. The development store is kept and the package reinstalled.
    let source = std::fs::read_to_string(package.join("dist/index.js")).unwrap();
    std::fs::write(
        package.join("dist/index.js"),
        source.replace("expect(1 + 2, 4,", "expect(1 + 2, 3,"),
    )
    .unwrap();
    let out = dev_test(&data, &package, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("✓ devtest › fails on purpose ("),
        "{stdout}"
    );
    assert!(stdout.contains("8 passed"), "{stdout}");
}

#[tokio::test]
async fn without_the_sandbox_requests_still_pass_the_permission_check() {
    let (_dir, package, data) = copy().await;
    let out = dev_test(&data, &package, &["--no-sandbox", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("without the OS sandbox"),
        "{}",
        text(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["sandboxed"], false);
    assert_eq!(
        (report["passed"].as_u64(), report["failed"].as_u64()),
        (Some(7), Some(1))
    );
    let test = |name: &str| {
        report["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["test"] == name)
            .unwrap()
            .clone()
    };
    // The stub answered the granted domain's requests, as the worker saw them too.
    let granted = test("a request to the granted domain is answered by the stub");
    assert_eq!(granted["passed"], true, "{granted}");
    assert_eq!(
        granted["stub_requests"],
        serde_json::json!([
            { "method": "GET", "url": "http://api.devtest.example/v1/weather?city=Paris",
              "status": 200, "matched": true },
            { "method": "GET", "url": "https://api.devtest.example/v1/weather?city=Oslo",
              "status": 200, "matched": true },
            { "method": "POST", "url": "https://api.devtest.example/v1/notes",
              "status": 201, "matched": true },
        ])
    );
    // The domain not granted was refused by the proxy: the stub saw no request for it, nor any other.
    let refused = test("a domain not granted is refused");
    assert_eq!(refused["passed"], true, "{refused}");
    assert_eq!(refused["stub_requests"], serde_json::json!([]));
    assert_eq!(refused["http_requests"][0]["status"], 403, "{refused}");
    assert!(
        refused["http_requests"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not among the plugin's granted domains"),
        "{refused}"
    );
    let hosts: Vec<&str> = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["stub_requests"].as_array().unwrap())
        .map(|r| r["url"].as_str().unwrap())
        .collect();
    assert!(
        hosts
            .iter()
            .all(|u| u.starts_with("http://api.devtest.example/")
                || u.starts_with("https://api.devtest.example/")),
        "{hosts:?}"
    );
    let calls = &test("the runtime calls of the test are seen")["runtime_calls"];
    assert_eq!(calls[0]["method"], "setCache", "{calls}");
}

#[tokio::test]
async fn a_plugin_that_cannot_load_or_build_is_exit_2() {
    let (_dir, package, data) = copy().await;
    std::fs::write(package.join("dist/index.js"), "export const nothing = 1;\n").unwrap();
    let out = dev_test(&data, &package, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("did not load"),
        "{}",
        text(&out.stderr)
    );

    // A package with sources and a build that fails: built first, and said so.
    std::fs::create_dir_all(package.join("src")).unwrap();
    std::fs::write(package.join("src/index.ts"), "export {};\n").unwrap();
    std::fs::remove_dir_all(package.join("dist")).unwrap();
    let manifest = std::fs::read_to_string(package.join("package.json")).unwrap();
    std::fs::write(
        package.join("package.json"),
        manifest.replace(
            "\"scripts\": { \"test\": \"plughub dev test\" }",
            "\"scripts\": { \"build\": \"echo cannot build >&2 && exit 3\", \"test\": \"plughub dev test\" }",
        ),
    )
    .unwrap();
    let out = dev_test(&data, &package, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("dist/ is missing: running `npm run build`"),
        "{stderr}"
    );
    assert!(stderr.contains("`npm run build` failed"), "{stderr}");
}

#[tokio::test]
async fn a_plugin_without_network_is_refused_every_domain_even_unsandboxed() {
    let (_dir, package, data) = copy().await;
    let manifest = std::fs::read_to_string(package.join("package.json")).unwrap();
    std::fs::write(
        package.join("package.json"),
        manifest.replace("\"network.external\": [\"api.devtest.example\"],", ""),
    )
    .unwrap();
    let out = dev_test(&data, &package, &["--no-sandbox", "--json"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("does not ask for"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tests = report["tests"].as_array().unwrap();
    // Nothing reached the stub: without a grant the proxy refuses, and there is no way around it.
    assert!(
        tests
            .iter()
            .all(|t| t["stub_requests"] == serde_json::json!([])),
        "{report}"
    );
    let fetched = tests
        .iter()
        .find(|t| t["test"] == "a request to the granted domain is answered by the stub")
        .unwrap();
    assert_eq!(fetched["passed"], false, "{fetched}");
    assert_eq!(fetched["http_requests"][0]["status"], 403, "{fetched}");
}

#[tokio::test]
async fn plughub_data_dir_from_the_environment_is_not_the_development_store() {
    let (dir, package, _data) = copy().await;
    let production = dir.path().join("production");
    std::fs::create_dir_all(&production).unwrap();
    let cache = dir.path().join("cache");
    share_pnpm(&cache.join("plughub/dev")).await;
    let out = run(Command::new(env!("CARGO_BIN_EXE_plughub"))
        .args(["dev", "test", "--no-sandbox", "--dir"])
        .arg(&package)
        .env("PLUGHUB_DATA_DIR", &production)
        .env("XDG_CACHE_HOME", &cache)
        .env(
            "PLUGHUB_REGISTRY_URL",
            closed_port_url("generated-registry.json"),
        )
        .env("NPM_CONFIG_REGISTRY", closed_port_url(""))
        .env_remove("PLUGHUB_DATABASE_URL"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("PLUGHUB_DATA_DIR is not used for development"),
        "{stderr}"
    );
    let used = cache.join("plughub/dev");
    assert!(
        stderr.contains(&format!("development store: {}", used.display())),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(&production).unwrap().count(),
        0,
        "the folder of PLUGHUB_DATA_DIR was written to"
    );
    assert!(text(&out.stdout).contains("1 failed, 7 passed of 8"));
}

#[tokio::test]
async fn a_plugin_without_tests_is_exit_1_and_says_so() {
    let (_dir, package, data) = copy().await;
    let source = std::fs::read_to_string(package.join("dist/index.js")).unwrap();
    std::fs::write(
        package.join("dist/index.js"),
        source.replace(
            "  providers: [keyInfo],\n  tests,\n",
            "  providers: [keyInfo],\n",
        ),
    )
    .unwrap();
    let out = dev_test(&data, &package, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("@fixture/plugin-devtest has no tests"),
        "{stderr}"
    );
}

/// A worker that ends in a test and cannot start again: the tests left fail with the reason, and the
/// report and the JUnit XML are still written.
#[tokio::test]
async fn a_plugin_that_does_not_restart_fails_the_tests_left_with_a_report() {
    let (dir, package, data) = copy().await;
    let marker = dir.path().join("ended-once");
    let source = std::fs::read_to_string(package.join("dist/index.js")).unwrap();
    let source = source
        .replace(
            "import https from 'node:https';",
            &format!(
                "import https from 'node:https';\nimport fs from 'node:fs';\nconst MARKER = {:?};",
                marker.display().to_string()
            ),
        )
        .replace(
            "          expect(1 + 2, 4, 'arithmetic');",
            "          fs.writeFileSync(MARKER, 'x');\n          process.exit(3);",
        )
        .replace(
            "  providers: [keyInfo],\n  tests,\n",
            "  providers: [keyInfo],\n  init: async () => {\n    if (fs.existsSync(MARKER)) throw new Error('will not start twice');\n  },\n  tests: [{ name: 'devtest', tests: [...tests[0].tests, { name: 'after the end', fn: async () => {} }] }],\n",
        );
    std::fs::write(package.join("dist/index.js"), source).unwrap();
    let junit = dir.path().join("out.xml");
    let out = dev_test(
        &data,
        &package,
        &["--no-sandbox", "--junit", junit.to_str().unwrap()],
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("✗ devtest › after the end ("), "{stdout}");
    assert!(stdout.contains("the plugin did not restart"), "{stdout}");
    assert!(stdout.contains("will not start twice"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 9, "{xml}");
}
