//! Unit tests for `key.rs`.

use super::*;

fn key(uri: [&str; 5], vary: &[(&str, Option<&str>)]) -> Key {
    let mut builder = KeyBuilder::new(uri[0], uri[1], uri[2], uri[3], uri[4]);
    for (name, value) in vary {
        builder.vary(name, value.map(str::as_bytes));
    }
    builder.finish()
}

const URI: [&str; 5] = ["http", "example.com", "", "/page", "a=1"];

#[test]
fn distinct_requests_never_share_a_key() {
    // Each pair would have collided under plain concatenation with a separator.
    let pairs: [(&str, Key, Key); 7] = [
        (
            "path_vs_query_boundary",
            key(["http", "h", "", "/a?b", ""], &[]),
            key(["http", "h", "", "/a", "b"], &[]),
        ),
        (
            "script_name_vs_path",
            key(["http", "h", "/app", "/x", ""], &[]),
            key(["http", "h", "", "/app/x", ""], &[]),
        ),
        (
            "scheme",
            key(["http", "h", "", "/", ""], &[]),
            key(["https", "h", "", "/", ""], &[]),
        ),
        (
            "header_value_with_separator",
            key(URI, &[("cookie", Some("a=1,b=2")), ("x", Some("3"))]),
            key(URI, &[("cookie", Some("a=1")), ("x", Some("b=2,3"))]),
        ),
        (
            "absent_vs_empty_header",
            key(URI, &[("cookie", None)]),
            key(URI, &[("cookie", Some(""))]),
        ),
        (
            "different_cookie",
            key(URI, &[("cookie", Some("session=alice"))]),
            key(URI, &[("cookie", Some("session=bob"))]),
        ),
        (
            "gzip_vs_identity",
            key(URI, &[("accept-encoding", Some("gzip"))]),
            key(URI, &[("accept-encoding", None)]),
        ),
    ];
    for (rule, a, b) in pairs {
        assert_ne!(a, b, "{rule}");
    }
}

#[test]
fn equivalent_requests_share_a_key() {
    let pairs: [(&str, Key, Key); 4] = [
        (
            "accept_encoding_order",
            key(URI, &[("accept-encoding", Some("gzip, deflate, br"))]),
            key(URI, &[("Accept-Encoding", Some("br, gzip,deflate"))]),
        ),
        (
            "accept_encoding_spelling_and_refusals",
            key(URI, &[("accept-encoding", Some("gzip;q=0.8, br"))]),
            key(
                URI,
                &[("accept-encoding", Some("BR, x-gzip;q=0.80, zstd;q=0"))],
            ),
        ),
        (
            "host_case",
            key(["http", "Example.COM", "", "/page", "a=1"], &[]),
            key(URI, &[]),
        ),
        (
            "header_name_case_and_padding",
            key(URI, &[("Cookie", Some(" a=1 "))]),
            key(URI, &[("cookie", Some("a=1"))]),
        ),
    ];
    for (rule, a, b) in pairs {
        assert_eq!(a, b, "{rule}");
    }
}

#[test]
fn uri_parts_and_variants_of_a_uri() {
    let uri = KeyBuilder::new("https", "Example.COM:8443", "/app", "/page", "a=1").finish();
    assert_eq!(
        uri.uri_parts(),
        Some([
            &b"https"[..],
            b"example.com:8443",
            b"/app",
            b"/page",
            b"a=1"
        ])
    );
    let mut variant = KeyBuilder::extend(&uri);
    variant.vary("Accept-Encoding", Some(b"gzip"));
    let variant = variant.finish();
    assert_eq!(variant.uri(), uri);
    assert_eq!(uri.uri(), uri);
    assert_eq!(variant.uri_parts(), uri.uri_parts());
    // "/page" is a prefix of "/pages" as text, not as a part.
    let other = KeyBuilder::new("https", "example.com:8443", "/app", "/pages", "a=1").finish();
    assert_ne!(other.uri(), uri);
    assert_eq!(Key::default().uri_parts(), None);
    assert_eq!(Key::default().uri(), Key::default());
}

