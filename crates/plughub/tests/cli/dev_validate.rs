//! `plughub dev validate`: the real path once (init → npm install → npm run build → validate passes),
//! and packages broken in the ways authors break them, each failing with its error and fix.

use crate::common::*;

/// The dist/ a build of the action template makes, written by hand (no npm install): a plugin with one
/// action, its code given as `body` inside the handler.
pub fn fake_build(dir: &std::path::Path, body: &str) {
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::write(
        dir.join("dist/index.js"),
        format!(
            r#"const greet = {{
  name: 'GREET',
  description: 'Greets',
  similes: [],
  examples: [],
  validate: async () => true,
  handler: async (runtime, message, state, options, callback) => {{
    {body}
    const text = `Hello, ${{message.content.text}}!`;
    if (callback) await callback({{ text }});
    return {{ success: true, text }};
  }},
}};
export const plugin = {{ name: 'plugin-x', description: 'x', actions: [greet] }};
export default plugin;
"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("dist/index.d.ts"),
        "export declare const plugin: unknown;\n",
    )
    .unwrap();
}

/// A package made by `dev init` with a hand-made build: valid as it is.
pub fn made_package(parent: &std::path::Path, name: &str) -> std::path::PathBuf {
    let out = run(plughub(&parent.join("data"))
        .args(["dev", "init", name, "--dir"])
        .arg(parent));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = parent.join(name.rsplit('/').next().unwrap());
    fake_build(&dir, "");
    dir
}

pub fn validate(dir: &std::path::Path) -> (Output, Value) {
    let out = run(plughub(&dir.join("../data"))
        .args(["dev", "validate", "--json", "--dir"])
        .arg(dir));
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)));
    (out, report)
}

fn edit_package(dir: &std::path::Path, change: impl FnOnce(&mut Value)) {
    let path = dir.join("package.json");
    let mut package: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    change(&mut package);
    std::fs::write(&path, serde_json::to_string_pretty(&package).unwrap()).unwrap();
}

