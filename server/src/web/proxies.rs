//! Which address a request comes from: the TCP peer, unless that peer is
//! a proxy the operator trusts (`--trusted-proxies`), in which case the
//! proxies' `X-Forwarded-For` names the client. `X-Forwarded-For` is never
//! read otherwise: anyone can send one.

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The networks whose peers are trusted proxies (empty: none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A comma-separated list of networks (`10.0.0.0/8`, `2001:db8::/32`)
    /// or single addresses (`192.0.2.7`, `::1`). Blank entries are
    /// ignored; anything else is an error that names the entry.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip.to_canonical()),
                    Err(_) => {
                        return Err(format!(
                            "{entry:?} is neither an address nor a network such as 10.0.0.0/8 \
                             or 2001:db8::/32"
                        ));
                    }
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy (an IPv4 address in IPv6 form
    /// counts as the IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that came from `peer` with these
    /// `X-Forwarded-For` header values (in the order received). When the
    /// peer is trusted, each proxy has appended the address it saw, so the
    /// entries are read from the right: the first one that is not itself
    /// a trusted proxy is the client. An entry that is not an address ends
    /// the walk (it was not written by a proxy we trust), and the last
    /// trusted hop is taken as the client.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        for entry in forwarded_for.iter().rev().flat_map(|h| h.rsplit(',')) {
            let Some(hop) = forwarded_address(entry.trim()) else {
                break;
            };
            client = hop;
            if !self.contains(hop) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`) or in brackets.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse().ok())
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_and_addresses_parse_and_junk_is_named() {
        let t = TrustedProxies::parse(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,, ::1").unwrap();
        assert!(t.contains(ip("10.1.2.3")));
        assert!(t.contains(ip("::ffff:10.1.2.3")), "IPv4 in IPv6 form");
        assert!(t.contains(ip("192.0.2.7")));
        assert!(!t.contains(ip("192.0.2.8")));
        assert!(t.contains(ip("2001:db8:5::1")));
        assert!(t.contains(ip("::1")));
        assert!(!t.contains(ip("2001:db9::1")));
        // Host bits in a network are forgiven: 10.1.2.3/8 is 10.0.0.0/8.
        assert!(
            TrustedProxies::parse("10.1.2.3/8")
                .unwrap()
                .contains(ip("10.200.0.1"))
        );
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        for bad in [
            "10.0.0.0/33",
            "proxy.example.org",
            "10.0.0",
            "10.0.0.1/",
            "*",
        ] {
            let e = TrustedProxies::parse(&format!("10.0.0.1,{bad}")).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_it_sends() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("192.0.2.1"), &["203.0.113.9"]),
            ip("192.0.2.1")
        );
        let some = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(
            some.client(ip("192.0.2.1"), &["203.0.113.9"]),
            ip("192.0.2.1"),
            "an untrusted peer's header is not read"
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_entry_is_the_client() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let proxy = ip("10.0.0.1");
        // The client may have sent a header of its own: only what our
        // proxies appended counts.
        assert_eq!(
            t.client(proxy, &["1.1.1.1, 203.0.113.9"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            t.client(proxy, &["1.1.1.1, 203.0.113.9, 10.0.0.2"]),
            ip("203.0.113.9"),
            "a chain of trusted proxies"
        );
        assert_eq!(
            t.client(proxy, &["1.1.1.1", "203.0.113.9 , 10.0.0.2"]),
            ip("203.0.113.9"),
            "several headers, in order"
        );
        assert_eq!(t.client(proxy, &["[2001:db8::7]:443"]), ip("2001:db8::7"));
        assert_eq!(t.client(proxy, &["203.0.113.9:4711"]), ip("203.0.113.9"));
        assert_eq!(t.client(proxy, &["::ffff:203.0.113.9"]), ip("203.0.113.9"));
        // Nothing forwarded, or only proxies: the last proxy.
        assert_eq!(t.client(proxy, &[]), proxy);
        assert_eq!(t.client(proxy, &["10.0.0.3, 10.0.0.2"]), ip("10.0.0.3"));
        // Junk where an address should be: the hop that wrote it is the client.
        assert_eq!(t.client(proxy, &["203.0.113.9, unknown"]), proxy);
        assert_eq!(
            t.client(proxy, &["203.0.113.9, junk, 10.0.0.2"]),
            ip("10.0.0.2")
        );
        assert_eq!(t.client(proxy, &[""]), proxy);
        assert_eq!(
            t.client(ip("::ffff:10.0.0.1"), &["203.0.113.9"]),
            ip("203.0.113.9"),
            "a trusted IPv4 peer seen on an IPv6 socket"
        );
    }
}
