//! Sign-in that resists guessing: how many failures a client gets before it must wait, how the wait
//! grows, and which address a request comes from. Pure: the caller passes the history and the time
//! (milliseconds since the Unix epoch), so every rule is tested without waiting.
//!
//! Failures are counted per (account, client address) and per client address, never per account
//! alone: guessing from one address never locks the account out for its owner elsewhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// What a past sign-in attempt of one key came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Failed,
    Succeeded,
}

/// Whether a client may try now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Not before `until` (milliseconds since the epoch).
    Wait {
        until: i64,
    },
}

impl Verdict {
    /// Whole seconds from `now` until the wait ends, rounded up (for `Retry-After`); 0 when allowed.
    pub fn retry_after_secs(self, now: i64) -> u64 {
        match self {
            Verdict::Allowed => 0,
            Verdict::Wait { until } => u64::try_from((until - now).max(0))
                .unwrap_or(0)
                .div_ceil(1000),
        }
    }

    /// The longer wait of two verdicts.
    pub fn and(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Wait { until: a }, Verdict::Wait { until: b }) => {
                Verdict::Wait { until: a.max(b) }
            }
            (Verdict::Wait { until }, Verdict::Allowed)
            | (Verdict::Allowed, Verdict::Wait { until }) => Verdict::Wait { until },
            (Verdict::Allowed, Verdict::Allowed) => Verdict::Allowed,
        }
    }
}

/// A back-off: `free_failures` failures in a row are answered at once; from then on each attempt
/// waits `first_wait` after the last failure, doubled at every further failure, up to `longest_wait`.
/// A success ends the run of failures, and so does a quiet `forget_after` without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub free_failures: u32,
    pub first_wait: Duration,
    pub longest_wait: Duration,
    /// Longer than `longest_wait`, so that a guesser who keeps to the longest wait is never forgiven.
    pub forget_after: Duration,
}

/// Per (account, client address): the owner who mistypes five times waits 30 s.
pub const PER_ACCOUNT_AND_ADDRESS: Backoff = Backoff {
    free_failures: 5,
    first_wait: Duration::from_secs(30),
    longest_wait: Duration::from_secs(15 * 60),
    forget_after: Duration::from_secs(60 * 60),
};

/// Per client address, over every account and unknown API tokens: more failures before the first wait,
/// as one address may be shared by many people (an office behind one NAT), yet few enough that trying
/// a password on many accounts is slowed as much as on one.
pub const PER_ADDRESS: Backoff = Backoff {
    free_failures: 20,
    ..PER_ACCOUNT_AND_ADDRESS
};

impl Backoff {
    /// The most recent attempts that decide a verdict: past this many failures in a row the wait is at
    /// its longest, so older ones change nothing (and a store reads no more than these).
    pub fn history_needed(&self) -> usize {
        let mut doublings = 0u32;
        while self.wait_after(self.free_failures + doublings) < self.longest_wait {
            doublings += 1;
        }
        (self.free_failures + doublings) as usize
    }

    /// The wait after `failures` failures in a row (zero while they are free).
    pub fn wait_after(&self, failures: u32) -> Duration {
        if failures < self.free_failures {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free_failures).min(31);
        self.first_wait
            .saturating_mul(1u32 << doublings)
            .min(self.longest_wait)
    }

    /// Whether a client may try at `now`, from the key's attempts newest first, each with its time.
    pub fn verdict(&self, now: i64, history: impl IntoIterator<Item = (i64, Outcome)>) -> Verdict {
        let forget = millis(self.forget_after);
        let mut failures = 0u32;
        let mut newest_failure = None;
        let mut later = now;
        for (at, outcome) in history {
            if outcome == Outcome::Succeeded || later - at > forget {
                break;
            }
            failures += 1;
            newest_failure.get_or_insert(at);
            later = at;
        }
        match newest_failure {
            Some(last) if failures >= self.free_failures => {
                let until = last + millis(self.wait_after(failures));
                if now < until {
                    Verdict::Wait { until }
                } else {
                    Verdict::Allowed
                }
            }
            _ => Verdict::Allowed,
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// What failures of an address are counted under: the address itself for IPv4 (and IPv4 mapped into
/// IPv6), and its /64 for IPv6, since one subscriber commonly holds a whole /64.
pub fn address_key(address: IpAddr) -> String {
    match canonical(address) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// An IPv4 address mapped into IPv6 (`::ffff:a.b.c.d`, as a dual-stack socket reports it) is that IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// A network written `address/prefix` (or a lone address: all its bits), such as `10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Network, String> {
        let s = s.trim();
        let (address, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("'{s}' is not an address or a network such as 10.0.0.0/8"))?;
        let address = canonical(address);
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("'{s}': the prefix after / is 0 to {bits}"))?,
        };
        Ok(Network { address, prefix })
    }
}

