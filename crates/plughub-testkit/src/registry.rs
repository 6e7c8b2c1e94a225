//! Versions put in plughub's own registry the way a publish leaves them (the publish API's work is not
//! needed to test what reads them): the tarball with its integrity and shasum, a status, and `latest`.

use plughub_domain::{EventType, NewEvent};
use plughub_store::{NewRegistryVersion, Store};
use serde_json::{Value, json};

fn event(event_type: EventType, package: &str) -> NewEvent {
    NewEvent {
        event_type,
        actor: "test".into(),
        target: None,
        group_id: None,
        metadata: json!({ "package": package }),
    }
}

/// The sha512 SRI and the sha1 hex of `bytes`, as npm gives them in `dist`.
pub fn digests(bytes: &[u8]) -> (String, String) {
    let sri = ssri::IntegrityOpts::new()
        .algorithm(ssri::Algorithm::Sha512)
        .chain(bytes)
        .result()
        .to_string();
    let (_, shasum) = ssri::IntegrityOpts::new()
        .algorithm(ssri::Algorithm::Sha1)
        .chain(bytes)
        .result()
        .to_hex();
    (sri, shasum)
}

/// Records `manifest`'s version (name and version from it) with `tarball` in `status` ("published",
/// "quarantined", …); a published one becomes `latest`. Returns its integrity.
pub async fn put_version(
    store: &Store,
    manifest: &Value,
    tarball: Vec<u8>,
    status: &str,
) -> String {
    let package = manifest["name"].as_str().expect("a name").to_string();
    let version = manifest["version"].as_str().expect("a version").to_string();
    let namespace = match package.split_once('/') {
        Some((scope, _)) if package.starts_with('@') => scope.to_string(),
        _ => package.clone(),
    };
    let (integrity, shasum) = digests(&tarball);
    // Versions are published by a person: the test's author, made once per store.
    const AUTHOR: &str = "author@registry.test";
    let author = match store.person_by_email(AUTHOR).await.unwrap() {
        Some(p) => p.id,
        None => {
            let mut tx = store.begin().await.unwrap();
            let p = tx
                .create_person(AUTHOR, "Author", None, "test")
                .await
                .unwrap();
            tx.commit().await.unwrap();
            p.id
        }
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_registry_version(
        &NewRegistryVersion {
            package: package.clone(),
            version: version.clone(),
            namespace,
            status: status.into(),
            integrity: integrity.clone(),
            shasum,
            manifest: manifest.clone(),
            tarball,
            checks: json!({}),
            published_by: author,
        },
        &event(EventType::VersionPublished, &package),
    )
    .await
    .unwrap();
    if status == plughub_store::VERSION_PUBLISHED {
        tx.set_dist_tag(
            &package,
            "latest",
            &version,
            &event(EventType::DistTagChanged, &package),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    integrity
}
