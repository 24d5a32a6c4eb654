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
