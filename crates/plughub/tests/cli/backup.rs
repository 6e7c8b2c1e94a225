//! `plughub admin backup` and `restore`, on SQLite and on PostgreSQL: a restore into a fresh data
//! directory or database finds every organisation, installed plugin, setting and event, and its secrets
//! open (the plugin's init needs its key) when the keys came with it, sealed with a passphrase; without
//! them, or with a wrong passphrase, or onto a store that exists, it says so and writes nothing.

use crate::common::*;

const PASSPHRASE: &str = "correct horse battery staple";

fn run_hello(cmd: &mut Command) -> Output {
    run(cmd.args([
        "run",
        "@fixture/plugin-hello",
        "HELLO",
        "--org",
        "acme",
        "--text",
        "Ada",
    ]))
}

/// What a store holds, as the CLI shows it.
fn holdings(cmd: impl Fn() -> Command) -> (Value, Value, String) {
    let orgs: Value = serde_json::from_str(&ok(cmd().args(["admin", "orgs", "--json"]))).unwrap();
    let installed: Value =
        serde_json::from_str(&ok(cmd().args(["installed", "--org", "acme", "--json"]))).unwrap();
    let config = ok(cmd().args(["config", "@fixture/plugin-hello", "--org", "acme"]));
    (orgs, installed, config)
}

