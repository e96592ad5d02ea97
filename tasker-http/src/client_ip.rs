//! Who the client is, network-wise.
//!
//! The host's server inserts the peer address as a [`ClientAddr`] request
//! extension (the reference server and the examples do). `X-Forwarded-For`
//! is believed only when that peer is a configured trusted proxy; then the
//! client is the right-most address in the header that is not itself a
//! trusted proxy. Spoofed headers from anyone else change nothing.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

/// The socket address of the peer, inserted into request extensions by the
/// server hosting the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// The client IP for a request, or `None` when the host supplied no
/// [`ClientAddr`].
pub(crate) fn client_ip(
    extensions: &http::Extensions,
    headers: &HeaderMap,
    trusted_proxies: &[IpAddr],
) -> Option<IpAddr> {
    // `::ffff:10.0.0.1` (a dual-stack listener's view of an IPv4 peer) is 10.0.0.1.
    let peer = extensions.get::<ClientAddr>()?.0.ip().to_canonical();
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted_proxies.contains(ip))
            .unwrap_or(peer),
    )
}

/// The rate-limit key of an address: IPv4 as is, IPv6 by its /64 prefix (one
/// host usually owns a whole /64 and could otherwise rotate through it).
pub(crate) fn bucket_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("ip6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extensions(addr: &str) -> http::Extensions {
        let mut ext = http::Extensions::new();
        ext.insert(ClientAddr(addr.parse().unwrap()));
        ext
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_ignored_without_trusted_proxies() {
        let ip = client_ip(&extensions("10.0.0.9:5000"), &forwarded("1.2.3.4"), &[]);
        assert_eq!(ip, Some("10.0.0.9".parse().unwrap()));
    }

    #[test]
    fn a_trusted_proxy_reveals_the_right_most_untrusted_address() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let ip = client_ip(
            &extensions("10.0.0.1:443"),
            &forwarded("6.6.6.6, 1.2.3.4, 10.0.0.1"),
            &[proxy],
        );
        assert_eq!(ip, Some("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let ip = client_ip(
            &extensions("[::ffff:10.0.0.1]:443"),
            &forwarded("1.2.3.4"),
            &[proxy],
        );
        assert_eq!(ip, Some("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64() {
        let a = bucket_key("2001:db8:1:2::1".parse().unwrap());
        let b = bucket_key("2001:db8:1:2:ffff::9".parse().unwrap());
        let c = bucket_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(bucket_key("192.0.2.1".parse().unwrap()), "ip:192.0.2.1");
    }

    #[test]
    fn no_peer_address_means_unknown() {
        assert_eq!(
            client_ip(&http::Extensions::new(), &HeaderMap::new(), &[]),
            None
        );
    }
}
