//! Fetching packages from an npm registry the test serves on loopback, with tarballs the test builds:
//! the normal path, every hostile-archive case, integrity mismatch, and the registry's refusals.

use plughub_domain::CoreMajor;
use plughub_install::{ExtractLimits, InstallError, extract_tarball, fetch_from_npm, open_local};
use plughub_npm::NpmClient;
use plughub_testkit::http::LoopbackNpm;
use plughub_testkit::tarball::{Entry, file, package, tgz};
use serde_json::{Value, json};
use std::path::Path;

fn manifest(name: &str, version: &str, core: &str) -> Value {
    json!({ "name": name, "version": version, "type": "module", "main": "dist/index.js",
            "dependencies": { "@elizaos/core": core } })
}

fn leftovers(parent: &Path) -> Vec<String> {
    std::fs::read_dir(parent)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_plugin_is_resolved_downloaded_verified_and_extracted() {
    let npm = LoopbackNpm::start().await;
    for (version, core) in [
        ("1.0.0", "^1.0.0"),
        ("1.1.0", "^1.7.0"),
        ("2.0.0-alpha.1", "2.0.0-alpha.3"),
    ] {
        let m = manifest("@acme/plugin-hello", version, core);
        let body = format!("export default {{ name: 'hello', version: '{version}' }};");
        npm.publish_version(m.clone(), package(&m, &[("dist/index.js", &body)]), None);
    }
    let dir = tempfile::tempdir().unwrap();
    let client = NpmClient::new(&npm.url);

    let got = fetch_from_npm(
        &client,
        "@acme/plugin-hello",
        None,
        Some(CoreMajor::V1),
        &dir.path().join("a"),
        &ExtractLimits::default(),
    )
    .await
    .unwrap();
    // The newest release is 2.0.0-alpha.1 (latest moved to it), but core v1 wants 1.1.0.
    assert_eq!(got.version, "1.1.0");
    assert!(got.integrity.as_deref().unwrap().starts_with("sha512-"));
    let index = std::fs::read_to_string(got.dir.join("dist/index.js")).unwrap();
    assert!(index.contains("1.1.0"));
    let pkg: Value =
        serde_json::from_str(&std::fs::read_to_string(got.dir.join("package.json")).unwrap())
            .unwrap();
    assert_eq!(pkg["name"], "@acme/plugin-hello");

    let v2 = fetch_from_npm(
        &client,
        "@acme/plugin-hello",
        Some("2.0.0-alpha.1"),
        None,
        &dir.path().join("b"),
        &ExtractLimits::default(),
    )
    .await
    .unwrap();
    assert_eq!(v2.version, "2.0.0-alpha.1");
}

#[tokio::test]
async fn the_registry_says_no_clearly() {
    let npm = LoopbackNpm::start().await;
    let m = manifest("@acme/plugin-hello", "1.0.0", "^1.0.0");
    npm.publish_version(m.clone(), package(&m, &[]), None);
    let client = NpmClient::new(&npm.url);
    let dir = tempfile::tempdir().unwrap();
    let limits = ExtractLimits::default();

    let err = fetch_from_npm(
        &client,
        "@acme/plugin-absent",
        None,
        None,
        &dir.path().join("x"),
        &limits,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, InstallError::NotOnNpm { .. }), "{err}");
    assert!(err.to_string().contains("not on the npm registry"), "{err}");

    let err = fetch_from_npm(
        &client,
        "@acme/plugin-hello",
        Some("3.0.0"),
        None,
        &dir.path().join("x"),
        &limits,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("notarget") && err.to_string().contains("1.0.0"),
        "{err}"
    );

    let err = fetch_from_npm(
        &client,
        "@acme/plugin-hello",
        None,
        Some(CoreMajor::V0),
        &dir.path().join("x"),
        &limits,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("no version works with core v0"),
        "{err}"
    );
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[tokio::test]
async fn a_tarball_that_does_not_match_its_integrity_is_not_installed() {
    let npm = LoopbackNpm::start().await;
    let m = manifest("@acme/plugin-tampered", "1.0.0", "^1.0.0");
    let honest = package(&m, &[("dist/index.js", "export default {}")]);
    let lie = plughub_install::integrity::sri_of(b"the bytes that were reviewed");
    npm.publish_version(m, honest, Some(&lie));
    let dir = tempfile::tempdir().unwrap();
    let err = fetch_from_npm(
        &NpmClient::new(&npm.url),
        "@acme/plugin-tampered",
        None,
        None,
        &dir.path().join("x"),
        &ExtractLimits::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, InstallError::IntegrityMismatch { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("@acme/plugin-tampered@1.0.0") && err.to_string().contains(&lie),
        "{err}"
    );
    assert!(leftovers(dir.path()).is_empty());
}

fn refuse(archive: Vec<u8>, limits: &ExtractLimits, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("pkg");
    let err = extract_tarball(&archive, &dest, limits).unwrap_err();
    assert!(matches!(err, InstallError::Unsafe(_)), "{expected}: {err}");
    assert!(
        err.to_string().contains(expected),
        "'{err}' should contain '{expected}'"
    );
    assert!(err.to_string().contains("nothing was extracted"));
    assert!(
        leftovers(dir.path()).is_empty(),
        "{expected}: left {:?}",
        leftovers(dir.path())
    );
    // And nothing landed where the hostile entries pointed.
    assert!(!dir.path().join("evil").exists() && !Path::new("/tmp/plughub-evil-marker").exists());
}

#[test]
fn hostile_archives_are_refused_whole() {
    let ok = || {
        file(
            "package/package.json",
            br#"{"name":"x","version":"1.0.0"}"#.to_vec(),
        )
    };
    let limits = ExtractLimits::default();
    refuse(
        tgz(&[ok(), file("/tmp/plughub-evil-marker", "x")]),
        &limits,
        "absolute path",
    );
    refuse(
        tgz(&[ok(), file("package/../../evil", "x")]),
        &limits,
        "climbs out with '..'",
    );
    refuse(
        tgz(&[
            ok(),
            Entry::Symlink {
                path: "package/passwd".into(),
                target: "/etc/passwd".into(),
            },
        ]),
        &limits,
        "points outside the package",
    );
    refuse(
        tgz(&[
            ok(),
            Entry::Symlink {
                path: "package/up".into(),
                target: "../../evil".into(),
            },
        ]),
        &limits,
        "points outside the package",
    );
    refuse(
        tgz(&[
            ok(),
            Entry::Symlink {
                path: "package/lib".into(),
                target: "dist".into(),
            },
            file("package/lib/x.js", "1"),
        ]),
        &limits,
        "writes through the link",
    );
    // A chain of links each checked alone stays inside, together they climb out.
    let link = |path: &str, target: &str| Entry::Symlink {
        path: path.into(),
        target: target.into(),
    };
    refuse(
        tgz(&[
            ok(),
            link("package/s/l1", ".."),
            link("package/s/l2", "l1/.."),
            link("package/CHANGELOG.md", "s/l2/evil"),
        ]),
        &limits,
        "points through another link",
    );
    // The same chain written in the other order: the later link changes where the earlier one leads.
    refuse(
        tgz(&[
            ok(),
            link("package/s/l2", "l1/.."),
            link("package/s/l1", ".."),
        ]),
        &limits,
        "leads outside the package through other links",
    );
    refuse(
        tgz(&[ok(), link("package/CHANGELOG.md", "missing.md")]),
        &limits,
        "leads to nothing in the package",
    );
    refuse(
        tgz(&[
            ok(),
            Entry::HardLink {
                path: "package/h".into(),
                target: "package/package.json".into(),
            },
        ]),
        &limits,
        "hard link",
    );
    refuse(
        tgz(&[
            ok(),
            Entry::CharDevice {
                path: "package/dev".into(),
            },
        ]),
        &limits,
        "device or FIFO",
    );
    refuse(
        tgz(&[
            ok(),
            Entry::Fifo {
                path: "package/fifo".into(),
            },
        ]),
        &limits,
        "device or FIFO",
    );

    // A bomb: 8 MB of zeros pack into a few kilobytes.
    refuse(
        tgz(&[ok(), file("package/zeros", vec![0u8; 8 << 20])]),
        &limits,
        "unpacks to more than",
    );
    let small = ExtractLimits {
        max_total_bytes: 1 << 20,
        max_ratio: 1_000_000,
        ..limits
    };
    let noise: Vec<u8> = (0..(2u32 << 20))
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    refuse(
        tgz(&[ok(), file("package/big", noise)]),
        &small,
        "unpacks to more than 1048576 bytes",
    );
    let few = ExtractLimits {
        max_files: 3,
        ..limits
    };
    let many: Vec<Entry> = (0..10)
        .map(|i| file(&format!("package/f{i}.js"), "1"))
        .collect();
    refuse(tgz(&many), &few, "more than 3 entries");
    refuse(b"not a tarball at all".to_vec(), &limits, "archive");
}

#[test]
fn inside_links_and_local_packages_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    let archive = tgz(&[
        file(
            "package/package.json",
            br#"{"name":"@me/plugin-local","version":"0.1.0"}"#.to_vec(),
        ),
        file("package/dist/index.js", "export default {}"),
        Entry::Symlink {
            path: "package/index.js".into(),
            target: "dist/index.js".into(),
        },
    ]);
    let tgz_path = dir.path().join("plugin-local-0.1.0.tgz");
    std::fs::write(&tgz_path, &archive).unwrap();
    let got = open_local(
        &tgz_path,
        &dir.path().join("out"),
        &ExtractLimits::default(),
    )
    .unwrap();
    assert_eq!(
        (got.name.as_str(), got.version.as_str()),
        ("@me/plugin-local", "0.1.0")
    );
    assert_eq!(
        std::fs::read_to_string(got.dir.join("index.js")).unwrap(),
        "export default {}"
    );
    assert!(got.integrity.is_some());

    let folder = open_local(
        &got.dir,
        &dir.path().join("unused"),
        &ExtractLimits::default(),
    )
    .unwrap();
    assert_eq!(folder.dir, got.dir);
    assert!(!dir.path().join("unused").exists());
    let err = open_local(
        &dir.path().join("nothing-here"),
        &dir.path().join("o2"),
        &ExtractLimits::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("nothing-here"), "{err}");
}

/// A registry URL's user name and password never reach an install error.
#[tokio::test]
async fn an_install_error_does_not_show_the_registry_s_password() {
    let npm = LoopbackNpm::start().await;
    let url = npm.url.replacen("http://", "http://ops:s3cret@", 1);
    let work = tempfile::tempdir().unwrap();
    let err = fetch_from_npm(
        &NpmClient::new(&url),
        "@acme/nowhere",
        None,
        None,
        &work.path().join("pkg"),
        &ExtractLimits::default(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("@acme/nowhere"), "{err}");
    assert!(!err.contains("s3cret") && !err.contains("ops:"), "{err}");
}
