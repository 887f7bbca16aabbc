//! Who the client is, for rate limits and admission: the TCP peer, or behind
//! a trusted reverse proxy the address that proxy saw. Never logged, never
//! stored: [`crate::admission`] keeps only a keyed hash of it, in memory.

use std::net::{IpAddr, Ipv6Addr};

use actix_web::http::header::HeaderMap;

use crate::config::TrustedProxy;

/// The client's address bucket, put into every request's extensions by the
/// rate-limit middleware: an IPv4 address, or an IPv6 /64 (the lower 64 bits
/// zeroed), since one subscriber usually holds a whole /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddress(pub IpAddr);

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The bucket an address is counted in: IPv4 as is, IPv6 by its /64.
pub fn bucket(address: IpAddr) -> ClientAddress {
    match canonical(address) {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            ClientAddress(IpAddr::V6(Ipv6Addr::from(prefix)))
        }
        v4 => ClientAddress(v4),
    }
}

fn is_trusted(address: IpAddr, trusted: &[TrustedProxy]) -> bool {
    let address = canonical(address);
    trusted.iter().any(|p| p.0.contains(&address))
}

/// The client's address. The `X-Forwarded-For` header is read only when the
/// TCP peer is a trusted proxy; it is then walked from the right (the entry
/// the nearest proxy appended) past every trusted address, and the first
/// untrusted one is the client: entries to its left are whatever the client
/// sent and are never believed. A malformed entry reached on the way, or no
/// header, gives the peer address. Several `X-Forwarded-For` headers count as
/// one list, in order.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[TrustedProxy]) -> IpAddr {
    let peer = canonical(peer);
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let mut lists: Vec<&str> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        match value.to_str() {
            Ok(text) => lists.push(text),
            Err(_) => return peer,
        }
    }
    let mut client = peer;
    for entry in lists.iter().rev().flat_map(|list| list.rsplit(',')) {
        let Ok(address) = entry.trim().parse::<IpAddr>() else {
            // Not an address: nothing to the left of it can be trusted either.
            return peer;
        };
        client = canonical(address);
        if !is_trusted(client, trusted) {
            return client;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                HeaderName::from_static("x-forwarded-for"),
                HeaderValue::from_bytes(v).expect("header value"),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    fn proxies(list: &[&str]) -> Vec<TrustedProxy> {
        list.iter().map(|p| p.parse().expect("proxy")).collect()
    }

    #[test]
    fn the_header_is_read_only_from_a_trusted_peer() {
        let trusted = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        let spoof = headers(&[b"203.0.113.9"]);
        assert_eq!(
            client_address(ip("198.51.100.7"), &spoof, &trusted),
            ip("198.51.100.7"),
            "a direct client chooses nothing"
        );
        assert_eq!(
            client_address(ip("198.51.100.7"), &spoof, &[]),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), &spoof, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(ip("::ffff:127.0.0.1"), &spoof, &trusted),
            ip("203.0.113.9"),
            "an IPv4-mapped peer is the IPv4 address"
        );
    }

    #[test]
    fn the_right_most_untrusted_address_wins_over_what_the_client_sent() {
        let trusted = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        let cases: &[(&[&[u8]], &str)] = &[
            (&[b"1.1.1.1, 2.2.2.2, 198.51.100.7"], "198.51.100.7"),
            (&[b"1.1.1.1, 198.51.100.7, 10.0.0.2"], "198.51.100.7"),
            (&[b"1.1.1.1", b"198.51.100.7, 10.9.9.9"], "198.51.100.7"),
            (&[b"garbage, 198.51.100.7"], "198.51.100.7"),
            (&[b"  2001:db8::1 "], "2001:db8::1"),
            (&[b"::ffff:198.51.100.7"], "198.51.100.7"),
            // Malformed where it matters: the proxy itself.
            (&[b"198.51.100.7, garbage"], "127.0.0.1"),
            (&[b"198.51.100.7:4444"], "127.0.0.1"),
            (&[b"[2001:db8::1]"], "127.0.0.1"),
            (&[b""], "127.0.0.1"),
            (&[b",,,"], "127.0.0.1"),
            (&[b"unknown"], "127.0.0.1"),
            (&[b"198.51.100.7, \xff\xfe"], "127.0.0.1"),
            (&[], "127.0.0.1"),
            // Only trusted addresses: the furthest one.
            (&[b"10.1.1.1, 10.2.2.2"], "10.1.1.1"),
        ];
        for (values, want) in cases {
            assert_eq!(
                client_address(ip("127.0.0.1"), &headers(values), &trusted),
                ip(want),
                "{values:?}"
            );
        }
        let long = format!("{}198.51.100.7", "1.2.3.4,".repeat(10_000));
        assert_eq!(
            client_address(ip("127.0.0.1"), &headers(&[long.as_bytes()]), &trusted),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(
            bucket(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            bucket(ip("2001:db8:1:2::1"))
        );
        assert_ne!(bucket(ip("2001:db8:1:2::1")), bucket(ip("2001:db8:1:3::1")));
        assert_eq!(bucket(ip("::ffff:192.0.2.1")), bucket(ip("192.0.2.1")));
        assert_ne!(bucket(ip("192.0.2.1")), bucket(ip("192.0.2.2")));
        assert_eq!(bucket(ip("192.0.2.1")).0, ip("192.0.2.1"));
    }
}
