//! `plughub dev init`: each template written as a package in the plugin package shape, names
//! substituted; a folder that is not empty and a name npm refuses are refused with nothing written.

use crate::common::*;

fn init(parent: &std::path::Path, args: &[&str]) -> Output {
    let data = parent.join("data");
    run(plughub(&data)
        .args(["dev", "init"])
        .args(args)
        .arg("--dir")
        .arg(parent))
}

#[test]
fn every_template_makes_a_package_in_the_shape() {
    for template in [
        "action",
        "provider",
        "evaluator",
        "model",
        "service",
        "full",
    ] {
        let parent = tempfile::tempdir().unwrap();
        let out = init(
            parent.path(),
            &["@acme/plugin-weather-now", "--template", template, "--json"],
        );
        assert!(out.status.success(), "{template}: {}", text(&out.stderr));
        let made: Value = serde_json::from_slice(&out.stdout).unwrap();
        let dir = parent.path().join("plugin-weather-now");
        assert_eq!(made["dir"], dir.to_str().unwrap());
        for file in [
            "package.json",
            "tsconfig.json",
            "tsup.config.ts",
            "README.md",
            ".gitignore",
            "plughub.dev.json",
            "src/index.ts",
            "src/tests.ts",
            "images/icon.png",
            "images/banner.png",
        ] {
            assert!(dir.join(file).is_file(), "{template}: {file} missing");
        }
        for image in ["images/icon.png", "images/banner.png"] {
            let bytes = std::fs::read(dir.join(image)).unwrap();
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{image} is a PNG");
        }
        let package: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).unwrap())
                .unwrap();
        assert_eq!(package["name"], "@acme/plugin-weather-now");
        assert_eq!(package["version"], "0.1.0");
        assert_eq!(package["type"], "module");
        assert_eq!(package["main"], "dist/index.js");
        assert_eq!(package["types"], "dist/index.d.ts");
        assert_eq!(package["exports"]["."]["import"], "./dist/index.js");
        assert_eq!(
            package["files"],
            serde_json::json!(["dist", "images", "README.md"])
        );
        let keywords = package["keywords"].as_array().unwrap();
        for k in ["elizaos", "elizaos-plugins", "plugin"] {
            assert!(
                keywords.contains(&Value::from(k)),
                "{template}: keyword {k}"
            );
        }
        assert_eq!(package["scripts"]["build"], "tsup");
        assert_eq!(package["peerDependencies"]["@elizaos/core"], "^1.0.0");
        // Exact versions, no ranges.
        for dep in ["@elizaos/core", "tsup", "typescript"] {
            let v = package["devDependencies"][dep].as_str().unwrap();
            assert!(
                v.chars().all(|c| c.is_ascii_digit() || c == '.'),
                "{dep} pinned: {v}"
            );
        }
        assert_eq!(package["agentConfig"]["pluginType"], "elizaos:plugin:1.0.0");
        let params = package["agentConfig"]["pluginParameters"]
            .as_object()
            .unwrap();
        assert!(
            params.keys().all(|k| k.starts_with("WEATHER_NOW_")),
            "{template}: {params:?}"
        );
        assert!(package["plughub"]["permissions"].is_object());
        let index = std::fs::read_to_string(dir.join("src/index.ts")).unwrap();
        assert!(
            index.contains("export const weatherNowPlugin"),
            "{template}"
        );
        assert!(
            index.contains("export default weatherNowPlugin"),
            "{template}"
        );
        assert!(index.contains("name: 'plugin-weather-now'"), "{template}");
        assert!(
            index.contains("tests,"),
            "{template}: the suites are the plugin's"
        );
        let tests = std::fs::read_to_string(dir.join("src/tests.ts")).unwrap();
        assert!(tests.contains("TestSuite[]"), "{template}");
        for file in [
            "src/index.ts",
            "src/tests.ts",
            "README.md",
            "plughub.dev.json",
        ] {
            let content = std::fs::read_to_string(dir.join(file)).unwrap();
            for placeholder in [
                "{{name}}",
                "{{bare}}",
                "{{ident}}",
                "{{PREFIX}}",
                "{{description}}",
            ] {
                assert!(
                    !content.contains(placeholder),
                    "{template} {file}: {placeholder}"
                );
            }
        }
        let dev: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("plughub.dev.json")).unwrap())
                .unwrap();
        assert!(dev["settings"].is_object(), "{template}");
    }
}

#[test]
fn the_provider_template_declares_what_it_calls_and_stubs_it() {
    let parent = tempfile::tempdir().unwrap();
    let out = init(parent.path(), &["plugin-status", "--template", "provider"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = parent.path().join("plugin-status");
    let package: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).unwrap()).unwrap();
    assert_eq!(
        package["plughub"]["permissions"]["network.external"],
        serde_json::json!(["api.example.com"])
    );
    assert_eq!(
        package["plughub"]["permissions"]["secrets.access"],
        serde_json::json!(["STATUS_API_KEY"])
    );
    assert_eq!(
        package["agentConfig"]["pluginParameters"]["STATUS_API_KEY"]["sensitive"],
        true
    );
    let dev: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("plughub.dev.json")).unwrap())
            .unwrap();
    assert_eq!(dev["http"][0]["url"], "https://api.example.com/v1/status");
    assert_eq!(dev["settings"]["STATUS_API_KEY"], "test-key");
    // The human output names the next steps.
    let said = text(&out.stdout);
    for step in [
        "npm install",
        "npm run build",
        "plughub dev validate",
        "plughub dev test",
    ] {
        assert!(said.contains(step), "{step}: {said}");
    }
}

#[test]
fn a_folder_that_is_not_empty_is_refused_untouched() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("plugin-x");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let out = init(parent.path(), &["plugin-x"]);
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(said.contains("is not empty"), "{said}");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "nothing written");
    // An empty folder is fine.
    let empty = parent.path().join("plugin-y");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(init(parent.path(), &["plugin-y"]).status.success());
}

#[test]
fn names_npm_refuses_are_refused_with_the_reason() {
    let parent = tempfile::tempdir().unwrap();
    for (name, why) in [
        ("Plugin-X", "capital letters"),
        ("plugin x", "has ' '"),
        ("@acme", "@scope/name"),
        ("_plugin", "cannot start with"),
        ("http", "reserved"),
    ] {
        let out = init(parent.path(), &[name]);
        assert!(!out.status.success(), "{name}");
        let said = text(&out.stderr);
        assert!(said.contains(why), "{name}: {said}");
    }
    let out = init(parent.path(), &["plugin-x", "--template", "nope"]);
    assert!(!out.status.success());
    let entries: Vec<_> = std::fs::read_dir(parent.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "data")
        .collect();
    assert!(entries.is_empty(), "nothing written: {entries:?}");
}
