//! Judging string literals: encoded blobs, network addresses, mining and drainer markers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Literals shorter than this are never called blobs: keys, hashes and ids are shorter.
pub const BLOB_MIN_LEN: usize = 256;

/// Shannon entropy in bits per byte.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let len = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| c as f64 / len)
        .map(|p| -p * p.log2())
        .sum()
}

/// What kind of encoded blob a literal is, if it is one. Data URIs of media (images, fonts) are not blobs:
/// bundles inline icons and fonts that way.
pub fn blob_kind(s: &str) -> Option<&'static str> {
    if s.len() < BLOB_MIN_LEN {
        return None;
    }
    if s.starts_with("data:image/") || s.starts_with("data:font/") || s.starts_with("data:audio/") {
        return None;
    }
    let body = s
        .strip_prefix("data:")
        .and_then(|r| r.split_once(','))
        .map_or(s, |(_, b)| b);
    if body.len() >= BLOB_MIN_LEN && body.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some("hex");
    }
    let base64ish = body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    // Real base64 of binary data sits near 6 bits a character; prose and identifiers sit far lower.
    if base64ish && entropy(body) >= 5.2 {
        return Some("base64");
    }
    None
}

/// Where an address sits, which decides how much a hard-coded one matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Loopback,
    /// Private, link-local, unique-local, carrier-grade NAT, or the cloud metadata address.
    Internal,
    Public,
}

pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            let first = v6.segments()[0];
            if v6.is_unspecified() {
                None
            } else if v6.is_loopback() {
                Some(AddressClass::Loopback)
            } else if (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80 {
                Some(AddressClass::Internal)
            } else {
                Some(AddressClass::Public)
            }
        }
    }
}

fn classify_v4(v4: Ipv4Addr) -> Option<AddressClass> {
    let [a, b, ..] = v4.octets();
    if v4.is_unspecified() || v4.is_broadcast() {
        None
    } else if v4.is_loopback() {
        Some(AddressClass::Loopback)
    } else if v4.is_private() || v4.is_link_local() || (a == 100 && (64..128).contains(&b)) {
        Some(AddressClass::Internal)
    } else {
        Some(AddressClass::Public)
    }
}

/// IP addresses a literal names: the whole literal, or the host of a URL in it.
pub fn addresses(s: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    let whole = s.trim();
    if let Some(ip) = parse_host(whole) {
        out.push(ip);
        return out;
    }
    let mut rest = s;
    while let Some(at) = rest.find("://") {
        let after = &rest[at + 3..];
        let authority = after
            .split(['/', '?', '#', ' ', '"', '\'', '`'])
            .next()
            .unwrap_or_default();
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if let Some(ip) = parse_host(host) {
            out.push(ip);
        }
        rest = after;
    }
    out
}

fn parse_host(host: &str) -> Option<IpAddr> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.split(']').next()?;
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && h.contains('.') => h,
        _ => host,
    };
    // Four dotted numbers only: a version such as "1.2.3" is not an address.
    if host.split('.').count() == 4 && host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host.parse::<Ipv4Addr>().ok().map(IpAddr::V4);
    }
    if host.contains("::") || host.matches(':').count() >= 2 {
        return host.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    None
}

const MINING_MARKERS: [&str; 9] = [
    "stratum+tcp://",
    "stratum+ssl://",
    "xmrig",
    "coinhive",
    "cryptonight",
    "minexmr",
    "moneroocean",
    "nanopool.org",
    "nicehash.com",
];

pub fn mining_marker(s: &str) -> Option<&'static str> {
    let lower = s.to_ascii_lowercase();
    MINING_MARKERS.into_iter().find(|m| lower.contains(m))
}

const DRAINER_KITS: [&str; 6] = [
    "inferno drainer",
    "angel drainer",
    "pink drainer",
    "monkey drainer",
    "venom drainer",
    "drainer kit",
];

pub fn drainer_marker(s: &str) -> Option<&'static str> {
    let lower = s.to_ascii_lowercase();
    DRAINER_KITS.into_iter().find(|m| lower.contains(m))
}

/// An EVM address literal (`0x` and 40 hex digits).
pub fn is_evm_address(s: &str) -> bool {
    s.len() == 42 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_urls_and_alone_but_not_versions() {
        assert_eq!(addresses("http://10.0.0.5:8080/x").len(), 1);
        assert_eq!(addresses("169.254.169.254").len(), 1);
        assert_eq!(addresses("http://[fd00::1]:80/").len(), 1);
        assert!(addresses("1.2.3").is_empty());
        assert!(addresses("version 1.2.3.4 of the thing").is_empty());
        assert!(addresses("https://api.example.com/v1").is_empty());
    }

    #[test]
    fn classes() {
        let c = |s: &str| classify(s.parse().unwrap());
        assert_eq!(c("127.0.0.1"), Some(AddressClass::Loopback));
        assert_eq!(c("192.168.1.1"), Some(AddressClass::Internal));
        assert_eq!(c("169.254.169.254"), Some(AddressClass::Internal));
        assert_eq!(c("100.64.0.1"), Some(AddressClass::Internal));
        assert_eq!(c("::ffff:10.0.0.1"), Some(AddressClass::Internal));
        assert_eq!(c("fe80::1"), Some(AddressClass::Internal));
        assert_eq!(c("8.8.8.8"), Some(AddressClass::Public));
        assert_eq!(c("0.0.0.0"), None);
    }

    #[test]
    fn blobs_are_dense_and_long() {
        let b64: String = (0..400)
            .map(|i| {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(i * 7919) % 64]
                    as char
            })
            .collect();
        assert_eq!(blob_kind(&b64), Some("base64"));
        assert_eq!(blob_kind(&"deadbeef".repeat(40)), Some("hex"));
        assert_eq!(blob_kind(&"hello world ".repeat(40)), None);
        assert_eq!(blob_kind(&format!("data:image/png;base64,{b64}")), None);
        assert_eq!(blob_kind("short"), None);
    }
}
