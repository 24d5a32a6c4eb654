//! Unit tests for `head.rs` (kept beside it so the module reads as the code alone).

use super::*;

#[test]
fn status_table() {
    // (status, expected code or None for an error): PEP 3333 "NNN reason", RFC 9110 range.
    let cases: [(&str, Option<u16>); 12] = [
        ("200 OK", Some(200)),
        ("404 Not Found", Some(404)),
        ("599 ", Some(599)),
        ("101 Switching Protocols", Some(101)),
        ("200", None),
        ("200OK", None),
        ("OK 200", None),
        ("20 OK", None),
        ("2000 OK", None),
        ("099 Low", None),
        ("600 High", None),
        ("200 OK\r\nX: y", None),
    ];
    for (status, expected) in cases {
        assert_eq!(parse_status(status).ok(), expected, "{status:?}");
    }
}

#[test]
fn byte_test_agrees_with_char_test() {
    // Every code point up to U+0800 and a few beyond, alone and inside text.
    for cp in (0u32..0x800).chain([0x20AC, 0xFFFD, 0x1F600]) {
        let Some(c) = char::from_u32(cp) else {
            continue;
        };
        let text = format!("a{c}b");
        assert_eq!(all_field_chars(&text), is_field_char(c), "U+{cp:04X}");
    }
}

#[test]
fn header_table() {
    let cases: [(&str, &str, bool); 10] = [
        ("Content-Type", "text/html; charset=utf-8", true),
        ("X-Tab", "a\tb", true),
        ("X-Latin1", "caf\u{e9}", true),
        ("Bad Name", "x", false),
        ("Bad:Name", "x", false),
        ("", "x", false),
        ("X-Split", "a\r\nInjected: yes", false),
        ("X-Wide", "\u{20ac}", false),
        ("Connection", "close", false),
        ("transfer-encoding", "chunked", false),
    ];
    for (name, value, ok) in cases {
        assert_eq!(check_header(name, value).is_ok(), ok, "{name:?}: {value:?}");
    }
}

fn head(headers: &[(&str, &str)]) -> ResponseHead {
    ResponseHead::parse("200 OK", headers).unwrap()
}

#[test]
fn get_is_case_insensitive_and_first_wins() {
    let h = head(&[("X-A", "1"), ("x-a", "2")]);
    assert_eq!(h.get("X-a"), Some("1"));
    assert!(!h.edited());
}

#[test]
fn set_replaces_all_instances_in_place() {
    let mut h = head(&[("A", "1"), ("Content-Length", "5"), ("content-length", "6")]);
    h.set("Content-Length", "9");
    assert_eq!(
        h.headers().collect::<Vec<_>>(),
        [("A", "1"), ("Content-Length", "9")]
    );
    assert!(h.edited());
}

#[test]
fn set_same_value_is_not_an_edit() {
    let mut h = head(&[("Content-Length", "5")]);
    h.set("content-length", "5");
    assert!(!h.edited());
}

#[test]
fn vary_merge_table() {
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[], "Accept-Encoding"),
        (&[("Vary", "Cookie")], "Cookie, Accept-Encoding"),
        (&[("Vary", "accept-encoding")], "accept-encoding"),
        (&[("Vary", "*")], "*"),
        (
            &[("Vary", "Cookie"), ("Vary", "Origin")],
            "Cookie, Origin, Accept-Encoding",
        ),
    ];
    for (headers, expected) in cases {
        let mut h = head(headers);
        h.merge_vary("Accept-Encoding");
        assert_eq!(h.get("vary"), Some(expected), "{headers:?}");
    }
}

#[test]
fn etag_weakening_table() {
    let cases: [(&str, &str); 3] = [
        ("\"abc\"", "W/\"abc\""),
        ("W/\"abc\"", "W/\"abc\""),
        ("garbage", "garbage"),
    ];
    for (etag, expected) in cases {
        let mut h = head(&[("ETag", etag)]);
        h.weaken_etag();
        assert_eq!(h.get("etag"), Some(expected));
    }
}

#[test]
fn content_encoding_identity_is_not_encoded() {
    assert!(!head(&[("Content-Encoding", "identity")]).is_content_encoded());
    assert!(head(&[("Content-Encoding", "gzip")]).is_content_encoded());
    assert!(!head(&[]).is_content_encoded());
}

#[test]
fn bodyless_statuses() {
    for (status, bodyless) in [
        ("100 Continue", true),
        ("204 No Content", true),
        ("304 Not Modified", true),
        ("200 OK", false),
        ("404 Not Found", false),
    ] {
        assert_eq!(
            ResponseHead::parse(status, &[]).unwrap().forbids_body(),
            bodyless
        );
    }
}

#[test]
fn content_length_is_one_plain_decimal_number() {
    let length = |value: &str| {
        ResponseHead::parse("200 OK", &[("Content-Length", value)])
            .unwrap()
            .content_length()
    };
    assert_eq!(length("1800"), Some(1800));
    assert_eq!(length(" 42 "), Some(42));
    assert_eq!(length("0"), Some(0));
    for bad in [
        "",
        "+5",
        "-1",
        "5, 5",
        "0x10",
        "1e3",
        "99999999999999999999999",
    ] {
        assert_eq!(length(bad), None, "{bad:?}");
    }
    assert_eq!(
        ResponseHead::parse("200 OK", &[]).unwrap().content_length(),
        None
    );
}

#[test]
fn encoded_or_partial() {
    let head = |status: &str, headers: &[(&str, &str)]| {
        ResponseHead::parse(status, headers)
            .unwrap()
            .is_encoded_or_partial()
    };
    assert!(!head("200 OK", &[]));
    assert!(!head("200 OK", &[("Content-Encoding", "identity")]));
    assert!(head("200 OK", &[("Content-Encoding", "gzip")]));
    assert!(head("206 Partial Content", &[]));
    assert!(head("200 OK", &[("Content-Range", "bytes 0-1/2")]));
}
