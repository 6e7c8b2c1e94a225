//! The key ring and sealing. Sealed text: `v1.<key id>.<base64 of nonce ‖ ciphertext>`; the key id says
//! which key opens it, so old values keep opening after a rotation until they are resealed.

use crate::Secret;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// A key given in the environment (base64 of 32 bytes) replaces the key file: for deployments whose
/// secrets come from a secret manager.
pub const KEY_ENV: &str = "PLUGHUB_SECRET_KEY";

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("{KEY_ENV} must be the base64 of 32 random bytes (e.g. `openssl rand -base64 32`)")]
    BadEnvKey,
    #[error(
        "this value was sealed with key '{0}', which the key ring does not have (was the key file replaced?)"
    )]
    UnknownKey(String),
    #[error("this value does not open: it was altered, or it belongs to another place")]
    Tampered,
    #[error("this is not a sealed value")]
    NotSealed,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    /// The key new values are sealed with.
    active: String,
    /// Key id → base64 key.
    keys: Vec<(String, String)>,
}

pub struct KeyRing {
    active: String,
    keys: Vec<(String, Zeroizing<[u8; 32]>)>,
    /// Where the ring is saved; `None` for a key from the environment (rotation is then the operator's).
    path: Option<PathBuf>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active)
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl KeyRing {
    /// The ring from `PLUGHUB_SECRET_KEY` when set, else from `path`, created (owner-only) on first use.
    pub fn load_or_create(path: &Path) -> Result<KeyRing, SecretsError> {
        if let Ok(text) = std::env::var(KEY_ENV) {
            return KeyRing::from_env_value(&text);
        }
        let fail = |reason: String| SecretsError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let file: KeyFile =
                    serde_json::from_str(&text).map_err(|e| fail(format!("unreadable ({e})")))?;
                let mut keys = Vec::new();
                for (id, b64) in file.keys {
                    keys.push((
                        id.clone(),
                        decode_key(&b64)
                            .ok_or_else(|| fail(format!("key '{id}' is not 32 bytes of base64")))?,
                    ));
                }
                if !keys.iter().any(|(id, _)| *id == file.active) {
                    return Err(fail(format!(
                        "the active key '{}' is not in the file",
                        file.active
                    )));
                }
                Ok(KeyRing {
                    active: file.active,
                    keys,
                    path: Some(path.to_path_buf()),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut ring = KeyRing {
                    active: String::new(),
                    keys: Vec::new(),
                    path: Some(path.to_path_buf()),
                };
                ring.add_key();
                ring.save()?;
                Ok(ring)
            }
            Err(e) => Err(fail(e.to_string())),
        }
    }

    fn from_env_value(text: &str) -> Result<KeyRing, SecretsError> {
        let key = decode_key(text.trim()).ok_or(SecretsError::BadEnvKey)?;
        Ok(KeyRing {
            active: "env".into(),
            keys: vec![("env".into(), key)],
            path: None,
        })
    }

    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    /// Seals `plain` for `place` (e.g. `instance-id/OPENAI_API_KEY`).
    pub fn seal(&self, place: &str, plain: &Secret) -> String {
        let key = self
            .key(&self.active)
            .expect("the active key is always in the ring");
        let cipher = XChaCha20Poly1305::new(key.as_ref().into());
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.expose().as_bytes(),
                    aad: place.as_bytes(),
                },
            )
            .expect("encryption with a valid key does not fail");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        format!("v1.{}.{}", self.active, B64.encode(blob))
    }

    /// Opens a sealed value for the place it was sealed for.
    pub fn open(&self, place: &str, sealed: &str) -> Result<Secret, SecretsError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SecretsError::NotSealed);
        };
        let key = self
            .key(key_id)
            .ok_or_else(|| SecretsError::UnknownKey(key_id.to_string()))?;
        let blob = B64.decode(body).map_err(|_| SecretsError::Tampered)?;
        if blob.len() < 24 {
            return Err(SecretsError::Tampered);
        }
        let (nonce, ciphertext) = blob.split_at(24);
        let cipher = XChaCha20Poly1305::new(key.as_ref().into());
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: place.as_bytes(),
                },
            )
            .map_err(|_| SecretsError::Tampered)?;
        let text = String::from_utf8(plain).map_err(|_| SecretsError::Tampered)?;
        Ok(Secret::new(text))
    }

    /// Whether a sealed value was sealed with an older key and should be resealed.
    pub fn is_stale(&self, sealed: &str) -> bool {
        sealed.split('.').nth(1).is_some_and(|id| id != self.active)
    }

    /// Adds a new active key and saves the ring; old keys stay for opening. Reseal stored values with
    /// `open` + `seal` afterwards, then `retire` the old keys.
    pub fn rotate(&mut self) -> Result<String, SecretsError> {
        if self.path.is_none() {
            return Err(SecretsError::KeyFile {
                path: KEY_ENV.into(),
                reason: "the key comes from the environment: rotate it in your secret manager"
                    .into(),
            });
        }
        self.add_key();
        self.save()?;
        Ok(self.active.clone())
    }

    /// Drops every key but the active one, once nothing sealed with them is left.
    pub fn retire_old_keys(&mut self) -> Result<(), SecretsError> {
        let active = self.active.clone();
        self.keys.retain(|(id, _)| *id == active);
        self.save()
    }

    fn add_key(&mut self) {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&key);
        // A number that says which rotation it came from, and a random tail that tells one installation's
        // keys from another's: a value sealed elsewhere (a restore without its keys) then says which key
        // is missing instead of looking altered.
        let tail: [u8; 4] = XChaCha20Poly1305::generate_nonce(&mut OsRng)[..4]
            .try_into()
            .expect("4 of 24 random bytes");
        let id = format!(
            "k{}-{}",
            self.keys.len() + 1,
            tail.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        self.keys.push((id.clone(), bytes));
        self.active = id;
    }

    fn key(&self, id: &str) -> Option<&Zeroizing<[u8; 32]>> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, key)| key)
    }

    /// Every key of the ring, as the text of a key file (a key from the environment under its id
    /// `env`): what a backup keeps, sealed with a passphrase.
    pub fn export(&self) -> Zeroizing<String> {
        let file = KeyFile {
            active: self.active.clone(),
            keys: self
                .keys
                .iter()
                .map(|(id, k)| (id.clone(), B64.encode(k.as_ref())))
                .collect(),
        };
        Zeroizing::new(serde_json::to_string_pretty(&file).expect("key files serialise"))
    }

    /// Makes `path` the key file holding `exported` (what [`KeyRing::export`] gave), owner-only; refuses
    /// when there is one already, whose keys would be lost.
    pub fn import(path: &Path, exported: &str) -> Result<KeyRing, SecretsError> {
        let fail = |reason: String| SecretsError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        if path.exists() {
            return Err(fail(
                "there is a key file here already; move it away first (its keys may open other secrets)".into(),
            ));
        }
        let file: KeyFile =
            serde_json::from_str(exported).map_err(|e| fail(format!("not a key ring ({e})")))?;
        let mut keys = Vec::new();
        for (id, b64) in file.keys {
            let key = decode_key(&b64)
                .ok_or_else(|| fail(format!("key '{id}' is not 32 bytes of base64")))?;
            keys.push((id, key));
        }
        let ring = KeyRing {
            active: file.active,
            keys,
            path: Some(path.to_path_buf()),
        };
        if ring.key(&ring.active).is_none() {
            return Err(fail("the active key is not among the keys".into()));
        }
        ring.save()?;
        Ok(ring)
    }

    /// Writes the ring beside and renames it into place, owner-only: a crash never leaves half a key file.
    fn save(&self) -> Result<(), SecretsError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let fail = |reason: String| SecretsError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let text = self.export();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        }
        let tmp = path.with_extension("tmp");
        write_private(&tmp, text.as_bytes()).map_err(|e| fail(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| fail(e.to_string()))
    }
}

fn decode_key(b64: &str) -> Option<Zeroizing<[u8; 32]>> {
    let bytes = Zeroizing::new(B64.decode(b64).ok()?);
    let mut key = Zeroizing::new([0u8; 32]);
    (bytes.len() == 32).then(|| {
        key.copy_from_slice(&bytes);
        key
    })
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_from_the_environment_seals_and_cannot_be_rotated_here() {
        let mut ring = KeyRing::from_env_value(&B64.encode([7u8; 32])).unwrap();
        let sealed = ring.seal("p", &Secret::new("v"));
        assert!(sealed.starts_with("v1.env."));
        assert_eq!(ring.open("p", &sealed).unwrap().expose(), "v");
        assert!(
            ring.rotate()
                .unwrap_err()
                .to_string()
                .contains("secret manager")
        );
        assert!(matches!(
            KeyRing::from_env_value("short"),
            Err(SecretsError::BadEnvKey)
        ));
    }
}
