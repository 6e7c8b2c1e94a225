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
