//! A registry's token goes to that registry only: with it the document and the tarball are had; a
//! redirect to another host or port gets no token; another registry never sees it.

use plughub_npm::{DocumentOutcome, NpmClient, NpmConfig};
use plughub_testkit::http::LoopbackNpm;
use serde_json::json;

#[tokio::test]
async fn a_token_goes_to_its_registry_and_nowhere_else_not_even_on_a_redirect() {
    let private = LoopbackNpm::start().await;
    let elsewhere = LoopbackNpm::start().await;
    let manifest = json!({ "name": "@private/x", "version": "1.0.0" });
    let tarball = plughub_testkit::tarball::package(&manifest, &[("index.js", "1")]);
    private.publish_version(manifest.clone(), tarball.clone(), None);
    elsewhere.publish_version(manifest, tarball.clone(), None);
    private.require_token("t0ken");
    // The private registry sends one name to the other server (another port of the same host).
    private.redirect("@private/moved", &format!("{}@private%2fx", elsewhere.url));

    let mut config = NpmConfig::plain(&private.url);
    let prefix = private.url.trim_start_matches("http:");
    config.read_npmrc(&format!("{prefix}:_authToken=${{T}}\n"), &|v| {
        (v == "T").then(|| "t0ken".to_string())
    });
    let client = NpmClient::with_config(config);
    let DocumentOutcome::Found(doc) = client.document("@private/x").await else {
        panic!("the document with the token")
    };
    let url = doc["versions"]["1.0.0"]["dist"]["tarball"]
        .as_str()
        .unwrap();
    assert_eq!(client.tarball(url, 1 << 20).await.unwrap(), tarball);

    let DocumentOutcome::Found(_) = client.document("@private/moved").await else {
        panic!("the redirect followed")
    };
    assert_eq!(
        elsewhere.authorizations(),
        [""],
        "no token after the redirect"
    );
    assert!(
        private.authorizations().iter().all(|a| a == "Bearer t0ken"),
        "{:?}",
        private.authorizations()
    );

    // Without a token: refused, saying what to configure.
    let DocumentOutcome::Failed { reason, .. } =
        NpmClient::new(&private.url).document("@private/x").await
    else {
        panic!("refused")
    };
    assert!(
        reason.contains("401") && reason.contains(&format!("`{prefix}:_authToken=<token>`")),
        "{reason}"
    );
}