fn manifest(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

/// Backs up the store `cmd` opens, with and without keys, and restores both into fresh stores that
/// `fresh` opens; checks what each finds.
async fn backup_and_restore(
    dir: &std::path::Path,
    cmd: impl Fn() -> Command,
    fresh: impl Fn(&str) -> (Command, std::path::PathBuf),
) {
    let passphrase_file = dir.join("passphrase");
    std::fs::write(&passphrase_file, format!("{PASSPHRASE}\n")).unwrap();
    let before = holdings(&cmd);
    let plain = dir.join("backup-plain");
    let sealed = dir.join("backup-keys");
    ok(cmd().args(["admin", "backup", "--to"]).arg(&plain));
    let out = run(cmd()
        .args(["admin", "backup", "--with-keys", "--to"])
        .arg(&sealed));
    assert!(!out.status.success(), "--with-keys needs a passphrase");
    assert!(text(&out.stderr).contains("--passphrase-file"));
    assert!(!sealed.exists(), "nothing written");
    ok(cmd()
        .args(["admin", "backup", "--with-keys", "--passphrase-file"])
        .arg(&passphrase_file)
        .arg("--to")
        .arg(&sealed));
    let kept = manifest(&sealed);
    assert_eq!(kept["keys"], true);
    assert_eq!(kept["counts"]["organisations"], 1);
    assert_eq!(kept["counts"]["installed_plugins"], 1);
    let events = kept["counts"]["events"].as_i64().unwrap();
    assert!(events > 5, "{kept}");
    let packages = kept["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1, "{kept}");
    assert_eq!(
        packages[0]["copied"], true,
        "a local package is copied: {kept}"
    );
    // The sealed keys hold no key in the clear.
    let keys_text = std::fs::read_to_string(sealed.join("keys.sealed.json")).unwrap();
    assert!(keys_text.contains("argon2id") && !keys_text.contains("\"keys\""));

    // With the keys: everything, and the secret opens (the plugin's init throws without its key).
    let (mut restore, _) = fresh("with-keys");
    let out = run(restore
        .args(["admin", "restore", "--json", "--passphrase-file"])
        .arg(&passphrase_file)
        .arg("--from")
        .arg(&sealed));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["keys_restored"], true);
    assert_eq!(report["counts"]["events"].as_i64().unwrap(), events);
    let after = holdings(|| fresh("with-keys").0);
    assert_eq!(after.0, before.0, "organisations");
    assert_eq!(after.1, before.1, "installed plugins");
    assert_eq!(after.2, before.2, "settings");
    let (mut c, _) = fresh("with-keys");
    let out = run_hello(&mut c);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Hello, Ada"),
        "{}",
        text(&out.stdout)
    );

    // Onto a store that exists: refused, nothing changed.
    let (mut c, _) = fresh("with-keys");
    let out = run(c
        .args(["admin", "restore", "--passphrase-file"])
        .arg(&passphrase_file)
        .arg("--from")
        .arg(&sealed));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("holds a plughub store already"),
        "{}",
        text(&out.stderr)
    );

    // A wrong passphrase: refused before anything is written.
    let wrong = dir.join("wrong");
    std::fs::write(&wrong, "not the passphrase at all\n").unwrap();
    let (mut c, data) = fresh("wrong-passphrase");
    let out = run(c
        .args(["admin", "restore", "--passphrase-file"])
        .arg(&wrong)
        .arg("--from")
        .arg(&sealed));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("passphrase does not open"),
        "{}",
        text(&out.stderr)
    );
    assert!(!data.join("secret-keys.json").exists() && !data.join("plughub.db").exists());

    // Without the keys: everything but the keys, and the restore says where to put them; the secret
    // does not open with the new key ring a run makes.
    let (mut c, _) = fresh("without-keys");
    let out = run(c.args(["admin", "restore", "--from"]).arg(&plain));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("no keys in the backup"),
        "{}",
        text(&out.stdout)
    );
    let after = holdings(|| fresh("without-keys").0);
    assert_eq!(after.0, before.0);
    assert_eq!(after.1, before.1);
    let (mut c, _) = fresh("without-keys");
    let out = run_hello(&mut c);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("key"), "{}", text(&out.stderr));

    // A damaged backup is refused.
    let damaged = dir.join("damaged");
    Command::new("cp")
        .arg("-a")
        .arg(&plain)
        .arg(&damaged)
        .status()
        .unwrap();
    let file = if damaged.join("plughub.db").exists() {
        "plughub.db"
    } else {
        "plughub.pgdump"
    };
    let mut bytes = std::fs::read(damaged.join(file)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(damaged.join(file), bytes).unwrap();
    let (mut c, _) = fresh("damaged");
    let out = run(c.args(["admin", "restore", "--from"]).arg(&damaged));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("SHA-256 differs"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_backup_restores_everything_and_its_secrets_open_with_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    share_pnpm(&d).await;
    hello_in_acme(&d, "hk-b4ck");
    org_owner_token(&d, "owner@acme.test", "acme");
    let out = run_hello(&mut plughub(&d));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Taken while a server serves the store.
    let (server, _) = start_server(&d);
    let root = dir.path().to_path_buf();
    backup_and_restore(
        dir.path(),
        || plughub(&d),
        |name| {
            let data = root.join(format!("restored-{name}"));
            (plughub(&data), data)
        },
    )
    .await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_backup_restores_everything_and_its_secrets_open_with_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    share_pnpm(&d).await;
    let tag = std::process::id();
    let url = plughub_testkit::fresh_postgres_database(&format!("plughub_backup_{tag}")).await;
    let on = |data: &std::path::Path, url: &str| {
        let mut c = plughub(data);
        c.arg("--database-url").arg(url);
        c
    };
    hello_in(|| on(&d, &url), "acme", "hk-pg");
    let out = run_hello(&mut on(&d, &url));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut fresh_urls = std::collections::HashMap::new();
    for name in ["with-keys", "wrong-passphrase", "without-keys", "damaged"] {
        let db = format!("plughub_restored_{}_{tag}", name.replace('-', "_"));
        fresh_urls.insert(name, plughub_testkit::fresh_postgres_database(&db).await);
    }
    let root = dir.path().to_path_buf();
    backup_and_restore(
        dir.path(),
        || on(&d, &url),
        |name| {
            let data = root.join(format!("restored-{name}"));
            (on(&data, &fresh_urls[name]), data)
        },
    )
    .await;
}