impl Network {
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.address, canonical(address)) {
            (IpAddr::V4(net), IpAddr::V4(a)) => same_prefix(
                u128::from(u32::from(net)) << 96,
                u128::from(u32::from(a)) << 96,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                same_prefix(u128::from(net), u128::from(a), self.prefix)
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

fn same_prefix(a: u128, b: u128, prefix: u8) -> bool {
    prefix == 0 || (a ^ b) >> (128 - u32::from(prefix)) == 0
}

/// The address a request comes from. The connection's peer, unless the peer is one of the operator's
/// trusted proxies: then `X-Forwarded-For` (its values in order, comma-separated) is read from the right,
/// each trusted proxy skipped, and the first address that is not one is the client. Entries left of it
/// were written by the client and are never believed. An entry that is not an address ends the reading
/// at the trusted proxy that passed it on. With no trusted proxies the header is never read.
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &[Network]) -> IpAddr {
    let is_trusted = |a: IpAddr| trusted.iter().any(|n| n.contains(a));
    let mut client = canonical(peer);
    if !is_trusted(client) {
        return client;
    }
    let hops = forwarded_for
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        let Some(address) = forwarded_address(hop) else {
            break;
        };
        client = canonical(address);
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, with or without a port (`1.2.3.4:5`, `[2001:db8::1]:5`).
fn forwarded_address(hop: &str) -> Option<IpAddr> {
    if let Ok(a) = hop.parse() {
        return Some(a);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']').and_then(|(a, _)| a.parse().ok());
    }
    hop.rsplit_once(':')
        .and_then(|(a, _)| a.parse::<Ipv4Addr>().ok())
        .map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    fn failures_at(times: &[i64]) -> Vec<(i64, Outcome)> {
        times.iter().map(|t| (*t, Outcome::Failed)).collect()
    }

    #[test]
    fn five_failures_are_free_then_the_wait_doubles_up_to_fifteen_minutes() {
        let rule = PER_ACCOUNT_AND_ADDRESS;
        let now = 10_000 * S;
        // Newest first, a second apart.
        let history = |n: i64| failures_at(&(0..n).map(|i| now - (i + 1) * S).collect::<Vec<_>>());
        for n in 0..5 {
            assert_eq!(rule.verdict(now, history(n)), Verdict::Allowed, "{n}");
        }
        let waits: Vec<u64> = (5..=12)
            .map(|n| rule.verdict(now, history(n)).retry_after_secs(now))
            .collect();
        // Counted from the newest failure, a second ago.
        assert_eq!(waits, [29, 59, 119, 239, 479, 899, 899, 899]);
        assert_eq!(rule.history_needed(), 10);
        assert_eq!(rule.wait_after(10), Duration::from_secs(900));
        assert_eq!(rule.wait_after(9), Duration::from_secs(480));
        assert_eq!(PER_ADDRESS.history_needed(), 25);
        assert_eq!(PER_ADDRESS.wait_after(19), Duration::ZERO);
        assert_eq!(PER_ADDRESS.wait_after(20), Duration::from_secs(30));
    }

    #[test]
    fn the_wait_ends_and_a_success_or_a_quiet_hour_forgets_the_failures() {
        let rule = PER_ACCOUNT_AND_ADDRESS;
        let last = 50_000 * S;
        let five = failures_at(&[last, last - S, last - 2 * S, last - 3 * S, last - 4 * S]);
        assert_eq!(
            rule.verdict(last + 10 * S, five.clone()),
            Verdict::Wait {
                until: last + 30 * S
            }
        );
        assert_eq!(rule.verdict(last + 30 * S, five.clone()), Verdict::Allowed);
        // A sixth failure after the wait: 60 s now.
        let mut six = five.clone();
        six.insert(0, (last + 31 * S, Outcome::Failed));
        assert_eq!(
            rule.verdict(last + 32 * S, six.clone()),
            Verdict::Wait {
                until: last + 91 * S
            }
        );
        // A success before the newest failure: only that one counts.
        let mut after_success = six.clone();
        after_success.insert(1, (last + 30 * S, Outcome::Succeeded));
        assert_eq!(rule.verdict(last + 32 * S, after_success), Verdict::Allowed);
        // An hour without failures forgets them; a gap of an hour inside the history cuts it there.
        assert_eq!(
            rule.verdict(last + 3_601 * S, five.clone()),
            Verdict::Allowed
        );
        let mut gap = failures_at(&[last + 7_200 * S]);
        gap.extend(five);
        assert_eq!(rule.verdict(last + 7_201 * S, gap), Verdict::Allowed);
        // A guesser keeping to the longest wait stays at it.
        let patient: Vec<i64> = (0..12).map(|i| last - i * 900 * S).collect();
        assert_eq!(
            rule.verdict(last + S, failures_at(&patient)),
            Verdict::Wait {
                until: last + 900 * S
            }
        );
    }

    #[test]
    fn the_longer_wait_of_two_holds() {
        let a = Verdict::Wait { until: 5 };
        let b = Verdict::Wait { until: 9 };
        assert_eq!(a.and(b), b);
        assert_eq!(Verdict::Allowed.and(a), a);
        assert_eq!(Verdict::Allowed.and(Verdict::Allowed), Verdict::Allowed);
        assert_eq!(Verdict::Wait { until: 2_001 }.retry_after_secs(1_000), 2);
        assert_eq!(Verdict::Allowed.retry_after_secs(1_000), 0);
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<Network> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn networks_parse_and_contain() {
        let lan: Network = "10.0.0.0/8".parse().unwrap();
        assert!(lan.contains(ip("10.200.1.2")));
        assert!(lan.contains(ip("::ffff:10.1.1.1")));
        assert!(!lan.contains(ip("11.0.0.1")));
        assert!(!lan.contains(ip("::1")));
        let one: Network = "127.0.0.1".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Network = "fd00:1::/32".parse().unwrap();
        assert!(v6.contains(ip("fd00:1:ffff::1")) && !v6.contains(ip("fd00:2::1")));
        let all: Network = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        for bad in ["10.0.0.0/33", "10.0.0/8", "proxy", "::/129", "10.0.0.0/x"] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_forwarded_header_is_read_only_from_trusted_proxies_from_the_right() {
        let proxies = nets(&["10.0.0.0/8", "127.0.0.1"]);
        let spoofed = ["6.6.6.6, 203.0.113.9"];
        // No trusted proxies: the header is never read, whoever sends it.
        assert_eq!(
            client_address(ip("127.0.0.1"), &spoofed, &[]),
            ip("127.0.0.1")
        );
        // A peer that is not a trusted proxy: its header is not read.
        assert_eq!(
            client_address(ip("198.51.100.1"), &spoofed, &proxies),
            ip("198.51.100.1")
        );
        // Through a trusted proxy: the right-most address that is not a trusted proxy; what the client
        // wrote left of it is not believed.
        assert_eq!(
            client_address(ip("127.0.0.1"), &spoofed, &proxies),
            ip("203.0.113.9")
        );
        // Two trusted proxies in a row, the header in two values, with ports.
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                &["6.6.6.6", "203.0.113.9:4711, 10.0.0.1"],
                &proxies
            ),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &["[2001:db8::7]:443"], &proxies),
            ip("2001:db8::7")
        );
        // No header, or only proxies in it: the last proxy is as far as is known.
        assert_eq!(
            client_address(ip("10.0.0.2"), &[], &proxies),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &["10.0.0.1"], &proxies),
            ip("10.0.0.1")
        );
        // Garbage stops the reading at the proxy that passed it on.
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                &["203.0.113.9, unknown, 10.0.0.1"],
                &proxies
            ),
            ip("10.0.0.1")
        );
        // A dual-stack socket's mapped IPv4 peer is the IPv4 address.
        assert_eq!(
            client_address(ip("::ffff:198.51.100.1"), &[], &proxies),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_slash_64() {
        assert_eq!(address_key(ip("203.0.113.9")), "203.0.113.9");
        assert_eq!(address_key(ip("::ffff:203.0.113.9")), "203.0.113.9");
        assert_eq!(address_key(ip("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
        assert_eq!(
            address_key(ip("2001:db8:1:2::ffff")),
            address_key(ip("2001:db8:1:2:aaaa::1"))
        );
    }
}
