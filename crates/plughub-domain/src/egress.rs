//! Where a plugin may connect: the egress policy the proxy applies, free of I/O. A host must be granted
//! by name (or a parent domain, `*.example.com`), and every address it resolves to must be public: the
//! proxy connects to the address it checked, so a rebinding DNS answer cannot slip a private one in.
//! Addresses written in other encodings (decimal `2130706433`, octal `0177.0.0.1`, hex `0x7f.1`, IPv4
//! inside IPv6) are read as the address they are.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address or host is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotGranted {
        host: String,
    },
    Address {
        address: IpAddr,
        kind: &'static str,
    },
    BadHost {
        host: String,
    },
    /// The operator resolves no name (a compatibility run): nothing leaves the machine.
    Unresolved {
        host: String,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotGranted { host } => write!(
                f,
                "{host} is not among the plugin's granted domains (network.external)"
            ),
            Refusal::Address { address, kind } => {
                write!(
                    f,
                    "{address} is a {kind} address: never reachable from a plugin"
                )
            }
            Refusal::BadHost { host } => write!(f, "{host:?} is not a host name"),
            Refusal::Unresolved { host } => write!(
                f,
                "{host} is not resolved: this plughub reaches no network (ENOTFOUND)"
            ),
        }
    }
}

/// The kind of a non-public address, or `None` when it is public.
pub fn non_public(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "cloud metadata",
        (0, _, _) => "unspecified (this network)",
        (10, _, _) => "private",
        (127, _, _) => "loopback",
        (169, 254, _) => "link-local",
        (172, 16..=31, _) => "private",
        (192, 168, _) => "private",
        (100, 64..=127, _) => "shared (carrier-grade NAT)",
        (192, 0, 0) => "IETF protocol assignment",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved or broadcast",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_loopback() {
        return Some("loopback");
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::/96), 6to4
    // (2002:AABB:CCDD::/48): judged as the IPv4 address they carry.
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return non_public_v4(embedded(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return non_public_v4(embedded(s[6], s[7]));
    }
    // NAT64 local-use prefix (RFC 8215): whatever it translates to is the local network's.
    if s[..3] == [0x64, 0xff9b, 1] {
        return Some("NAT64 local-use");
    }
    if s[0] == 0x2002 {
        return non_public_v4(embedded(s[1], s[2]));
    }
    Some(match s[0] {
        0xfc00..=0xfdff => "unique-local",
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local",
        0xff00..=0xffff => "multicast",
        0x2001 if s[1] == 0x0db8 => "documentation",
        0x2001 if s[1] == 0 => "Teredo",
        0x0100 if s[1..4] == [0, 0, 0] => "discard-only",
        _ => return None,
    })
}

/// An IPv4 address written as `inet_aton` reads it: one to four parts, each decimal, octal (`0…`) or
/// hex (`0x…`), the last filling the remaining bytes. `None` when `host` is not such a number.
pub fn lenient_ipv4(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut numbers = Vec::with_capacity(parts.len());
    for part in &parts {
        let (digits, radix) =
            if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
                (hex, 16)
            } else if part.len() > 1 && part.starts_with('0') {
                (&part[1..], 8)
            } else {
                (*part, 10)
            };
        if digits.is_empty() && radix != 16 {
            return None;
        }
        numbers
            .push(u32::from_str_radix(if digits.is_empty() { "0" } else { digits }, radix).ok()?);
    }
    let (last, head) = numbers.split_last()?;
    if head.iter().any(|n| *n > 255) {
        return None;
    }
    let room = 8 * (4 - head.len() as u32);
    if room < 32 && *last >= 1 << room {
        return None;
    }
    let value = head
        .iter()
        .enumerate()
        .fold(0u32, |acc, (i, n)| acc | (n << (24 - 8 * i as u32)))
        | last;
    Some(Ipv4Addr::from(value))
}

/// The address a host names directly, in any encoding, if it is an address at all.
pub fn literal_address(host: &str) -> Option<IpAddr> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .ok()
        .or_else(|| lenient_ipv4(bare).map(IpAddr::V4))
}

/// Whether `host` is granted by `domains`: the same name, or under a `*.` wildcard's domain. Host names
/// compare without case and without a trailing dot.
pub fn is_granted(host: &str, domains: &[String]) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    domains.iter().any(|domain| {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        match domain.strip_prefix("*.") {
            Some(parent) => host.ends_with(&format!(".{parent}")),
            None => host == domain,
        }
    })
}

