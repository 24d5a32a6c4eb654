//! Unit tests for `format.rs`.

use super::*;

#[test]
fn common_and_combined_compile() {
    let Ok(common) = compile(COMMON) else {
        unreachable!("COMMON compiles")
    };
    assert_eq!(
        common,
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
        combined.get(14..),
        Some(
            &[
                Item::RequestHeader("Referer".into()),
                Item::Literal("\" \"".into()),
                Item::RequestHeader("User-Agent".into()),
                Item::Literal("\"".into()),
            ][..]
        )
    );
}

#[test]
fn every_listed_directive_and_percent() {
    let Ok(items) =
        compile("%h%l%u%t%r%s%>s%<s%b%B%D%T%m%U%q%H%{X-A}i%{X-B}o%{wsgi_mw.route}e100%%")
    else {
        unreachable!("all directives compile")
    };
    assert_eq!(items.len(), 20);
    assert_eq!(items.last(), Some(&Item::Literal("100%".into())));
    assert_eq!(items.get(18), Some(&Item::Environ("wsgi_mw.route".into())));
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
            Ok(items) => unreachable!("{format} compiled to {items:?}"),
        }
    }
}

#[test]
fn escaping_is_apaches() {
    let mut out = String::new();
    escape_into(b"GET /\"x\\y\"\n\r\t\x0b\x08\x01\x7f caf\xc3\xa9", &mut out);
    assert_eq!(
        out,
        "GET /\\\"x\\\\y\\\"\\n\\r\\t\\v\\b\\x01\\x7f caf\\xc3\\xa9"
    );
    // A forged line cannot start: no raw newline or quote survives.
    assert!(!out.contains('\n'));
}
