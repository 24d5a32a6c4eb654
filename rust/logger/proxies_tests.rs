//! Unit tests for `proxies.rs`.

use super::*;

fn trusted(networks: &[&str]) -> Trusted {
    Trusted::new(
        networks
            .iter()
            .map(|n| Network::parse(n).unwrap_or_else(|e| unreachable!("{e}")))
            .collect(),
    )
}

#[test]
fn networks_parse_mask_and_print() {
    let cases = [
        ("10.1.2.3/8", "10.0.0.0/8"),
        ("192.0.2.1", "192.0.2.1/32"),
        ("2001:db8::1/32", "2001:db8::/32"),
        ("::ffff:10.0.0.1", "10.0.0.1/32"),
        ("0.0.0.0/0", "0.0.0.0/0"),
    ];
    for (given, shown) in cases {
        let network = Network::parse(given).map(|n| n.to_string());
        assert_eq!(network.as_deref(), Ok(shown), "{given}");
    }
    for bad in [
        "10.0.0.0/33",
        "nope",
        "10.0.0/8",
        "::1/129",
        "10.0.0.0/",
        "",
    ] {
        assert!(Network::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn hops_with_ports_and_mapped_addresses() {
    assert_eq!(hop_address(" 1.2.3.4 "), "1.2.3.4".parse().ok());
    assert_eq!(hop_address("1.2.3.4:8080"), "1.2.3.4".parse().ok());
    assert_eq!(hop_address("[::1]:80"), "::1".parse().ok());
    assert_eq!(hop_address("unknown"), None);
    assert_eq!(hop_address("_hidden"), None);
    let t = trusted(&["10.0.0.0/8"]);
    assert!(t.trusts("::ffff:10.9.9.9"));
    assert!(!t.trusts("::ffff:11.0.0.1"));
}

#[test]
fn right_most_untrusted_hop() {
    let t = trusted(&["10.0.0.0/8", "::1"]);
    // Not from a trusted proxy: the header is the client's own claim.
    assert_eq!(t.client("203.0.113.9", Some("1.1.1.1")), "203.0.113.9");
    assert_eq!(t.client("10.0.0.2", None), "10.0.0.2");
    assert_eq!(t.client("10.0.0.2", Some("")), "10.0.0.2");
    // A client's forged left-most entry is ignored.
    assert_eq!(
        t.client("10.0.0.2", Some("6.6.6.6, 198.51.100.7, 10.0.0.3")),
        "198.51.100.7"
    );
    assert_eq!(t.client("::1", Some("198.51.100.7")), "198.51.100.7");
    // Every hop trusted: the left-most.
    assert_eq!(t.client("10.0.0.2", Some("10.0.0.5,10.0.0.3")), "10.0.0.5");
    // Whatever a trusted proxy wrote is what it saw.
    assert_eq!(t.client("10.0.0.2", Some("1.1.1.1, unknown")), "unknown");
    assert_eq!(
        t.client("10.0.0.2", Some("198.51.100.7:5555")),
        "198.51.100.7:5555"
    );
    assert_eq!(trusted(&[]).client("10.0.0.2", Some("1.1.1.1")), "10.0.0.2");
}
