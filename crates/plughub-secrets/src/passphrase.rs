//! Bytes sealed with a passphrase, for what leaves the machine: a backup's key ring. The key is
//! derived with Argon2id (64 MiB, 3 passes: slow to guess, once per backup), the bytes sealed with
//! XChaCha20-Poly1305; the text holds everything needed to open it but the passphrase.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const FORMAT: &str = "plughub-passphrase-v1";

/// The shortest passphrase taken: the key ring it guards opens every secret.
pub const MIN_PASSPHRASE: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    #[error("the passphrase is shorter than {MIN_PASSPHRASE} characters; choose a longer one")]
    TooShort,
    #[error("the passphrase does not open it (or it was altered)")]
    Wrong,
    #[error("not sealed with a passphrase by plughub: {0}")]
    NotSealed(String),
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    format: String,
    kdf: Kdf,
    nonce: String,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    algorithm: String,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
}

fn derive(passphrase: &str, kdf: &Kdf) -> Result<Zeroizing<[u8; 32]>, PassphraseError> {
    let salt = B64
        .decode(&kdf.salt)
        .map_err(|e| PassphraseError::NotSealed(format!("salt: {e}")))?;
    let params = argon2::Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))
        .map_err(|e| PassphraseError::NotSealed(format!("key derivation: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.as_bytes(), &salt, key.as_mut())
        .map_err(|e| PassphraseError::NotSealed(format!("key derivation: {e}")))?;
    Ok(key)
}

/// `plain` sealed with `passphrase`, as JSON text.
pub fn seal(plain: &[u8], passphrase: &str) -> Result<String, PassphraseError> {
    if passphrase.chars().count() < MIN_PASSPHRASE {
        return Err(PassphraseError::TooShort);
    }
    let salt: [u8; 16] = XChaCha20Poly1305::generate_nonce(&mut OsRng)[..16]
        .try_into()
        .expect("16 of 24 random bytes");
    let kdf = Kdf {
        algorithm: "argon2id".into(),
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
        salt: B64.encode(salt),
    };
    let key = derive(passphrase, &kdf)?;
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plain,
                aad: FORMAT.as_bytes(),
            },
        )
        .expect("sealing does not fail");
    Ok(serde_json::to_string_pretty(&Sealed {
        format: FORMAT.into(),
        kdf,
        nonce: B64.encode(nonce),
        ciphertext: B64.encode(ciphertext),
    })
    .expect("serialises"))
}

/// What [`seal`] sealed, opened with `passphrase`.
pub fn open(sealed: &str, passphrase: &str) -> Result<Zeroizing<Vec<u8>>, PassphraseError> {
    let sealed: Sealed =
        serde_json::from_str(sealed).map_err(|e| PassphraseError::NotSealed(e.to_string()))?;
    if sealed.format != FORMAT || sealed.kdf.algorithm != "argon2id" {
        return Err(PassphraseError::NotSealed(format!(
            "format {} with {}",
            sealed.format, sealed.kdf.algorithm
        )));
    }
    let key = derive(passphrase, &sealed.kdf)?;
    let nonce = B64
        .decode(&sealed.nonce)
        .ok()
        .filter(|n| n.len() == 24)
        .ok_or_else(|| PassphraseError::NotSealed("nonce".into()))?;
    let ciphertext = B64
        .decode(&sealed.ciphertext)
        .map_err(|e| PassphraseError::NotSealed(format!("ciphertext: {e}")))?;
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    cipher
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &ciphertext,
                aad: FORMAT.as_bytes(),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| PassphraseError::Wrong)
}

#[cfg(test)]
mod tests {
    #[test]
    fn it_opens_with_the_passphrase_only() {
        let sealed = super::seal(b"the keys", "correct horse battery").unwrap();
        assert!(!sealed.contains("the keys"));
        assert_eq!(
            super::open(&sealed, "correct horse battery")
                .unwrap()
                .as_slice(),
            b"the keys"
        );
        assert!(matches!(
            super::open(&sealed, "wrong horse battery"),
            Err(super::PassphraseError::Wrong)
        ));
        let altered = sealed.replace("\"iterations\": 3", "\"iterations\": 2");
        assert!(super::open(&altered, "correct horse battery").is_err());
        assert!(matches!(
            super::seal(b"x", "short"),
            Err(super::PassphraseError::TooShort)
        ));
    }
}
