//! Unit tests for `conditional.rs`.

use super::*;

/// (rule, If-None-Match, If-Modified-Since, ETag, Last-Modified, 304?)
type Row = (
    &'static str,
    Option<&'static str>,
    Option<i64>,
    Option<&'static str>,
    Option<i64>,
    bool,
);

#[test]
fn not_modified_table() {
    // (rule, If-None-Match, If-Modified-Since, ETag, Last-Modified, 304?)
    let cases: [Row; 14] = [
        (
            "same_strong_tag",
            Some("\"v1\""),
            None,
            Some("\"v1\""),
            None,
            true,
        ),
        (
            "weak_request_strong_stored",
            Some("W/\"v1\""),
            None,
            Some("\"v1\""),
            None,
            true,
        ),
        (
            "strong_request_weak_stored",
            Some("\"v1\""),
            None,
            Some("W/\"v1\""),
            None,
            true,
        ),
        (
            "different_tag",
            Some("\"v2\""),
            None,
            Some("\"v1\""),
            None,
            false,
        ),
        (
            "tag_in_list",
            Some("\"a\", \"v1\" , \"b\""),
            None,
            Some("\"v1\""),
            None,
            true,
        ),
        (
            "comma_inside_tag",
            Some("\"a,b\""),
            None,
            Some("\"a,b\""),
            None,
            true,
        ),
        (
            "star_matches_any",
            Some("*"),
            None,
            Some("\"v1\""),
            None,
            true,
        ),
        (
            "no_stored_etag",
            Some("\"v1\""),
            None,
            None,
            Some(100),
            false,
        ),
        (
            "unquoted_garbage",
            Some("v1"),
            None,
            Some("v1"),
            None,
            false,
        ),
        (
            "inm_decides_alone",
            Some("\"v2\""),
            Some(200),
            Some("\"v1\""),
            Some(100),
            false,
        ),
        ("ims_not_older", None, Some(100), None, Some(100), true),
        ("ims_newer", None, Some(200), None, Some(100), true),
        (
            "ims_older_than_modification",
            None,
            Some(50),
            None,
            Some(100),
            false,
        ),
        (
            "ims_without_last_modified",
            None,
            Some(100),
            Some("\"v1\""),
            None,
            false,
        ),
    ];
    for (rule, inm, ims, etag, last_modified, expected) in cases {
        assert_eq!(
            not_modified(inm, ims, etag, last_modified),
            expected,
            "{rule}"
        );
    }
}

#[test]
fn not_modified_keeps_validators_and_drops_content_fields() {
    for (name, kept) in [
        ("ETag", true),
        ("Cache-Control", true),
        ("VARY", true),
        ("Content-Type", false),
        ("Content-Length", false),
        ("Set-Cookie", false),
    ] {
        assert_eq!(kept_in_not_modified(name), kept, "{name}");
    }
}

#[test]
fn a_client_holding_the_weakened_tag_is_told_apart() {
    for (if_none_match, etag, holds) in [
        ("W/\"v1\"", "\"v1\"", true),
        ("\"a\", W/\"v1\"", "\"v1\"", true),
        // The strong tag itself: the client stored the untransformed response.
        ("\"v1\"", "\"v1\"", false),
        ("W/\"v1\", \"v1\"", "\"v1\"", false),
        ("W/\"v2\"", "\"v1\"", false),
        ("*", "\"v1\"", false),
        // A weak ETag from the origin stays as it is.
        ("W/\"v1\"", "W/\"v1\"", false),
        ("W/\"v1\"", "v1", false),
        ("", "\"v1\"", false),
    ] {
        assert_eq!(
            holds_weakened(if_none_match, etag),
            holds,
            "{if_none_match} / {etag}"
        );
    }
}
