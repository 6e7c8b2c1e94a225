//! Checking a download against the registry's `dist.integrity` (SRI, sha512 today), or the older
//! `dist.shasum` (sha1 hex) where a document has nothing else.

use crate::InstallError;
use ssri::Integrity;

/// What the document promised for a tarball.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    Sri(String),
    Sha1Hex(String),
}

/// The SRI string of some bytes, sha512 as npm writes it.
pub fn sri_of(bytes: &[u8]) -> String {
    ssri::IntegrityOpts::new()
        .algorithm(ssri::Algorithm::Sha512)
        .chain(bytes)
        .result()
        .to_string()
}

pub fn verify(
    name: &str,
    version: &str,
    expected: &Expected,
    bytes: &[u8],
) -> Result<String, InstallError> {
    let sri = match expected {
        Expected::Sri(s) => s.clone(),
        Expected::Sha1Hex(hex) => Integrity::from_hex(hex, ssri::Algorithm::Sha1)
            .map_err(|e| InstallError::BadIntegrity {
                name: name.into(),
                version: version.into(),
                value: hex.clone(),
                reason: e.to_string(),
            })?
            .to_string(),
    };
    let parsed: Integrity = sri
        .parse()
        .map_err(|e: ssri::Error| InstallError::BadIntegrity {
            name: name.into(),
            version: version.into(),
            value: sri.clone(),
            reason: e.to_string(),
        })?;
    parsed
        .check(bytes)
        .map_err(|_| InstallError::IntegrityMismatch {
            name: name.into(),
            version: version.into(),
            expected: sri.clone(),
        })?;
    Ok(sri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_and_altered_bytes() {
        let sri = sri_of(b"package");
        assert!(sri.starts_with("sha512-"));
        assert_eq!(
            verify("p", "1.0.0", &Expected::Sri(sri.clone()), b"package").unwrap(),
            sri
        );
        let err = verify("p", "1.0.0", &Expected::Sri(sri), b"packagE").unwrap_err();
        assert!(
            err.to_string().contains("does not match its integrity"),
            "{err}"
        );
        // sha1 of "package"
        let sha1 = "4d3ff4f3fa1b44ecb0e9e4e0ea8e4e4c1bf7b0a0";
        assert!(verify("p", "1.0.0", &Expected::Sha1Hex(sha1.into()), b"package").is_err());
        assert!(verify("p", "1.0.0", &Expected::Sri("nonsense".into()), b"x").is_err());
    }
}