/// Checks a host before resolving it: granted, a plausible name, and not an address that is not
/// public. Returns the literal address when the host is one (nothing to resolve).
pub fn check_host(host: &str, domains: &[String]) -> Result<Option<IpAddr>, Refusal> {
    let valid = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
    if !valid {
        return Err(Refusal::BadHost { host: host.into() });
    }
    let literal = literal_address(host);
    if let Some(address) = literal
        && let Some(kind) = non_public(address)
    {
        return Err(Refusal::Address { address, kind });
    }
    if !is_granted(host, domains) {
        return Err(Refusal::NotGranted { host: host.into() });
    }
    Ok(literal)
}

/// The resolved addresses the proxy may connect to; an error when none is public.
pub fn public_addresses(addresses: &[IpAddr]) -> Result<Vec<IpAddr>, Refusal> {
    let public: Vec<IpAddr> = addresses
        .iter()
        .copied()
        .filter(|a| non_public(*a).is_none())
        .collect();
    match (public.is_empty(), addresses.first()) {
        (false, _) => Ok(public),
        (true, Some(first)) => Err(Refusal::Address {
            address: *first,
            kind: non_public(*first).unwrap_or("non-public"),
        }),
        (true, None) => Err(Refusal::BadHost {
            host: "(no address)".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_non_public_range_and_encoding_is_refused() {
        for (address, kind) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "cloud metadata"),
            ("169.254.1.1", "link-local"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("0.0.0.0", "unspecified (this network)"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved or broadcast"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fc00::1", "unique-local"),
            ("fd12:3456::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "cloud metadata"),
            ("::127.0.0.1", "loopback"),
            ("64:ff9b::10.0.0.1", "private"),
            ("2002:7f00:1::", "loopback"),
            ("2001:db8::1", "documentation"),
            ("64:ff9b:1::a00:1", "NAT64 local-use"),
        ] {
            assert_eq!(non_public(ip(address)), Some(kind), "{address}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "172.32.0.1",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(non_public(ip(public)), None, "{public}");
        }
    }

    #[test]
    fn addresses_in_other_encodings_are_read_as_what_they_are() {
        let loopback = Some(Ipv4Addr::new(127, 0, 0, 1));
        for written in [
            "2130706433",
            "0177.0.0.1",
            "0x7f.1",
            "127.1",
            "0x7f000001",
            "017700000001",
        ] {
            assert_eq!(lenient_ipv4(written), loopback, "{written}");
        }
        assert_eq!(lenient_ipv4("example.com"), None);
        assert_eq!(lenient_ipv4("256.1.1.1"), None);
        let granted = vec!["2130706433".to_string(), "api.example.com".to_string()];
        assert!(matches!(
            check_host("2130706433", &granted),
            Err(Refusal::Address {
                kind: "loopback",
                ..
            })
        ));
        assert!(matches!(
            check_host("[::ffff:7f00:1]", &granted),
            Err(Refusal::Address {
                kind: "loopback",
                ..
            })
        ));
    }

    #[test]
    fn only_granted_names_pass_and_every_resolved_address_is_checked() {
        let granted = vec![
            "api.example.com".to_string(),
            "*.cdn.example.org".to_string(),
        ];
        assert_eq!(check_host("API.example.com.", &granted), Ok(None));
        assert_eq!(check_host("img.cdn.example.org", &granted), Ok(None));
        assert!(matches!(
            check_host("cdn.example.org", &granted),
            Err(Refusal::NotGranted { .. })
        ));
        assert!(matches!(
            check_host("evil.com", &granted),
            Err(Refusal::NotGranted { .. })
        ));
        assert!(matches!(
            check_host("api.example.com/../x", &granted),
            Err(Refusal::BadHost { .. })
        ));
        // A granted name that resolves to loopback (or rebinds to it) is refused at the address.
        assert!(matches!(
            public_addresses(&[ip("127.0.0.1")]),
            Err(Refusal::Address {
                kind: "loopback",
                ..
            })
        ));
        assert_eq!(
            public_addresses(&[ip("10.0.0.1"), ip("93.184.216.34")]),
            Ok(vec![ip("93.184.216.34")]),
            "only the public addresses are connected to"
        );
    }
}
