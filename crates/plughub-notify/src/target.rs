//! Where a webhook may be sent: the egress proxy's address policy (`plughub_domain::egress`). Only
//! public addresses, unless the operator trusts an address or allows loopback (for local use and
//! tests); a name is resolved here and the delivery connects to the address checked, never resolving
//! again, so a rebinding answer cannot send it elsewhere. Redirects are not followed.

use crate::NotifyError;
use plughub_domain::egress;
use plughub_egress::Resolver;
use std::net::{IpAddr, SocketAddr};

/// The operator's settings for webhook targets.
#[derive(Debug, Clone, Default)]
pub struct WebhookPolicy {
    /// Loopback addresses are allowed (`--webhook-allow-loopback`): a receiver on this machine.
    pub allow_loopback: bool,
    /// Non-public addresses the operator trusts (an internal receiver), as for the egress proxy.
    pub trusted_addresses: Vec<IpAddr>,
    /// Only loopback (`--webhook-loopback-only`): nothing leaves the machine, no name but `localhost`
    /// is resolved. For checks that make webhooks from generated URLs (the API's contract check).
    pub loopback_only: bool,
}

impl WebhookPolicy {
    /// Whether a delivery may connect to `address`, and if not, what kind of address it is.
    pub fn refusal(&self, address: IpAddr) -> Option<&'static str> {
        if self.loopback_only {
            return (!address.is_loopback()).then_some("non-loopback");
        }
        let kind = egress::non_public(address)?;
        if self.trusted_addresses.contains(&address)
            || (self.allow_loopback && address.is_loopback())
        {
            return None;
        }
        Some(kind)
    }
}

/// A webhook's target, read and checked for shape.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: url::Url,
    host: url::Host<String>,
    pub port: u16,
}

