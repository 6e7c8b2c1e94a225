//! `plughub.toml` under the environment and the flags: what `--print-config` says is in force and
//! where from, what `--check-config` refuses, and a server started from the file alone.

use crate::common::*;

fn config_file(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("plughub.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = config_file(
        dir.path(),
        "[server]\nlisten = \"127.0.0.1:9001\"\nshutdown_deadline = 12\n\
         [limits]\nrecycle_after = 7\nbooted_workers = 3\nbreaker_failures = 4\n\
         [catalog]\nsync = false\n\
         [store]\ndatabase_url = \"postgres://app:s3cret@db.invalid:5432/plughub\"\n",
    );
    let out = ok(plughub(&dir.path().join("data"))
        .args(["serve", "--print-config", "--booted-workers", "1"])
        .env("PLUGHUB_CONFIG", &file)
        .env("PLUGHUB_SHUTDOWN_DEADLINE", "20")
        .env("PLUGHUB_LISTEN", "127.0.0.1:9002"));
    let line = |key: &str| -> String {
        out.lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("no {key} in:\n{out}"))
            .to_string()
    };
    let path = file.display().to_string();
    // The flag over the file.
    assert_eq!(line("booted_workers"), "booted_workers = 1  # flag");
    // The environment over the file.
    assert_eq!(
        line("listen"),
        "listen = \"127.0.0.1:9002\"  # environment PLUGHUB_LISTEN"
    );
    assert_eq!(
        line("shutdown_deadline"),
        "shutdown_deadline = 20  # environment PLUGHUB_SHUTDOWN_DEADLINE"
    );
    // The file over the defaults.
    assert_eq!(
        line("recycle_after"),
        format!("recycle_after = 7  # {path}")
    );
    assert_eq!(
        line("breaker_failures"),
        format!("breaker_failures = 4  # {path}")
    );
    assert_eq!(line("sync"), format!("sync = false  # {path}"));
    // The defaults where nothing is set.
    assert_eq!(line("concurrency"), "concurrency = 8  # default");
    // The data directory is the flag the tests give.
    assert!(line("data_dir").ends_with("# flag"), "{out}");
    // The password is never printed.
    assert!(!out.contains("s3cret"), "{out}");
    assert!(line("database_url").contains("app:***@db.invalid"), "{out}");
    // What is printed is a configuration file plughub reads back as it is.
    let again = config_file(dir.path(), &out.replace("app:***@", "app@"));
    let checked = ok(plughub(&dir.path().join("data"))
        .args(["serve", "--check-config"])
        .env("PLUGHUB_CONFIG", &again));
    assert!(checked.contains("the configuration is valid"), "{checked}");
}

#[test]
fn check_config_names_the_bad_key_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (file_text, says) in [
        (
            "[server]\nlisen = \"127.0.0.1:1\"\n",
            "unknown key `server.lisen`; the keys of [server] are listen",
        ),
        (
            "[limits]\nrecycle_after = \"ten\"\n",
            "`limits.recycle_after`: expected a whole number, found string",
        ),
        (
            "[limits]\nbreaker_failures = 0\n",
            "`limits.breaker_failures` = \"0\": invalid value '0'",
        ),
        (
            "[server]\ntrusted_proxies = [\"10.0.0.0/99\"]\n",
            "`server.trusted_proxies` = \"10.0.0.0/99\"",
        ),
        ("[server]\nlisten = \"everywhere\"\n", "give HOST:PORT"),
        ("[server\n", "not valid TOML"),
    ] {
        let file = config_file(dir.path(), file_text);
        let out = run(plughub(&data)
            .args(["serve", "--check-config"])
            .env("PLUGHUB_CONFIG", &file));
        assert_eq!(out.status.code(), Some(1), "{file_text}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&file.display().to_string()) && stderr.contains(says),
            "{file_text}: {stderr}"
        );
        // The same file stops the server before it starts, with the same reason.
        let out = run(plughub(&data)
            .args(["serve", "--listen", "127.0.0.1:0", "--no-sync"])
            .env("PLUGHUB_CONFIG", &file));
        assert_eq!(out.status.code(), Some(1), "{file_text}");
        assert!(text(&out.stderr).contains(says));
    }
    // A value given by the environment is checked too, and so is a file that is not there.
    let out = run(plughub(&data)
        .args(["serve", "--check-config"])
        .env("PLUGHUB_PUBLIC_URL", "plughub.example.org"));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("`server.public_url`"));
    let out = run(plughub(&data)
        .args(["serve", "--check-config"])
        .env("PLUGHUB_CONFIG", dir.path().join("missing.toml")));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read the configuration file"));
}

#[test]
fn the_server_takes_its_address_and_settings_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = config_file(
        dir.path(),
        "[server]\nlisten = \"127.0.0.1:0\"\n[catalog]\nsync = false\npoll = 0\n",
    );
    let (server, addr) = serve(plughub(&data).arg("serve").env("PLUGHUB_CONFIG", &file));
    let (status, _) = http_get(&addr, "/healthz");
    assert_eq!(status, 200);
    drop(server);
}
