//! Where the harness's clients come from. Shoppers come from networks of their own, and the
//! worker tells clients apart by address, so each simulated shopper gets one: its connections
//! leave from a loopback address of its own (every 127.0.0.0/8 address is this machine's, and
//! `wrangler dev` hands the peer address to the worker as `CF-Connecting-IP`). The worker does
//! not count loopback clients in its per-client payment limiter (no client reaching Cloudflare's
//! edge has one), so a client that must count as one from the internet also names an address
//! in `CF-Connecting-IP` itself, as Cloudflare's edge would: one from the ranges kept for
//! documentation (RFC 5737), which no real client has.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// The header Cloudflare's edge sets to the client's address, and the worker reads.
pub const CLIENT_IP_HEADER: &str = "CF-Connecting-IP";

/// TEST-NET-1, 192.0.2.0/24 (RFC 5737).
pub const TEST_NET_1: [u8; 3] = [192, 0, 2];
/// TEST-NET-2, 198.51.100.0/24.
pub const TEST_NET_2: [u8; 3] = [198, 51, 100];
/// TEST-NET-3, 203.0.113.0/24.
pub const TEST_NET_3: [u8; 3] = [203, 0, 113];

/// How long a harness client waits for an answer.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Address `i` of the loopback range `127.{block}.*.*`, a different one for each `i` below
/// 62,500.
pub fn loopback_ip(block: u8, i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, block, ((i / 250) % 250) as u8, (i % 250) as u8 + 1)
}

/// Host `i + 1` of the documentation range `net` (one of the `TEST_NET_*`); `i` below 254.
pub fn documentation_ip(net: [u8; 3], i: usize) -> Ipv4Addr {
    assert!(i < 254, "a /24 has 254 hosts: {i} is past them");
    Ipv4Addr::new(net[0], net[1], net[2], i as u8 + 1)
}

/// An HTTP client whose connections leave from `ip`.
pub fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::V4(ip)).timeout(TIMEOUT).build().expect("a client")
}

/// An HTTP client whose connections leave from `local` and whose every request says it comes
/// from `seen_as` ([`CLIENT_IP_HEADER`]), as a client of Cloudflare's edge at that address.
pub fn client_seen_as(local: Ipv4Addr, seen_as: IpAddr) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&seen_as.to_string()).expect("an address is a header value");
    headers.insert(CLIENT_IP_HEADER, value);
    reqwest::Client::builder()
        .local_address(IpAddr::V4(local))
        .default_headers(headers)
        .timeout(TIMEOUT)
        .build()
        .expect("a client")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shopper_has_an_address_of_its_own() {
        assert_eq!(loopback_ip(20, 0), Ipv4Addr::new(127, 20, 0, 1));
        assert_eq!(loopback_ip(20, 251), Ipv4Addr::new(127, 20, 1, 2));
        assert!(loopback_ip(30, 999).is_loopback());
        assert_eq!(documentation_ip(TEST_NET_3, 0), Ipv4Addr::new(203, 0, 113, 1));
        assert_eq!(documentation_ip(TEST_NET_1, 253), Ipv4Addr::new(192, 0, 2, 254));
        assert!(!documentation_ip(TEST_NET_2, 65).is_loopback());
    }
}
