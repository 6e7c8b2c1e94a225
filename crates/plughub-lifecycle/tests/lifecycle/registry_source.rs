//! Installing from plughub's own registry: a name published to plughub comes from its store only, never
//! from npm (a same-named npm package with other bytes is dependency confusion, refused), and a name
//! plughub holds but has not published (quarantined) does not install and does not fall back to npm.
//! Every other name still comes from npm. On SQLite and PostgreSQL.

use crate::common::*;
use plughub_install::InstallError;
use plughub_testkit::BACKENDS;
use plughub_testkit::registry::put_version;

fn manifest(name: &str, version: &str) -> serde_json::Value {
    json!({ "name": name, "version": version, "type": "module", "main": "dist/index.js",
            "keywords": ["elizaos-plugin"] })
}

async fn org_world(backend: TestBackend) -> (TestStore, LoopbackNpm, tempfile::TempDir) {
    let t = TestStore::new(backend).await;
    let mut tx = t.store.begin().await.unwrap();
    tx.create_group("acme", Plan::Pro, None, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (t, LoopbackNpm::start().await, tempfile::tempdir().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn plughub_s_names_install_from_plughub_only_and_others_from_npm() {
    for backend in BACKENDS {
        let (t, npm, dir) = org_world(backend).await;
        let name = "@acme/plugin-x";
        // The same name and version on npm, with other (malicious) bytes.
        let m = manifest(name, "1.0.0");
        npm.publish_version(
            m.clone(),
            package(&m, &[("dist/index.js", "export default { evil: true };")]),
            None,
        );
        let ours = package(&m, &[("dist/index.js", "export default { name: 'x' };")]);
        let integrity = put_version(&t.store, &m, ours, "published").await;
        // A name only npm has.
        let only_npm = manifest("@acme/plugin-npm-only", "2.0.0");
        npm.publish_version(
            only_npm.clone(),
            package(&only_npm, &[("dist/index.js", "export default {};")]),
            None,
        );
        // A name plughub holds with nothing published (quarantined), also on npm.
        let held = manifest("@acme/plugin-held", "1.0.0");
        npm.publish_version(
            held.clone(),
            package(&held, &[("dist/index.js", "export default { npm: true };")]),
            None,
        );
        put_version(
            &t.store,
            &held,
            package(&held, &[("dist/index.js", "export default {};")]),
            "quarantined",
        )
        .await;

        let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
        let record = inst.install("acme", name, &opts("alice")).await.unwrap();
        assert_eq!(record.version(), "1.0.0");
        assert_eq!(
            record.current.integrity.as_deref(),
            Some(integrity.as_str()),
            "{backend:?}: plughub's bytes, verified against plughub's integrity"
        );
        let folder = record.current.package.clone().unwrap();
        assert!(folder.ends_with("+plughub"), "{folder}");
        let code =
            std::fs::read_to_string(inst.packages().path(&folder).join("dist/index.js")).unwrap();
        assert!(
            code.contains("name: 'x'") && !code.contains("evil"),
            "{code}"
        );
        assert!(
            !npm.paths().iter().any(|p| p.contains("plugin-x")),
            "npm was never asked for plughub's name: {:?}",
            npm.paths()
        );

        let record = inst
            .install("acme", "@acme/plugin-npm-only", &opts("alice"))
            .await
            .unwrap();
        assert_eq!(record.version(), "2.0.0");
        assert!(
            !record
                .current
                .package
                .clone()
                .unwrap()
                .ends_with("+plughub"),
            "an npm package's folder is npm's"
        );

        let err = inst
            .install("acme", "@acme/plugin-held", &opts("alice"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                LifecycleError::Install(InstallError::NotPublished { .. })
            ),
            "{err}"
        );
        assert!(err.to_string().contains("never taken from npm"), "{err}");
        assert!(
            !npm.paths().iter().any(|p| p.contains("plugin-held")),
            "no fall back to npm: {:?}",
            npm.paths()
        );
        t.cleanup().await;
    }
}

/// Dependency confusion through pnpm: pnpm fetches a plugin's dependencies from npm, so a dependency
/// with a name published to plughub is refused before pnpm runs, and one deep in the installed tree after
/// it ran. A plugin this plugin requires (installed by plughub as a plugin, from plughub) still installs
/// when its name is also in `dependencies`: pnpm is not asked for it.
#[tokio::test(flavor = "multi_thread")]
async fn plughub_names_never_come_through_pnpm() {
    for backend in BACKENDS {
        let (t, npm, dir) = org_world(backend).await;
        // plughub's library, and a same-named one on npm with other bytes.
        let lib = json!({ "name": "@acme/lib-ours", "version": "1.0.0", "main": "index.js" });
        npm.publish_version(
            lib.clone(),
            package(&lib, &[("index.js", "module.exports = 'evil';")]),
            None,
        );
        put_version(
            &t.store,
            &lib,
            package(&lib, &[("index.js", "module.exports = 'ours';")]),
            "published",
        )
        .await;
        // Direct, in each field pnpm reads.
        for (i, field) in ["dependencies", "optionalDependencies", "peerDependencies"]
            .iter()
            .enumerate()
        {
            let plugin = format!("@acme/plugin-direct{i}");
            let mut extra = serde_json::Map::new();
            extra.insert(field.to_string(), json!({ "@acme/lib-ours": "^1.0.0" }));
            publish_with(&npm, &plugin, "1.0.0", serde_json::Value::Object(extra));
        }
        // Transitive: an npm-only library depending on plughub's name.
        let mid = json!({ "name": "@acme/lib-mid", "version": "1.0.0", "main": "index.js",
                          "dependencies": { "@acme/lib-ours": "1.0.0" } });
        npm.publish_version(
            mid.clone(),
            package(&mid, &[("index.js", "module.exports = 1;")]),
            None,
        );
        publish_with(
            &npm,
            "@acme/plugin-deep",
            "1.0.0",
            json!({ "dependencies": { "@acme/lib-mid": "^1.0.0" } }),
        );
        // A required plugin published to plughub, also named in dependencies.
        let required = manifest("@acme/plugin-base", "1.0.0");
        put_version(
            &t.store,
            &required,
            package(&required, &[("dist/index.js", "export default {};")]),
            "published",
        )
        .await;
        publish_with(
            &npm,
            "@acme/plugin-top",
            "1.0.0",
            json!({ "dependencies": { "@acme/plugin-base": "^1.0.0" } }),
        );

        let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
        for i in 0..3 {
            let err = inst
                .install("acme", &format!("@acme/plugin-direct{i}"), &opts("alice"))
                .await
                .unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("@acme/lib-ours")
                    && text.contains("cannot yet be dependencies fetched by pnpm"),
                "{backend:?} {i}: {text}"
            );
        }
        assert!(
            !npm.paths().iter().any(|p| p.contains("lib-ours")),
            "{backend:?}: refused before pnpm asked npm: {:?}",
            npm.paths()
        );
        let err = inst
            .install("acme", "@acme/plugin-deep", &opts("alice"))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("@acme/lib-ours") && text.contains("dependency tree pnpm installed"),
            "{backend:?}: {text}"
        );
        let record = inst
            .install("acme", "@acme/plugin-top", &opts("alice"))
            .await
            .unwrap();
        assert_eq!(record.version(), "1.0.0");
        // The requirement was installed with it, as a plugin of its own (installing it again says so).
        let again = inst
            .install("acme", "@acme/plugin-base", &opts("alice"))
            .await
            .unwrap_err();
        assert!(
            matches!(again, LifecycleError::AlreadyInstalled { .. }),
            "{again}"
        );
        assert!(
            !npm.paths().iter().any(|p| p.contains("plugin-base")),
            "{backend:?}: the required plugin came from plughub only: {:?}",
            npm.paths()
        );
        t.cleanup().await;
    }
}
