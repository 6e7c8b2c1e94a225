//! `/readyz` of a real server: what it checks and why it is not ready.

use crate::common::*;

/// A real server's readiness: store, migrations, Node and the sandbox, each with what it found; a
/// Node that is not there makes it not ready, saying so.
#[test]
fn readiness_checks_node_and_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (server, addr) = start_server(&data);
    let (status, body) = http_get(&addr, "/readyz");
    assert_eq!(status, 200, "{body}");
    let checks = body["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["store", "migrations", "node", "sandbox"], "{body}");
    assert!(
        checks[3]["detail"]
            .as_str()
            .unwrap()
            .contains("the sandbox helper runs"),
        "{body}"
    );
    drop(server);
    let (server, addr) = serve(
        plughub(&data)
            .args(["serve", "--listen", "127.0.0.1:0", "--no-sync"])
            .env("PLUGHUB_NODE", "/nowhere/node"),
    );
    let (status, body) = http_get(&addr, "/readyz");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "not_ready", "{body}");
    let node = &body["error"]["details"]["checks"][2];
    assert_eq!(node["ready"], false, "{body}");
    assert!(
        node["detail"]
            .as_str()
            .unwrap()
            .contains("/nowhere/node is not an executable file"),
        "{body}"
    );
    drop(server);
}

/// A service or container that withholds a capability the sandbox helper needs: the server says so at
/// start, and `/readyz` is 503 naming it.
#[test]
fn a_helper_without_a_capability_it_needs_is_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cmd = plughub(&data);
    let program = cmd.get_program().to_owned();
    let args: Vec<std::ffi::OsString> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut setpriv = Command::new("setpriv");
    setpriv
        .arg("--bounding-set=-sys_nice")
        .arg("--")
        .arg(&program)
        .args(&args);
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => setpriv.env(key, value),
            None => setpriv.env_remove(key),
        };
    }
    let (server, addr) = serve(setpriv.args(["serve", "--listen", "127.0.0.1:0", "--no-sync"]));
    let (status, body) = http_get(&addr, "/readyz");
    assert_eq!(status, 503, "{body}");
    let sandbox = body["error"]["details"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sandbox")
        .unwrap()
        .clone();
    assert_eq!(sandbox["ready"], false, "{body}");
    assert!(
        sandbox["detail"]
            .as_str()
            .unwrap()
            .contains("lacks CAP_SYS_NICE"),
        "{body}"
    );
    drop(server);
}
