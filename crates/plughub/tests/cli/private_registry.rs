//! Private registries: plughub's npm client honours the npm configuration's tokens
//! (`//host:port/path/:_authToken=…`, `${VAR}` expanded) and scoped registries (`@scope:registry=…`), read
//! from the file NPM_CONFIG_USERCONFIG names, as npm reads it; pnpm (the plugin's own dependencies) gets
//! the same configuration. A token goes only to the registry it is configured for.

use crate::common::*;
use std::path::Path;

const TOKEN: &str = "s3cret-private-token";

fn publish(npm: &LoopbackNpm, name: &str, code: &str, deps: Value) {
    let manifest = serde_json::json!({ "name": name, "version": "1.0.0", "type": "module",
        "main": "index.js", "keywords": ["elizaos-plugins"], "dependencies": deps });
    let tarball = plughub_testkit::tarball::package(&manifest, &[("index.js", code)]);
    npm.publish_version(manifest, tarball, None);
}

/// plughub with `registry` as npm's default and `npmrc` as the user's npm configuration, in a home of
/// its own (so that the machine's ~/.npmrc plays no part).
fn plughub_with(dir: &Path, registry: &str, npmrc: &str) -> Command {
    let userconfig = dir.join("npmrc");
    std::fs::write(&userconfig, npmrc).unwrap();
    let mut cmd = plughub(&dir.join("data"));
    cmd.current_dir(dir)
        .env("HOME", dir)
        .env("NPM_CONFIG_REGISTRY", registry)
        .env("NPM_CONFIG_USERCONFIG", &userconfig)
        .env("PRIVATE_TOKEN", TOKEN);
    cmd
}

async fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    share_pnpm(&dir.path().join("data")).await;
    let out = run(plughub(&dir.path().join("data")).args([
        "admin",
        "create-org",
        "acme",
        "--plan",
        "pro",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    dir
}

fn installed_code(dir: &Path, name: &str) -> String {
    let folder = std::fs::read_dir(dir.join("data/packages/pkgs"))
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&name.replace('/', "+"))
        })
        .unwrap_or_else(|| panic!("{name} in the package store"));
    std::fs::read_to_string(folder.path().join("index.js")).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registry_needing_a_token_installs_with_the_token_of_the_npm_configuration() {
    let private = LoopbackNpm::start().await;
    publish(
        &private,
        "@private/plugin-x",
        "export default { name: 'x' };",
        serde_json::json!({ "@private/dep": "^1.0.0" }),
    );
    // A dependency on the same private registry: pnpm must authenticate too.
    publish(
        &private,
        "@private/dep",
        "export default 42;",
        serde_json::json!({}),
    );
    private.require_token(TOKEN);
    let dir = data_dir().await;

    // No token: refused, saying by whom and what to configure.
    let out = run(plughub_with(dir.path(), &private.url, "").args([
        "install",
        "@private/plugin-x",
        "--org",
        "acme",
    ]));
    assert!(!out.status.success());
    let err = text(&out.stderr);
    let prefix = private.url.trim_start_matches("http:");
    assert!(
        err.contains("the registry refused (401")
            && err.contains(&format!("`{prefix}:_authToken=<token>`"))
            && err.contains("NPM_CONFIG_USERCONFIG"),
        "{err}"
    );

    // The token in the user's npm configuration, from an environment variable as npm expands it.
    let npmrc = format!("{prefix}:_authToken=${{PRIVATE_TOKEN}}\n");
    let out = run(plughub_with(dir.path(), &private.url, &npmrc).args([
        "install",
        "@private/plugin-x",
        "--org",
        "acme",
    ]));
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(installed_code(dir.path(), "@private/plugin-x").contains("name: 'x'"));
    let asked = private.paths();
    assert!(
        asked
            .iter()
            .any(|p| p.contains("@private__dep") || p.contains("dep-1.0.0")),
        "pnpm fetched the dependency from the private registry: {asked:?}"
    );
    let auths = private.authorizations();
    let with_token = auths
        .iter()
        .filter(|a| **a == format!("Bearer {TOKEN}"))
        .count();
    assert!(with_token >= 3, "{auths:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scoped_registry_serves_its_scope_only_and_its_token_goes_nowhere_else() {
    let public = LoopbackNpm::start().await;
    let private = LoopbackNpm::start().await;
    publish(
        &public,
        "plugin-public",
        "export default { name: 'public' };",
        serde_json::json!({}),
    );
    // The default registry has the scoped name too, with other code: the scope's registry wins.
    publish(
        &public,
        "@private/plugin-y",
        "export default { name: 'impostor' };",
        serde_json::json!({}),
    );
    publish(
        &private,
        "@private/plugin-y",
        "export default { name: 'y' };",
        serde_json::json!({}),
    );
    private.require_token(TOKEN);
    let dir = data_dir().await;
    let prefix = private.url.trim_start_matches("http:");
    let npmrc = format!(
        "@private:registry={}\n{prefix}:_authToken={TOKEN}\n",
        private.url
    );

    for name in ["@private/plugin-y", "plugin-public"] {
        let out =
            run(plughub_with(dir.path(), &public.url, &npmrc)
                .args(["install", name, "--org", "acme"]));
        assert!(
            out.status.success(),
            "{name}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    assert!(installed_code(dir.path(), "@private/plugin-y").contains("name: 'y'"));
    assert!(installed_code(dir.path(), "plugin-public").contains("name: 'public'"));
    assert!(
        !public.paths().iter().any(|p| p.contains("plugin-y")),
        "the scope never went to the default registry: {:?}",
        public.paths()
    );
    assert!(
        public.authorizations().iter().all(String::is_empty),
        "the private registry's token went to the default one: {:?}",
        public.authorizations()
    );
    assert!(!private.paths().iter().any(|p| p.contains("plugin-public")));
}
