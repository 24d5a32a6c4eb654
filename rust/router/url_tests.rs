//! Unit tests for `url.rs`.

use super::*;

#[test]
fn latin1_path_info_is_decoded_as_utf8() {
    // "/café" sent as UTF-8 bytes arrives as "/caf\u{c3}\u{a9}" in PATH_INFO.
    assert_eq!(decode_path("/caf\u{c3}\u{a9}"), "/café");
    assert_eq!(decode_path("/plain"), "/plain");
    assert_eq!(decode_path("/bad\u{ff}"), "/bad\u{fffd}");
}

#[test]
fn encoding() {
    assert_eq!(percent_encode("a b/c", false), "a%20b%2Fc");
    assert_eq!(percent_encode("a b/c", true), "a%20b/c");
    assert_eq!(percent_encode("café", false), "caf%C3%A9");
    assert_eq!(percent_encode("x:y@z", false), "x:y@z");
    assert_eq!(encode_query("a+b&c=d é"), "a%2Bb%26c%3Dd%20%C3%A9");
    assert_eq!(quote_latin1("/caf\u{c3}\u{a9} x"), "/caf%C3%A9%20x");
}

#[test]
fn quote_query_encodes_what_a_header_or_url_must_not_carry() {
    assert_eq!(quote_query("a=1&b=%41+c/d?e"), "a=1&b=%41+c/d?e");
    assert_eq!(
        quote_query("x\r\nSet-Cookie: a=b"),
        "x%0D%0ASet-Cookie:%20a=b"
    );
    assert_eq!(
        quote_query("\0\t\u{7f}\"<>#`{}|\\^"),
        "%00%09%7F%22%3C%3E%23%60%7B%7D%7C%5C%5E"
    );
    // PEP 3333 latin-1 characters are their byte; wider ones UTF-8.
    assert_eq!(quote_query("caf\u{e9}"), "caf%E9");
    assert_eq!(quote_query("\u{20ac}"), "%E2%82%AC");
    for c in (0u32..0x100).filter_map(char::from_u32) {
        let quoted = quote_query(&c.to_string());
        assert!(
            quoted.bytes().all(|b| b.is_ascii_graphic()),
            "{c:?} -> {quoted:?}"
        );
    }
}

#[test]
fn schemes_and_authorities() {
    assert!(is_scheme("http") && is_scheme("https") && is_scheme("svn+ssh"));
    assert!(!is_scheme("") && !is_scheme("1http") && !is_scheme("ht tp") && !is_scheme("http\r\n"));
    for ok in [
        "example.com",
        "example.com:8080",
        "[::1]:80",
        "127.0.0.1",
        "xn--nxasmq6b",
    ] {
        assert!(is_authority(ok.as_bytes()), "{ok}");
    }
    for bad in [
        "",
        "evil.com\r\nX: y",
        "a b",
        "user@evil.com",
        "evil.com/path",
        "a\\b",
        "caf\u{e9}",
        "h\0",
    ] {
        assert!(!is_authority(bad.as_bytes()), "{bad:?}");
    }
}

#[test]
fn wsgi_path_is_the_inverse_of_decode_path() {
    for text in ["/api", "/café", "/日本/x", ""] {
        assert_eq!(decode_path(&wsgi_path(text)), text);
    }
    // What a server puts in PATH_INFO for /caf%C3%A9.
    assert_eq!(wsgi_path("/café"), "/caf\u{c3}\u{a9}");
}

#[test]
fn longest_prefix_stops_on_segment_boundaries() {
    let mounts = ["/api", "/api/v2"];
    let find = |path: &str| longest_prefix(path, 7, |p| mounts.iter().find(|m| **m == p));
    assert_eq!(
        find("/api/v2/z").map(|(m, n)| (*m, n)),
        Some(("/api/v2", 7))
    );
    assert_eq!(find("/api").map(|(m, n)| (*m, n)), Some(("/api", 4)));
    assert_eq!(find("/api/").map(|(m, n)| (*m, n)), Some(("/api", 4)));
    assert_eq!(find("/apix"), None);
    assert_eq!(find(""), None);
    // Longer than any prefix: cut at the last "/" that fits.
    assert_eq!(
        find("/api/v2/a/b/c/d").map(|(m, n)| (*m, n)),
        Some(("/api/v2", 7))
    );
    assert_eq!(find("/api/v23/x").map(|(m, n)| (*m, n)), Some(("/api", 4)));
}

#[test]
fn longest_prefix_looks_up_only_what_could_match() {
    let path = "/a".repeat(10_000);
    let mut looked = 0usize;
    let found: Option<(&(), usize)> = longest_prefix(&path, 4, |candidate| {
        looked += candidate.len();
        None
    });
    assert_eq!(found, None);
    // "/a/a" and "/a": bytes hashed bounded by the mounts, not the path.
    assert_eq!(looked, 6);
}
