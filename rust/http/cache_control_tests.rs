//! Unit tests for `cache_control.rs`.

use super::*;

fn parse(value: &str) -> CacheControl {
    CacheControl::parse([value])
}

#[test]
fn directive_table() {
    let cases: [(&str, &str, CacheControl); 12] = [
        ("empty", "", CacheControl::default()),
        (
            "no_store",
            "no-store",
            CacheControl {
                no_store: true,
                ..Default::default()
            },
        ),
        (
            "case_insensitive",
            "No-Store, PRIVATE",
            CacheControl {
                no_store: true,
                private: true,
                ..Default::default()
            },
        ),
        (
            "max_age",
            "max-age=60",
            CacheControl {
                max_age: Some(60),
                ..Default::default()
            },
        ),
        (
            "s_maxage_and_public",
            "public, s-maxage=300, max-age=0",
            CacheControl {
                public: true,
                s_maxage: Some(300),
                max_age: Some(0),
                ..Default::default()
            },
        ),
        (
            "quoted_delta_tolerated",
            "max-age=\"30\"",
            CacheControl {
                max_age: Some(30),
                ..Default::default()
            },
        ),
        (
            "invalid_delta_is_stale",
            "max-age=abc",
            CacheControl {
                max_age: Some(0),
                ..Default::default()
            },
        ),
        (
            "negative_delta_is_stale",
            "max-age=-5",
            CacheControl {
                max_age: Some(0),
                ..Default::default()
            },
        ),
        (
            "huge_delta_saturates",
            "max-age=99999999999999999999999",
            CacheControl {
                max_age: Some(u64::MAX),
                ..Default::default()
            },
        ),
        (
            "duplicate_keeps_shortest",
            "max-age=60, max-age=10",
            CacheControl {
                max_age: Some(10),
                ..Default::default()
            },
        ),
        (
            "qualified_private_with_comma",
            "private=\"Set-Cookie, X-Token\", max-age=5",
            CacheControl {
                private: true,
                max_age: Some(5),
                ..Default::default()
            },
        ),
        (
            "proxy_revalidate",
            "proxy-revalidate",
            CacheControl {
                must_revalidate: true,
                ..Default::default()
            },
        ),
    ];
    for (rule, value, expected) in cases {
        assert_eq!(parse(value), expected, "{rule}: {value:?}");
    }
}

#[test]
fn several_header_instances_combine() {
    let cc = CacheControl::parse(["max-age=60", "no-cache"]);
    assert_eq!(cc.max_age, Some(60));
    assert!(cc.no_cache);
}