#[test]
fn parts_are_exact_bytes_so_unencodable_values_stay_distinct() {
    // A lone surrogate's "surrogatepass" bytes (what code_point_bytes gives) are a part of
    // their own: not "" and not the latin-1 or UTF-8 form of any text.
    let surrogate: &[u8] = b"/\xed\xb3\xbf"; // "/\udcff"
    let keys = [
        KeyBuilder::new("http", "h", "", surrogate, "").finish(),
        KeyBuilder::new("http", "h", "", "/", "").finish(),
        KeyBuilder::new("http", "h", "", "", "").finish(),
        KeyBuilder::new("http", "h", "", "/\u{ff}", "").finish(),
    ];
    for (i, a) in keys.iter().enumerate() {
        for b in keys.get(i + 1..).unwrap_or_default() {
            assert_ne!(a, b);
        }
    }
    let mut with = KeyBuilder::extend(&keys[1]);
    with.vary("x-custom", Some(b"\xed\xb3\xbf"));
    let mut empty = KeyBuilder::extend(&keys[1]);
    empty.vary("x-custom", Some(b""));
    assert_ne!(with.finish(), empty.finish());
}

#[test]
fn kept_normal_forms_give_the_parsed_key() {
    // The expected part is built from the normal form directly, not by the memo under test.
    let expected = |value: &str| {
        let mut builder = KeyBuilder::extend(&key(URI, &[]));
        builder.part(b"accept-encoding");
        builder.part(normal_form(Some(value)).as_bytes());
        builder.finish()
    };
    let long = format!("gzip, {}br", "x-custom;q=0.1, ".repeat(30));
    assert!(long.len() > KEPT_LENGTH);
    // Every value twice (parsed, then kept), and more distinct values than are kept, so
    // earlier ones are parsed again after being dropped.
    let values: Vec<String> = (0..KEPT_VALUES + 3)
        .map(|i| format!("gzip;q=0.{:03}, zstd", i + 1))
        .chain(["gzip;q=0, br".to_owned(), long.clone()])
        .collect();
    for _ in 0..2 {
        for value in &values {
            assert_eq!(
                key(URI, &[("accept-encoding", Some(value))]),
                expected(value),
                "{value}"
            );
        }
    }
    // And the values stay apart from each other.
    let keys: std::collections::HashSet<Key> = values
        .iter()
        .map(|value| key(URI, &[("accept-encoding", Some(value))]))
        .collect();
    assert_eq!(keys.len(), values.len());
}

#[test]
fn purge_hosts_match_any_port_unless_they_name_one() {
    assert!(host_matches(b"example.com", "example.com"));
    assert!(host_matches(b"example.com", "Example.COM"));
    assert!(host_matches(b"example.com:8000", "example.com"));
    assert!(host_matches(b"example.com:8000", "example.com:8000"));
    assert!(!host_matches(b"example.com:8000", "example.com:80"));
    assert!(!host_matches(b"example.com.evil", "example.com"));
    assert!(!host_matches(b"example.co", "example.com"));
    assert!(!host_matches(b"", "example.com"));
}

#[test]
fn purge_targets_are_paths_or_urls() {
    let ok = |host: Option<&str>, path: &str| Ok((host.map(str::to_owned), path.to_owned()));
    assert_eq!(purge_target("/blog/post"), ok(None, "/blog/post"));
    assert_eq!(
        purge_target("https://Example.com/blog?x=1#top"),
        ok(Some("example.com"), "/blog")
    );
    assert_eq!(
        purge_target("HTTP://example.com:8000"),
        ok(Some("example.com:8000"), "/")
    );
    assert_eq!(
        purge_target("http://example.com?q"),
        ok(Some("example.com"), "/")
    );
    assert!(purge_target("blog/post").is_err());
    assert!(purge_target("http:///blog").is_err());
    assert!(purge_target("ftp://example.com/").is_err());
    assert!(purge_target("").is_err());
}
