//! Unit tests for `mime.rs`.

use super::*;

#[test]
fn types_by_extension_with_charset_for_text() {
    for (name, expected) in [
        ("site.css", "text/css; charset=utf-8"),
        ("app.3f2a9b1c.JS", "text/javascript; charset=utf-8"),
        ("index.html", "text/html; charset=utf-8"),
        ("data.json", "application/json; charset=utf-8"),
        ("logo.svg", "image/svg+xml; charset=utf-8"),
        ("photo.jpg", "image/jpeg"),
        ("font.woff2", "font/woff2"),
        ("module.wasm", "application/wasm"),
        ("archive.tar.gz", DEFAULT_TYPE),
        ("README", DEFAULT_TYPE),
        ("trailing.", DEFAULT_TYPE),
    ] {
        assert_eq!(content_type(name.as_bytes(), &[]), expected, "{name}");
    }
}

#[test]
fn the_users_types_come_first() {
    let extra = vec![
        ("js".to_owned(), "application/javascript".to_owned()),
        ("md".to_owned(), "text/markdown; charset=latin-1".to_owned()),
        ("geojson".to_owned(), "application/geo+json".to_owned()),
    ];
    assert_eq!(content_type(b"a.js", &extra), "application/javascript");
    assert_eq!(
        content_type(b"a.md", &extra),
        "text/markdown; charset=latin-1"
    );
    assert_eq!(content_type(b"a.geojson", &extra), "application/geo+json");
    assert_eq!(content_type(b"a.css", &extra), "text/css; charset=utf-8");
}

#[test]
fn etags_are_strong_and_change_with_the_file() {
    assert_eq!(etag(1_700_000_000, 4096), "\"6553f100-1000\"");
    assert_ne!(etag(1_700_000_000, 4096), etag(1_700_000_001, 4096));
    assert_ne!(etag(1_700_000_000, 4096), etag(1_700_000_000, 4097));
    assert_eq!(etag(-5, 0), "\"0-0\"");
}
