//! Unit tests for `format.rs`.

use super::*;

#[test]
fn common_and_combined_compile() {
    let Ok(common) = compile(COMMON) else {
        unreachable!("COMMON compiles")
    };
    assert!(common.lookups.is_empty());
    assert_eq!(
        common.items,
        [
            Item::RemoteHost,
            Item::Literal(" ".into()),
            Item::Ident,
            Item::Literal(" ".into()),
            Item::User,
            Item::Literal(" ".into()),
            Item::Time,
            Item::Literal(" \"".into()),
            Item::RequestLine,
            Item::Literal("\" ".into()),
            Item::Status,
            Item::Literal(" ".into()),
            Item::BytesClf,
        ]
    );
    let Ok(combined) = compile(COMBINED) else {
        unreachable!("COMBINED compiles")
    };
    assert_eq!(
        combined.items.get(14..),
        Some(
            &[
                Item::Lookup(0),
                Item::Literal("\" \"".into()),
                Item::Lookup(1),
                Item::Literal("\"".into()),
            ][..]
        )
    );
    let keys: Vec<_> = combined
        .lookups
        .iter()
        .map(|l| (l.source, l.key.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            (Source::RequestHeader, "HTTP_REFERER"),
            (Source::RequestHeader, "HTTP_USER_AGENT")
        ]
    );
}

#[test]
fn every_listed_directive_and_percent() {
    let Ok(format) = compile(
        "%h%a%l%u%t%r%s%>s%<s%b%B%D%T%m%U%q%H%{X-A}i%{X-B}o%{wsgi_mw.route}e%{content-type}i100%%",
    ) else {
        unreachable!("all directives compile")
    };
    assert_eq!(format.items.len(), 22);
    assert_eq!(format.items.last(), Some(&Item::Literal("100%".into())));
    assert_eq!(format.items.get(19), Some(&Item::Lookup(2)));
    let keys: Vec<_> = format
        .lookups
        .iter()
        .map(|l| (l.source, l.key.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            (Source::RequestHeader, "HTTP_X_A"),
            (Source::ResponseHeader, "X-B"),
            (Source::Environ, "wsgi_mw.route"),
            (Source::RequestHeader, "CONTENT_TYPE"),
        ]
    );
}

#[test]
fn unknown_directives_are_named() {
    for (format, named) in [
        ("%h %Z", "%Z"),
        ("%{X}z", "%{X}z"),
        ("%{X", "unclosed"),
        ("100%", "end of the format"),
        ("%>b", "%>s"),
        ("%{}i", "%{}i"),
    ] {
        match compile(format) {
            Err(e) => assert!(e.contains(named), "{format}: {e}"),
            Ok(compiled) => unreachable!("{format} compiled to {compiled:?}"),
        }
    }
}

#[test]
fn escaping_is_apaches() {
    let mut out = Vec::new();
    escape_into(b"GET /\"x\\y\"\n\r\t\x0b\x08\x01\x7f caf\xc3\xa9", &mut out);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "GET /\\\"x\\\\y\\\"\\n\\r\\t\\v\\b\\x01\\x7f caf\\xc3\\xa9"
    );
    // A forged line cannot start: no raw newline or quote survives.
    assert!(!out.contains(&b'\n'));
}

#[test]
fn wsgi_strings_are_latin1_bytes_unless_wider() {
    let mut out = Vec::new();
    escape_str_into("caf\u{e9}", &mut out);
    assert_eq!(String::from_utf8_lossy(&out), "caf\\xe9");
    out.clear();
    escape_str_into("\u{20ac}", &mut out);
    assert_eq!(String::from_utf8_lossy(&out), "\\xe2\\x82\\xac");
}