fn errors(report: &Value) -> Vec<(String, String, String)> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["level"] == "error")
        .map(|p| {
            (
                p["check"].as_str().unwrap().to_string(),
                p["message"].as_str().unwrap().to_string(),
                p["fix"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_made_package_is_valid_and_its_components_are_listed() {
    let parent = tempfile::tempdir().unwrap();
    let dir = made_package(parent.path(), "plugin-greeter");
    let (out, report) = validate(&dir);
    assert!(out.status.success(), "{report:#}\n{}", text(&out.stderr));
    assert_eq!(report["ok"], true);
    assert_eq!(
        report["components"]["actions"],
        serde_json::json!(["GREET"])
    );
    assert_eq!(report["name"], "plugin-greeter");
    assert!(report["risk"]["score"].is_u64());
    let files: Vec<&str> = report["packed"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for f in [
        "package.json",
        "dist/index.js",
        "images/icon.png",
        "README.md",
    ] {
        assert!(files.contains(&f), "{f} packed: {files:?}");
    }
    assert!(!files.iter().any(|f| f.starts_with("src/")), "{files:?}");
    assert!(
        report["packed"]["integrity"]
            .as_str()
            .unwrap()
            .starts_with("sha512-")
    );
    // The human output says where it loaded.
    let out = run(plughub(&parent.path().join("data"))
        .args(["dev", "validate", "--dir"])
        .arg(&dir));
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("actions: GREET"), "{said}");
    assert!(said.contains("valid"), "{said}");
}

#[test]
fn an_undeclared_domain_is_an_error_with_the_fix() {
    let parent = tempfile::tempdir().unwrap();
    let dir = made_package(parent.path(), "plugin-caller");
    fake_build(
        &dir,
        "await fetch('https://api.weather-data.com/v1/now', { headers: { accept: 'application/json' } });",
    );
    let (out, report) = validate(&dir);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    let errors = errors(&report);
    assert!(
        errors
            .iter()
            .any(|(check, message, fix)| check == "permissions"
                && message.contains("api.weather-data.com")
                && fix.contains("network.external")),
        "{errors:?}"
    );
    // Declared, it passes.
    edit_package(&dir, |p| {
        p["plughub"]["permissions"]["network.external"] =
            serde_json::json!(["api.weather-data.com"]);
    });
    let (out, report) = validate(&dir);
    assert!(out.status.success(), "{report:#}");
}

#[test]
fn a_missing_image_is_an_error_with_the_fix() {
    let parent = tempfile::tempdir().unwrap();
    let dir = made_package(parent.path(), "plugin-plain");
    std::fs::remove_file(dir.join("images/banner.png")).unwrap();
    let (out, report) = validate(&dir);
    assert_eq!(out.status.code(), Some(1));
    let errors = errors(&report);
    assert!(
        errors.iter().any(|(check, message, fix)| check == "images"
            && message.contains("images/banner.png")
            && fix.contains("PNG")),
        "{errors:?}"
    );
}

#[test]
fn a_bad_core_range_is_an_error_with_the_fix() {
    let parent = tempfile::tempdir().unwrap();
    let dir = made_package(parent.path(), "plugin-old");
    for (range, says) in [
        ("latest", "tag or not a semver range"),
        ("^0.25.6", "admits no elizaOS"),
    ] {
        edit_package(&dir, |p| {
            p["peerDependencies"]["@elizaos/core"] = range.into()
        });
        let (out, report) = validate(&dir);
        assert_eq!(out.status.code(), Some(1), "{range}");
        let errors = errors(&report);
        assert!(
            errors.iter().any(|(check, message, fix)| check == "core"
                && message.contains(says)
                && fix.contains("^1.0.0")),
            "{range}: {errors:?}"
        );
    }
    edit_package(&dir, |p| {
        p["peerDependencies"]
            .as_object_mut()
            .unwrap()
            .remove("@elizaos/core");
    });
    let (_, report) = validate(&dir);
    assert!(
        errors(&report)
            .iter()
            .any(|(c, m, _)| c == "core" && m.contains("not a peer"))
    );
}

#[test]
fn an_unbuilt_package_and_a_bad_manifest_say_what_to_do() {
    let parent = tempfile::tempdir().unwrap();
    let dir = made_package(parent.path(), "plugin-unbuilt");
    std::fs::remove_dir_all(dir.join("dist")).unwrap();
    edit_package(&dir, |p| {
        p["version"] = "1.0".into();
        p["agentConfig"]["pluginParameters"]["UNBUILT_GREETING"]["required"] = "yes".into();
    });
    let (out, report) = validate(&dir);
    assert_eq!(out.status.code(), Some(1));
    let errors = errors(&report);
    let has = |check: &str, text: &str| {
        errors
            .iter()
            .any(|(c, m, f)| c == check && (m.contains(text) || f.contains(text)))
    };
    assert!(has("entry", "npm run build"), "{errors:?}");
    assert!(has("version", "not semver"), "{errors:?}");
    assert!(has("settings", "true or false"), "{errors:?}");
    assert!(report["components"].is_null(), "not loaded");
}

/// The real thing, once: a package from the action template, its dependencies installed by npm from the
/// npm configuration's registry, built with tsup, and valid.
#[test]
fn the_action_template_installs_builds_and_validates() {
    let parent = tempfile::tempdir().unwrap();
    let out = run(plughub(&parent.path().join("data"))
        .args([
            "dev",
            "init",
            "@acme/plugin-hello-world",
            "--template",
            "action",
            "--dir",
        ])
        .arg(parent.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = parent.path().join("plugin-hello-world");
    npm_install_and_build(&dir);
    assert!(dir.join("dist/index.js").is_file());
    assert!(dir.join("dist/index.d.ts").is_file(), "declarations built");
    let (out, report) = validate(&dir);
    assert!(out.status.success(), "{report:#}\n{}", text(&out.stderr));
    assert_eq!(
        report["components"]["actions"],
        serde_json::json!(["HELLO_WORLD_GREET"])
    );
    // The built plugin needs nothing of @elizaos/core at run time (its types only).
    let built = std::fs::read_to_string(dir.join("dist/index.js")).unwrap();
    assert!(!built.contains("from '@elizaos/core'") && !built.contains("from \"@elizaos/core\""));
}
