//! The operator's egress mapping: a granted domain sent to a server on this machine instead of being
//! resolved (`plughub serve --egress-map api.openrouter.ai=127.0.0.1:8443`), so that staging and tests
//! run network plugins against stubs of their APIs. Only loopback targets: a mapping can never open a way
//! to another machine, and the plugin's grant is checked before the mapping is looked at.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

/// `DOMAIN=HOST:PORT`: every port of `domain` (a name, or `*.example.com` for the names under it) goes
/// to `to`, an address on loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressMapping {
    pub domain: String,
    pub to: SocketAddr,
}

impl FromStr for EgressMapping {
    type Err = String;

    fn from_str(text: &str) -> Result<EgressMapping, String> {
        let usage =
            "give DOMAIN=HOST:PORT with HOST on loopback, e.g. api.openrouter.ai=127.0.0.1:8443";
        let (domain, target) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?}: {usage}"))?;
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let name = domain.strip_prefix("*.").unwrap_or(&domain);
        let plausible = !name.is_empty()
            && name.len() <= 253
            && name.contains('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && plughub_domain::egress::literal_address(name).is_none();
        if !plausible {
            return Err(format!(
                "{text:?}: {domain:?} is not a domain name (api.example.com or *.example.com); {usage}"
            ));
        }
        let target = target.trim();
        let (host, port) = target
            .rsplit_once(':')
            .ok_or_else(|| format!("{text:?}: {target:?} has no port; {usage}"))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("{text:?}: {port:?} is not a port; {usage}"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let address = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.parse::<IpAddr>()
                .map_err(|_| format!("{text:?}: {host:?} is not an address; {usage}"))?
        };
        if !address.is_loopback() {
            return Err(format!(
                "{text:?}: {address} is not on loopback: a mapping sends a domain to a server on this machine only; {usage}"
            ));
        }
        Ok(EgressMapping {
            domain,
            to: SocketAddr::new(address, port),
        })
    }
}

impl std::fmt::Display for EgressMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.domain, self.to)
    }
}

/// Where a (granted) `host` is mapped to: the mapping naming it exactly, else the first wildcard over it.
pub(crate) fn target(mapped: &[EgressMapping], host: &str) -> Option<SocketAddr> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let covers = |m: &&EgressMapping| {
        plughub_domain::egress::is_granted(&host, std::slice::from_ref(&m.domain))
    };
    mapped
        .iter()
        .find(|m| m.domain == host)
        .or_else(|| mapped.iter().find(covers))
        .map(|m| m.to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_domain_to_a_loopback_address_and_refuses_the_rest() {
        let m: EgressMapping = "API.OpenRouter.ai=127.0.0.1:8443".parse().unwrap();
        assert_eq!(m.domain, "api.openrouter.ai");
        assert_eq!(m.to, "127.0.0.1:8443".parse().unwrap());
        assert_eq!(m.to_string(), "api.openrouter.ai=127.0.0.1:8443");
        let m: EgressMapping = "*.example.com=localhost:80".parse().unwrap();
        assert_eq!(m.to, "127.0.0.1:80".parse().unwrap());
        let m: EgressMapping = "rpc.example.com=[::1]:8545".parse().unwrap();
        assert_eq!(m.to, "[::1]:8545".parse().unwrap());
        for (bad, says) in [
            ("api.example.com", "DOMAIN=HOST:PORT"),
            ("api.example.com=10.0.0.1:80", "not on loopback"),
            ("api.example.com=192.168.1.2:80", "not on loopback"),
            ("api.example.com=example.org:80", "not an address"),
            ("api.example.com=127.0.0.1", "has no port"),
            ("api.example.com=127.0.0.1:0", "not a port"),
            ("127.0.0.1=127.0.0.1:80", "not a domain name"),
            ("localhost=127.0.0.1:80", "not a domain name"),
            ("a b.com=127.0.0.1:80", "not a domain name"),
        ] {
            let error = bad.parse::<EgressMapping>().unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn an_exact_name_wins_over_a_wildcard() {
        let mapped: Vec<EgressMapping> =
            ["*.example.com=127.0.0.1:1", "api.example.com=127.0.0.1:2"]
                .iter()
                .map(|m| m.parse().unwrap())
                .collect();
        assert_eq!(target(&mapped, "API.example.com."), Some(mapped[1].to));
        assert_eq!(target(&mapped, "cdn.example.com"), Some(mapped[0].to));
        assert_eq!(target(&mapped, "example.com"), None);
        assert_eq!(target(&mapped, "api.example.org"), None);
    }
}