impl Target {
    /// An `http` or `https` URL with a host and no user name or password.
    pub fn parse(text: &str) -> Result<Target, NotifyError> {
        let invalid = |why: &str| {
            NotifyError::Invalid(format!(
                "{text:?} is not a webhook URL: {why} (give an http or https URL, e.g. https://hooks.example.com/plughub)"
            ))
        };
        let url = url::Url::parse(text.trim()).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("only http and https are sent to"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "a user name or password in the URL would be shown to every owner",
            ));
        }
        let host = url
            .host()
            .ok_or_else(|| invalid("it has no host"))?
            .to_owned();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| invalid("it has no port"))?;
        Ok(Target { url, host, port })
    }

    /// The host as written in the URL (an IPv6 address without brackets).
    pub fn host(&self) -> String {
        match &self.host {
            url::Host::Domain(d) => d.clone(),
            url::Host::Ipv4(a) => a.to_string(),
            url::Host::Ipv6(a) => a.to_string(),
        }
    }

    /// The addresses a delivery may connect to, checked by `policy`; resolving a name with `resolver`.
    pub async fn addresses(
        &self,
        policy: &WebhookPolicy,
        resolver: &dyn Resolver,
    ) -> Result<Vec<SocketAddr>, NotifyError> {
        let refused = |address: IpAddr, kind: &str| {
            NotifyError::Refused(format!(
                "{} resolves to {address}, a {kind} address: webhooks are sent only to public addresses \
                 unless the operator allows it (`plughub serve --webhook-allow-loopback` for loopback, \
                 `--webhook-trusted-address` for one address)",
                self.host()
            ))
        };
        let candidates = match &self.host {
            url::Host::Ipv4(a) => vec![IpAddr::V4(*a)],
            url::Host::Ipv6(a) => vec![IpAddr::V6(*a)],
            url::Host::Domain(name) => {
                // The proxy's check of a name's shape and of addresses written in other encodings.
                if let Err(e) = egress::check_host(name, std::slice::from_ref(name)) {
                    return Err(match e {
                        egress::Refusal::Address { address, kind } => refused(address, kind),
                        other => NotifyError::Invalid(other.to_string()),
                    });
                }
                if policy.loopback_only && !name.eq_ignore_ascii_case("localhost") {
                    return Err(NotifyError::Refused(format!(
                        "{name}: this server sends webhooks to loopback only (--webhook-loopback-only)"
                    )));
                }
                resolver
                    .resolve(name, self.port)
                    .await
                    .map_err(|e| NotifyError::Refused(format!("cannot resolve {name}: {e}")))?
            }
        };
        let allowed: Vec<SocketAddr> = candidates
            .iter()
            .filter(|a| policy.refusal(**a).is_none())
            .map(|a| SocketAddr::new(*a, self.port))
            .collect();
        match (allowed.is_empty(), candidates.first()) {
            (false, _) => Ok(allowed),
            (true, Some(first)) => Err(refused(
                *first,
                policy.refusal(*first).unwrap_or("non-public"),
            )),
            (true, None) => Err(NotifyError::Refused(format!(
                "{} has no address",
                self.host()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plughub_egress::ResolveFuture;

    /// Names with fixed answers: there is no DNS to ask here, and nothing is sent anywhere.
    struct Fixed(Vec<IpAddr>);
    impl Resolver for Fixed {
        fn resolve(&self, _host: &str, _port: u16) -> ResolveFuture {
            let answer = self.0.clone();
            Box::pin(async move { Ok(answer) })
        }
    }

    async fn check(
        url: &str,
        policy: &WebhookPolicy,
        dns: &[&str],
    ) -> Result<Vec<SocketAddr>, NotifyError> {
        let resolver = Fixed(dns.iter().map(|a| a.parse().unwrap()).collect());
        Target::parse(url)?.addresses(policy, &resolver).await
    }

    #[tokio::test]
    async fn loopback_private_and_metadata_addresses_are_refused_unless_allowed() {
        let strict = WebhookPolicy::default();
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://[::1]/hook",
            "http://10.1.2.3/hook",
            "http://192.168.0.10/hook",
            "http://169.254.169.254/latest",
            "http://2130706433/hook",
            "http://0x7f.1/hook",
        ] {
            let refused = check(url, &strict, &[]).await;
            assert!(
                matches!(refused, Err(NotifyError::Refused(_))),
                "{url}: {refused:?}"
            );
        }
        // A name that resolves to a private address is refused as the address itself is.
        let rebinding = check("https://hooks.example.test/x", &strict, &["10.0.0.7"]).await;
        assert!(
            matches!(rebinding, Err(NotifyError::Refused(_))),
            "{rebinding:?}"
        );
        // Loopback allowed admits loopback only.
        let local = WebhookPolicy {
            allow_loopback: true,
            ..Default::default()
        };
        assert_eq!(
            check("http://127.0.0.1:9/hook", &local, &[]).await.unwrap(),
            vec!["127.0.0.1:9".parse().unwrap()]
        );
        assert!(check("http://10.1.2.3/hook", &local, &[]).await.is_err());
        // An address the operator trusts.
        let trusted = WebhookPolicy {
            trusted_addresses: vec!["10.1.2.3".parse().unwrap()],
            ..Default::default()
        };
        assert!(check("http://10.1.2.3/hook", &trusted, &[]).await.is_ok());
        // Loopback only: no public address, and no name but localhost is even resolved.
        let only = WebhookPolicy {
            loopback_only: true,
            ..Default::default()
        };
        assert!(check("http://127.0.0.1:9/hook", &only, &[]).await.is_ok());
        assert!(
            check("http://93.184.216.34/hook", &only, &[])
                .await
                .is_err()
        );
        assert!(
            check("https://hooks.example.test/x", &only, &["127.0.0.1"])
                .await
                .is_err()
        );
        // A public answer is kept, a private one beside it dropped.
        assert_eq!(
            check(
                "https://hooks.example.test/x",
                &strict,
                &["10.0.0.7", "93.184.216.34"]
            )
            .await
            .unwrap(),
            vec!["93.184.216.34:443".parse().unwrap()]
        );
    }

    #[test]
    fn only_http_urls_without_credentials_are_targets() {
        for bad in [
            "ftp://x.test/",
            "https://user:pw@x.test/",
            "not a url",
            "file:///etc/passwd",
        ] {
            assert!(
                matches!(Target::parse(bad), Err(NotifyError::Invalid(_))),
                "{bad}"
            );
        }
    }
}
