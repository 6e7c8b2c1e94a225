//! `plughub admin`.

use crate::common::*;

#[test]
fn organisations_are_created_once_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        run(plughub(dir.path()).args(["admin", "create-org", "acme", "--plan", "pro", "--json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let acme: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (acme["name"].as_str(), acme["plan"].as_str()),
        (Some("acme"), Some("pro"))
    );
    let out = run(plughub(dir.path()).args(["admin", "create-org", "acme"]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("exists already"),
        "{}",
        text(&out.stderr)
    );
    let out = run(plughub(dir.path()).args(["admin", "create-org", "acme-eu", "--parent", "acme"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (args, expected) in [
        (
            vec!["admin", "create-org", "bad name"],
            "not a usable organisation name",
        ),
        (
            vec!["admin", "create-org", "x", "--plan", "gold"],
            "unknown Plan 'gold'",
        ),
        (
            vec!["admin", "create-org", "y", "--parent", "nobody"],
            "no organisation named 'nobody'",
        ),
    ] {
        let out = run(plughub(dir.path()).args(&args));
        assert!(
            !out.status.success() && text(&out.stderr).contains(expected),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = run(plughub(dir.path()).args(["admin", "orgs", "--json"]));
    let orgs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(orgs.as_array().unwrap().len(), 2);
    assert_eq!(orgs[1]["parent_id"], acme["id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn people_roles_and_tokens_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |args: &[&str]| {
        let out = run(plughub(d).args(args));
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let fails = |args: &[&str], expected: &str| {
        let out = run(plughub(d).args(args));
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(
            text(&out.stderr).contains(expected),
            "{args:?}: {}",
            text(&out.stderr)
        );
    };
    ok(&["admin", "create-org", "acme"]);
    let made: Value = serde_json::from_str(&ok(&[
        "admin",
        "create-user",
        "ada@acme.test",
        "--name",
        "Ada",
        "--org",
        "acme",
        "--role",
        "org_owner",
        "--json",
    ]))
    .unwrap();
    let password = made["password"].as_str().expect("a password was made");
    assert!(password.len() >= 40, "{password}");
    fails(&["admin", "create-user", "ada@acme.test"], "exists already");
    fails(
        &["admin", "create-user", "not-an-email"],
        "is not an email address",
    );
    fails(
        &[
            "admin",
            "set-role",
            "ada@acme.test",
            "--org",
            "acme",
            "--role",
            "boss",
        ],
        "unknown Role 'boss'",
    );
    fails(
        &[
            "admin",
            "set-role",
            "ada@acme.test",
            "--org",
            "globex",
            "--role",
            "org_user",
        ],
        "no organisation named 'globex'",
    );
    // A password given on stdin.
    let mut child = plughub(d)
        .args(["admin", "create-user", "bo@acme.test", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"bo's long password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("password"), "nothing to show");

    let token: Value = serde_json::from_str(&ok(&[
        "admin",
        "create-token",
        "ada@acme.test",
        "--name",
        "ci",
        "--days",
        "7",
        "--json",
    ]))
    .unwrap();
    let secret = token["token"].as_str().unwrap();
    let id = token["id"].as_str().unwrap();
    let listed = ok(&["admin", "tokens", "ada@acme.test", "--json"]);
    assert!(listed.contains(id) && !listed.contains(secret), "{listed}");
    fails(
        &["admin", "create-token", "ada@acme.test", "--days", "400"],
        "1 to 365 days",
    );

    // What the secret proves, as a server will check it.
    let accounts = plughub_accounts::Accounts::new(store_of(d).await);
    let who = accounts.authenticate_token(secret).await.unwrap();
    assert_eq!(who.email, "ada@acme.test");
    assert_eq!(who.memberships[0].role, plughub_domain::Role::OrgOwner);
    let (session, _) = accounts
        .login(
            "bo@acme.test",
            "bo's long password",
            std::net::Ipv4Addr::LOCALHOST.into(),
        )
        .await
        .unwrap();
    assert!(accounts.authenticate_session(&session).await.is_ok());

    ok(&["admin", "revoke-token", id]);
    assert!(ok(&["admin", "tokens", "ada@acme.test"]).contains("revoked"));
    fails(
        &["admin", "revoke-token", id],
        "that is not revoked already",
    );
    // Revoked by another process: a server that checked the token a moment ago refuses it once that
    // check is `TOKEN_RECHECK` old.
    tokio::time::sleep(plughub_accounts::TOKEN_RECHECK).await;
    assert!(accounts.authenticate_token(secret).await.is_err());
}
