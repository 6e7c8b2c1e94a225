use plughub_secrets::{KeyRing, Secret, SecretsError};

#[test]
fn sealed_values_open_only_where_they_belong() {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::load_or_create(&dir.path().join("keys.json")).unwrap();
    let secret = Secret::new("sk-live-1234567890");
    let sealed = ring.seal("inst-1/OPENAI_API_KEY", &secret);
    assert!(
        sealed.starts_with(&format!("v1.{}.", ring.active_key_id()))
            && ring.active_key_id().starts_with("k1-")
            && !sealed.contains("sk-live"),
        "{sealed}"
    );
    assert_eq!(ring.open("inst-1/OPENAI_API_KEY", &sealed).unwrap(), secret);
    // The same plaintext seals differently each time (a fresh nonce).
    assert_ne!(ring.seal("inst-1/OPENAI_API_KEY", &secret), sealed);
    // Moved to another instance or setting, or altered: it does not open.
    assert!(matches!(
        ring.open("inst-2/OPENAI_API_KEY", &sealed),
        Err(SecretsError::Tampered)
    ));
    assert!(matches!(
        ring.open("inst-1/OTHER", &sealed),
        Err(SecretsError::Tampered)
    ));
    let mut bytes = sealed.into_bytes();
    let last = bytes.len() - 3;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    assert!(
        ring.open("inst-1/OPENAI_API_KEY", &String::from_utf8(bytes).unwrap())
            .is_err()
    );
    assert!(matches!(
        ring.open("x", "plain text"),
        Err(SecretsError::NotSealed)
    ));
    assert_eq!(format!("{secret:?} {secret}"), "Secret(***) ***");
}

/// Two installations' key rings have different key ids: a value sealed by one says, in the other, which
/// key is missing (a restore without its keys) rather than looking altered.
#[test]
fn another_installations_values_name_the_missing_key() {
    let dir = tempfile::tempdir().unwrap();
    let here = KeyRing::load_or_create(&dir.path().join("here.json")).unwrap();
    let there = KeyRing::load_or_create(&dir.path().join("there.json")).unwrap();
    assert_ne!(here.active_key_id(), there.active_key_id());
    let sealed = there.seal("p", &Secret::new("v"));
    assert!(
        matches!(here.open("p", &sealed), Err(SecretsError::UnknownKey(k)) if k == there.active_key_id())
    );
}

#[test]
fn the_key_file_is_created_private_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/keys.json");
    let sealed = KeyRing::load_or_create(&path)
        .unwrap()
        .seal("p", &Secret::new("v"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let again = KeyRing::load_or_create(&path).unwrap();
    assert_eq!(again.open("p", &sealed).unwrap().expose(), "v");
    std::fs::write(&path, "{ not json").unwrap();
    let err = KeyRing::load_or_create(&path).unwrap_err().to_string();
    assert!(
        err.contains("keys.json") && err.contains("unreadable"),
        "{err}"
    );
}

#[test]
fn rotation_keeps_old_values_open_until_resealed_and_retired() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let mut ring = KeyRing::load_or_create(&path).unwrap();
    let first = ring.active_key_id().to_string();
    let old = ring.seal("p", &Secret::new("v1"));
    let second = ring.rotate().unwrap();
    assert!(second.starts_with("k2-"), "{second}");
    assert!(ring.is_stale(&old));
    assert_eq!(ring.open("p", &old).unwrap().expose(), "v1");
    let resealed = ring.seal("p", &ring.open("p", &old).unwrap());
    assert!(resealed.starts_with(&format!("v1.{second}.")) && !ring.is_stale(&resealed));
    ring.retire_old_keys().unwrap();
    let reloaded = KeyRing::load_or_create(&path).unwrap();
    assert!(matches!(reloaded.open("p", &old), Err(SecretsError::UnknownKey(k)) if k == first));
    assert_eq!(reloaded.open("p", &resealed).unwrap().expose(), "v1");
}
