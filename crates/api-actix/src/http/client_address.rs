//! Who is calling: the socket's peer, or, when that peer is a proxy listed
//! in `TRUSTED_PROXIES`, the right-most address in `X-Forwarded-For` that
//! is not one of them. The header is never believed from anyone else: a
//! client can write anything in it.

use std::future::{ready, Ready};
use std::net::{IpAddr, SocketAddr};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use authusers_domain::sessions::ClientInfo;
use authusers_domain::throttling::ClientAddress;
use ipnet::IpNet;

use crate::http::problem::Problem;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// `TRUSTED_PROXIES`: addresses and networks (`10.0.0.0/8`) of the proxies
/// in front of the service. Empty by default: nothing is trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A list separated by commas or white space; each entry an IPv4 or
    /// IPv6 address or network.
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| {
                        entry
                            .parse::<IpAddr>()
                            .map(|ip| IpNet::from(ip.to_canonical()))
                    })
                    .map(|net| net.trunc())
                    .map_err(|_| format!("{entry:?} is not an IP address or network"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request from `peer` that carries the
    /// `X-Forwarded-For` field lines `forwarded_for`, in order.
    pub fn client_address<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl Iterator<Item = &'a [u8]>,
    ) -> ClientAddress {
        if !self.trusts(peer) {
            return ClientAddress::new(peer);
        }
        let hops: Vec<&[u8]> = forwarded_for
            .flat_map(|line| line.split(|byte| *byte == b','))
            .collect();
        // Each trusted proxy appended the address it saw; walking back from
        // the nearest, the first hop no trusted proxy owns is the client.
        // A hop that is not an address ends the walk: what lies before it
        // is the client's own writing.
        let mut nearest = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                break;
            };
            if !self.trusts(ip) {
                return ClientAddress::new(ip);
            }
            nearest = ip;
        }
        ClientAddress::new(nearest)
    }
}

impl std::fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&entries.join(","))
    }
}

/// `192.0.2.1`, `2001:db8::1`, and with a port, `192.0.2.1:4711` or
/// `[2001:db8::1]:4711`, as some proxies write them.
fn parse_hop(raw: &[u8]) -> Option<IpAddr> {
    let hop = std::str::from_utf8(raw).ok()?.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse::<IpAddr>().ok())
        })
}

/// The caller's address, as an extractor.
pub struct Client(pub ClientAddress);

impl FromRequest for Client {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(client_of(req).map(Client))
    }
}

pub fn client_of(req: &HttpRequest) -> Result<ClientAddress, Problem> {
    let peer = req
        .peer_addr()
        .ok_or_else(|| Problem::internal(&"the connection has no peer address"))?;
    let trusted = req.app_data::<web::Data<TrustedProxies>>();
    let forwarded_for = req.headers().get_all(X_FORWARDED_FOR).map(|v| v.as_bytes());
    Ok(match trusted {
        Some(trusted) => trusted.client_address(peer.ip(), forwarded_for),
        None => ClientAddress::new(peer.ip()),
    })
}

/// What the client says about itself, for the user's list of sessions: its
/// `User-Agent` and the address it connects from.
pub fn client_info(req: &HttpRequest, client: ClientAddress) -> ClientInfo {
    // Not only ASCII: a client may name itself in UTF-8, and any other
    // byte is kept as a replacement character rather than losing the name.
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()));
    ClientInfo::new(agent.as_deref(), Some(client.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(raw: &str) -> TrustedProxies {
        TrustedProxies::parse(raw).unwrap()
    }

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    fn client(trusted: &TrustedProxies, peer: &str, lines: &[&str]) -> String {
        trusted
            .client_address(ip(peer), lines.iter().map(|line| line.as_bytes()))
            .to_string()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let none = TrustedProxies::default();
        assert_eq!(
            client(&none, "203.0.113.5", &["198.51.100.1"]),
            "203.0.113.5"
        );
        let other = proxies("10.0.0.1");
        assert_eq!(
            client(&other, "203.0.113.5", &["198.51.100.1"]),
            "203.0.113.5"
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() {
        let trusted = proxies("10.0.0.0/8, 192.168.1.1");
        // The client wrote 1.1.1.1 itself; the proxies appended the rest.
        let hops = ["1.1.1.1, 198.51.100.7", "10.1.2.3"];
        assert_eq!(client(&trusted, "192.168.1.1", &hops), "198.51.100.7");
        assert_eq!(
            client(&trusted, "10.9.9.9", &["198.51.100.7"]),
            "198.51.100.7"
        );
    }

    #[test]
    fn a_trusted_proxy_without_the_header_is_itself_the_client() {
        let trusted = proxies("127.0.0.1");
        assert_eq!(client(&trusted, "127.0.0.1", &[]), "127.0.0.1");
    }

    #[test]
    fn when_every_hop_is_trusted_the_farthest_is_the_client() {
        let trusted = proxies("10.0.0.0/8");
        assert_eq!(
            client(&trusted, "10.0.0.1", &["10.5.5.5, 10.0.0.2"]),
            "10.5.5.5"
        );
    }

    #[test]
    fn a_hop_that_is_not_an_address_ends_the_walk_at_the_nearest_trusted_hop() {
        let trusted = proxies("10.0.0.0/8");
        for junk in [
            "unknown",
            "",
            "1.2.3",
            "198.51.100.7\u{200b}",
            "\"198.51.100.7\"",
        ] {
            let line = format!("198.51.100.9, {junk}, 10.0.0.2");
            assert_eq!(
                client(&trusted, "10.0.0.1", &[&line]),
                "10.0.0.2",
                "{junk:?}"
            );
        }
        let bad_utf8: &[u8] = b"\xff\xfe";
        let address = trusted.client_address(ip("10.0.0.1"), [bad_utf8].into_iter());
        assert_eq!(address.to_string(), "10.0.0.1");
    }

    #[test]
    fn hops_with_ports_and_ipv6_are_read() {
        let trusted = proxies("10.0.0.1, 2001:db8:ffff::/48");
        assert_eq!(
            client(&trusted, "10.0.0.1", &["198.51.100.7:4711"]),
            "198.51.100.7"
        );
        assert_eq!(
            client(&trusted, "10.0.0.1", &["[2001:db8::1]:443"]),
            "2001:db8::1"
        );
        assert_eq!(
            client(&trusted, "10.0.0.1", &["[2001:db8::2]"]),
            "2001:db8::2"
        );
        assert_eq!(
            client(&trusted, "2001:db8:ffff::9", &[" 2001:db8::3 "]),
            "2001:db8::3"
        );
    }

    #[test]
    fn an_ipv4_peer_written_as_ipv6_is_matched_and_reported_as_ipv4() {
        let trusted = proxies("127.0.0.1");
        assert_eq!(
            client(&trusted, "::ffff:127.0.0.1", &["::ffff:198.51.100.7"]),
            "198.51.100.7"
        );
    }

    #[test]
    fn the_list_reads_addresses_and_networks_and_names_a_bad_entry() {
        let list = proxies("10.0.0.0/8 192.168.1.1,\n2001:db8::/32");
        assert!(list.trusts(ip("10.200.1.1")));
        assert!(list.trusts(ip("2001:db8:1::1")));
        assert!(!list.trusts(ip("192.168.1.2")));
        // A network written with host bits is the network.
        assert!(proxies("10.1.2.3/8").trusts(ip("10.9.9.9")));
        let error = TrustedProxies::parse("10.0.0.0/8, proxy.local").unwrap_err();
        assert!(error.contains("proxy.local"), "{error}");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("").unwrap().is_empty());
    }
}
