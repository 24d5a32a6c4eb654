//! Unit tests for `path.rs`: a table of traversal attempts, and hashed names.

use super::*;

#[test]
fn plain_paths_are_their_segments() {
    assert_eq!(segments(b"site.css"), Ok(vec![&b"site.css"[..]]));
    assert_eq!(
        segments(b"css/site.css"),
        Ok(vec![&b"css"[..], &b"site.css"[..]])
    );
    assert_eq!(
        segments(b"a b/%20x.js"),
        Ok(vec![&b"a b"[..], &b"%20x.js"[..]])
    );
    assert_eq!(segments("caf\u{e9}.txt".as_bytes()).map(|s| s.len()), Ok(1));
}

#[test]
fn traversal_attempts_are_refused() {
    for (path, why) in [
        (&b""[..], Refused::Empty),
        (b"..", Refused::DotSegment),
        (b"../etc/passwd", Refused::DotSegment),
        (b"css/../../etc/passwd", Refused::DotSegment),
        (b"./site.css", Refused::DotSegment),
        (b"css/./site.css", Refused::DotSegment),
        (b"/etc/passwd", Refused::EmptySegment),
        (b"css//site.css", Refused::EmptySegment),
        (b"css/", Refused::EmptySegment),
        (b"..\\..\\windows\\win.ini", Refused::Dotfile),
        (b"css\\..\\secret", Refused::Separator),
        (b"site.css\0.png", Refused::Control),
        (b"site\ncss", Refused::Control),
        (b"%2e%2e/etc/passwd", Refused::Escape),
        (b"%2E%2E/etc/passwd", Refused::Escape),
        (b"css%2f..%2fsecret", Refused::Escape),
        (b"css%5c..%5csecret", Refused::Escape),
        (b"%252e%252e/secret", Refused::Escape),
        (b"x%00.png", Refused::Escape),
        (b".env", Refused::Dotfile),
        (b".git/config", Refused::Dotfile),
        (b"css/.htaccess", Refused::Dotfile),
        (b"...", Refused::Dotfile),
    ] {
        assert_eq!(
            segments(path),
            Err(why),
            "{:?}",
            String::from_utf8_lossy(path)
        );
        assert_eq!(check(path), Err(why), "{:?}", String::from_utf8_lossy(path));
    }
    assert_eq!(segments(&[b'a'; 256]), Err(Refused::TooLong));
    assert_eq!(segments(&[b'a'; MAX_PATH + 1]), Err(Refused::TooLong));
    let deep = vec!["a"; MAX_SEGMENTS + 1].join("/");
    assert_eq!(segments(deep.as_bytes()), Err(Refused::TooLong));
    assert_eq!(check(deep.as_bytes()), Err(Refused::TooLong));
    let ok = vec!["a"; MAX_SEGMENTS].join("/");
    assert!(segments(ok.as_bytes()).is_ok());
    assert!(check(ok.as_bytes()).is_ok());
}

#[test]
fn hashed_names() {
    for name in [
        "app.3f2a9b1c.js",
        "app.3f2a9b1c8d7e.css",
        "main.a1b2c3d4.chunk.js",
        "x.0123456789abcdef.woff2",
        "logo.DEADBEEF.svg",
    ] {
        assert!(is_hashed_name(name.as_bytes()), "{name}");
    }
    for name in [
        "app.js",
        "app.3f2a9b1.js",
        "3f2a9b1c.js",
        "app.min.js",
        "jquery-3.7.1.min.js",
        "app.3f2a9b1g.js",
        "app.js.3f2a9b1c",
    ] {
        assert!(!is_hashed_name(name.as_bytes()), "{name}");
    }
}
