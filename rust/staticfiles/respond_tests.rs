//! Unit tests for `respond.rs`: methods, negotiation of siblings, 304s, ranges, If-Range.

use std::path::PathBuf;

use super::*;
use crate::http::http_date::format_http_date;
use crate::staticfiles::mime::etag;

const MTIME: i64 = 1_700_000_000; // Tue, 14 Nov 2023 22:13:20 GMT

fn variant(name: &str, size: u64) -> Variant {
    Variant::new(PathBuf::from(name), size, MTIME, Default::default())
}

fn entry(siblings: &[(Coding, u64)], immutable: bool) -> FileEntry {
    FileEntry {
        file: variant("site.css", 1000),
        content_type: "text/css; charset=utf-8".to_owned(),
        immutable,
        siblings: siblings
            .iter()
            .map(|&(c, size)| (c, variant(&format!("site.css.{}", c.token()), size)))
            .collect(),
    }
}

fn options() -> &'static Options {
    static OPTIONS: std::sync::LazyLock<Options> = std::sync::LazyLock::new(|| {
        Options::new(60, 31_536_000, vec![Coding::Zstd, Coding::Br, Coding::Gzip])
    });
    &OPTIONS
}

fn get<'a>() -> Ask<'a> {
    Ask {
        method: "GET",
        ..Ask::default()
    }
}

fn header<'a>(reply: &'a Reply<'_>, name: &str) -> Option<&'a str> {
    reply
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_ref())
}

