//! The signature of a webhook delivery: HMAC-SHA256 with the webhook's secret over
//! `timestamp + "." + body`, sent as `X-Plughub-Signature: t=<unix seconds>,v1=<hex>`. The timestamp is
//! signed too, so a receiver that refuses old timestamps cannot be fed a recorded delivery again.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header a delivery's signature travels in.
pub const HEADER: &str = "X-Plughub-Signature";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// Whether `header` is a signature of `body` by `secret` made within `tolerance_secs` of `now`: what a
/// receiver does (compared in constant time).
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    if (now - timestamp).abs() > tolerance_secs {
        return false;
    }
    signatures
        .iter()
        .any(|s| mac(secret, timestamp, body).verify_slice(s).is_ok())
}

/// A new secret: 32 random bytes, hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system's random source");
    format!("whsec_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_body_and_time() {
        let header = sign("s3cret", 1_700_000_000, b"{\"a\":1}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify("s3cret", &header, b"{\"a\":1}", 1_700_000_010, 300));
        assert!(!verify("other", &header, b"{\"a\":1}", 1_700_000_010, 300));
        assert!(!verify("s3cret", &header, b"{\"a\":2}", 1_700_000_010, 300));
        assert!(!verify("s3cret", &header, b"{\"a\":1}", 1_700_001_000, 300));
        assert!(!verify("s3cret", "v1=00", b"{\"a\":1}", 1_700_000_000, 300));
    }
}
