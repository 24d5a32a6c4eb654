//! Unit tests for `config.rs`.

use super::*;

#[test]
fn prefixes_are_normalised() {
    for (given, normal) in [
        ("/static/", "/static/"),
        ("static", "/static/"),
        ("/static", "/static/"),
        ("/a/b//", "/a/b/"),
        ("//", "/"),
        ("/", "/"),
        ("", "/"),
        ("/café/", "/café/"),
    ] {
        assert_eq!(normal_prefix(given).as_deref(), Ok(normal), "{given}");
    }
}

#[test]
fn prefixes_that_match_no_request_path_are_refused_with_the_reason() {
    for (given, reason) in [
        ("https://cdn.example.com/static/", "not a URL"),
        ("http://localhost/s/", "not a URL"),
        ("//cdn.example.com/static/", "not a URL"),
        ("/a?b/", "must not contain '?'"),
        ("/a#b/", "must not contain '#'"),
        ("/a%2e/", "must not contain '%'"),
        ("/a\\b/", "must not contain '\\\\'"),
        ("/a/../b/", "segments"),
        ("/a/./b/", "segments"),
        ("/a//b/", "segments"),
    ] {
        let err = normal_prefix(given).expect_err(given);
        assert!(err.contains(reason), "{given}: {err}");
    }
}

#[test]
fn media_type_entries() {
    assert_eq!(
        media_type_entry(".WEBP", "image/webp"),
        Ok(("webp".to_owned(), "image/webp".to_owned()))
    );
    assert_eq!(
        media_type_entry("md", "text/markdown; charset=utf-8"),
        Ok(("md".to_owned(), "text/markdown; charset=utf-8".to_owned()))
    );
    for (ext, media_type, reason) in [
        ("", "image/webp", "not a file extension"),
        (".", "image/webp", "not a file extension"),
        ("a/b", "image/webp", "not a file extension"),
        ("tar.gz", "application/gzip", "not a file extension"),
        (".webp", "webp", "not a media type"),
        (".webp", "image/", "not a media type"),
        (".webp", "image/webp\r\nX: y", "not a media type"),
        (".webp", "image/webp\t", "not a media type"),
    ] {
        let err = media_type_entry(ext, media_type).expect_err(ext);
        assert!(err.contains(reason), "{ext} {media_type}: {err}");
    }
}