#[test]
fn a_plain_get_and_head() {
    let entry = entry(&[], false);
    let reply = respond(&entry, &get(), options());
    assert_eq!(reply.status, "200 OK");
    assert_eq!(header(&reply, "Content-Length"), Some("1000"));
    assert_eq!(
        header(&reply, "Content-Type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(header(&reply, "Cache-Control"), Some("public, max-age=60"));
    assert_eq!(
        header(&reply, "Last-Modified"),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );
    assert_eq!(header(&reply, "ETag"), Some(etag(MTIME, 1000).as_str()));
    assert_eq!(header(&reply, "Vary"), None);
    assert_eq!(
        reply.body,
        Body::File {
            file: &entry.file,
            start: 0,
            len: 1000
        }
    );
    let head = respond(
        &entry,
        &Ask {
            method: "HEAD",
            ..get()
        },
        options(),
    );
    assert_eq!(head.headers, reply.headers);
    assert_eq!(head.body, Body::None);
}

#[test]
fn other_methods_get_405() {
    let entry = entry(&[(Coding::Br, 10)], false);
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "get"] {
        let reply = respond(&entry, &Ask { method, ..get() }, options());
        assert_eq!(reply.status, "405 Method Not Allowed", "{method}");
        assert_eq!(header(&reply, "Allow"), Some("GET, HEAD"));
        assert_eq!(header(&reply, "Vary"), Some("Accept-Encoding"));
        assert_eq!(reply.body, Body::Text(NOT_ALLOWED));
    }
}

#[test]
fn immutable_names_are_cached_for_a_year() {
    let entry = entry(&[], true);
    let reply = respond(&entry, &get(), options());
    assert_eq!(
        header(&reply, "Cache-Control"),
        Some("public, max-age=31536000, immutable")
    );
}

#[test]
fn siblings_by_q_values_then_the_encodings_order() {
    let entry = entry(
        &[(Coding::Zstd, 300), (Coding::Br, 400), (Coding::Gzip, 500)],
        false,
    );
    for (accept, coding, size) in [
        (Some("gzip, deflate, br, zstd"), Some("zstd"), 300),
        (Some("gzip, br"), Some("br"), 400),
        (Some("gzip"), Some("gzip"), 500),
        (Some("br;q=0.5, gzip;q=0.9"), Some("gzip"), 500),
        (Some("*;q=0.1, zstd;q=0"), Some("br"), 400),
        (Some("identity"), None, 1000),
        (Some("deflate"), None, 1000),
        (None, None, 1000),
    ] {
        let reply = respond(
            &entry,
            &Ask {
                accept_encoding: accept,
                ..get()
            },
            options(),
        );
        assert_eq!(header(&reply, "Content-Encoding"), coding, "{accept:?}");
        assert_eq!(
            header(&reply, "Content-Length"),
            Some(size.to_string().as_str()),
            "{accept:?}"
        );
        assert_eq!(header(&reply, "Vary"), Some("Accept-Encoding"));
        assert_eq!(
            header(&reply, "Content-Type"),
            Some("text/css; charset=utf-8")
        );
    }
    // Only the encodings the Static offers.
    let only_gzip = Options::new(60, 31_536_000, vec![Coding::Gzip]);
    let reply = respond(
        &entry,
        &Ask {
            accept_encoding: Some("zstd, br, gzip"),
            ..get()
        },
        &only_gzip,
    );
    assert_eq!(header(&reply, "Content-Encoding"), Some("gzip"));
    // The sibling's own validators.
    let reply = respond(
        &entry,
        &Ask {
            accept_encoding: Some("br"),
            ..get()
        },
        options(),
    );
    assert_eq!(header(&reply, "ETag"), Some(etag(MTIME, 400).as_str()));
}

#[test]
fn conditional_requests_get_304() {
    let entry = entry(&[(Coding::Br, 400)], false);
    let tag = etag(MTIME, 1000);
    for ask in [
        Ask {
            if_none_match: Some(&tag),
            ..get()
        },
        Ask {
            if_none_match: Some("\"other\", W/\"6553f100-3e8\""),
            ..get()
        },
        Ask {
            if_none_match: Some("*"),
            ..get()
        },
        Ask {
            if_modified_since: Some("Tue, 14 Nov 2023 22:13:20 GMT"),
            ..get()
        },
        Ask {
            if_modified_since: Some("Wed, 15 Nov 2023 00:00:00 GMT"),
            ..get()
        },
    ] {
        let reply = respond(&entry, &ask, options());
        assert_eq!(reply.status, "304 Not Modified");
        assert_eq!(reply.body, Body::None);
        assert_eq!(header(&reply, "Content-Length"), None);
        assert_eq!(header(&reply, "Vary"), Some("Accept-Encoding"));
        assert_eq!(header(&reply, "ETag"), Some(tag.as_str()));
    }
    for ask in [
        Ask {
            if_none_match: Some("\"other\""),
            ..get()
        },
        // If-None-Match decides alone.
        Ask {
            if_none_match: Some("\"other\""),
            if_modified_since: Some("Wed, 15 Nov 2023 00:00:00 GMT"),
            ..get()
        },
        Ask {
            if_modified_since: Some("Mon, 13 Nov 2023 00:00:00 GMT"),
            ..get()
        },
        Ask {
            if_modified_since: Some("yesterday"),
            ..get()
        },
        // The br sibling has its own tag: the identity tag does not match it.
        Ask {
            if_none_match: Some(&tag),
            accept_encoding: Some("br"),
            ..get()
        },
    ] {
        assert_eq!(respond(&entry, &ask, options()).status, "200 OK");
    }
}

#[test]
fn ranges() {
    let entry = entry(&[(Coding::Br, 400)], false);
    let reply = respond(
        &entry,
        &Ask {
            range: Some("bytes=100-199"),
            accept_encoding: Some("br"),
            ..get()
        },
        options(),
    );
    assert_eq!(reply.status, "206 Partial Content");
    assert_eq!(header(&reply, "Content-Range"), Some("bytes 100-199/1000"));
    assert_eq!(header(&reply, "Content-Length"), Some("100"));
    // A range is always of the file itself, never of a sibling.
    assert_eq!(header(&reply, "Content-Encoding"), None);
    assert_eq!(
        reply.body,
        Body::File {
            file: &entry.file,
            start: 100,
            len: 100
        }
    );
    let suffix = respond(
        &entry,
        &Ask {
            range: Some("bytes=-10"),
            ..get()
        },
        options(),
    );
    assert_eq!(header(&suffix, "Content-Range"), Some("bytes 990-999/1000"));
    let past = respond(
        &entry,
        &Ask {
            range: Some("bytes=1000-"),
            ..get()
        },
        options(),
    );
    assert_eq!(past.status, "416 Range Not Satisfiable");
    assert_eq!(header(&past, "Content-Range"), Some("bytes */1000"));
    assert_eq!(past.body, Body::None);
    let several = respond(
        &entry,
        &Ask {
            range: Some("bytes=0-1,5-6"),
            ..get()
        },
        options(),
    );
    assert_eq!(several.status, "200 OK");
    let head = respond(
        &entry,
        &Ask {
            method: "HEAD",
            range: Some("bytes=0-9"),
            ..get()
        },
        options(),
    );
    // RFC 9110 §14.2: range handling is defined for GET only; a HEAD gets the 200's head.
    assert_eq!((head.status, &head.body), ("200 OK", &Body::None));
    assert_eq!(header(&head, "Content-Range"), None);
    assert_eq!(header(&head, "Content-Length"), Some("1000"));
}

#[test]
fn if_match_and_if_unmodified_since_fail_with_412_before_anything_else() {
    let entry = entry(&[], false);
    let tag = etag(MTIME, 1000);
    let status = |if_match: Option<&str>, if_unmodified_since: Option<&str>| {
        respond(
            &entry,
            &Ask {
                if_match,
                if_unmodified_since,
                // A 304 would come after: §13.2.2 evaluates If-Match first.
                if_none_match: Some(tag.as_str()),
                ..get()
            },
            options(),
        )
        .status
    };
    let weak = format!("W/{tag}");
    let listed = format!("\"other\", {tag}");
    assert_eq!(status(Some("\"other\""), None), "412 Precondition Failed");
    assert_eq!(status(Some(&weak), None), "412 Precondition Failed"); // strong comparison
    assert_eq!(status(Some(&listed), None), "304 Not Modified");
    assert_eq!(status(Some("*"), None), "304 Not Modified");
    // If-Unmodified-Since counts only without If-Match.
    let before = format_http_date(MTIME - 60);
    let after = format_http_date(MTIME + 60);
    assert_eq!(status(None, Some(&before)), "412 Precondition Failed");
    assert_eq!(status(None, Some(&after)), "304 Not Modified");
    assert_eq!(status(None, Some("not a date")), "304 Not Modified");
    assert_eq!(status(Some("*"), Some(&before)), "304 Not Modified");
}

#[test]
fn if_range_with_a_validator_that_no_longer_holds_gets_the_whole_file() {
    let entry = entry(&[], false);
    let tag = etag(MTIME, 1000);
    for (if_range, status) in [
        (tag.as_str(), "206 Partial Content"),
        ("Tue, 14 Nov 2023 22:13:20 GMT", "206 Partial Content"),
        ("\"old\"", "200 OK"),
        ("W/\"6553f100-3e8\"", "200 OK"),
        ("Mon, 13 Nov 2023 00:00:00 GMT", "200 OK"),
        ("garbage", "200 OK"),
    ] {
        let ask = Ask {
            range: Some("bytes=0-9"),
            if_range: Some(if_range),
            ..get()
        };
        assert_eq!(
            respond(&entry, &ask, options()).status,
            status,
            "{if_range}"
        );
    }
}
