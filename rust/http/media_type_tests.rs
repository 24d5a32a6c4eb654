//! Unit tests for `media_type.rs` (kept beside it so the module reads as the code alone).

use super::*;

#[test]
fn parse_table() {
    type Expected<'a> = Option<(&'a str, Option<&'a str>)>;
    let cases: [(&str, Expected); 7] = [
        ("text/html", Some(("text/html", None))),
        (
            "Text/HTML; Charset=\"UTF-8\"",
            Some(("Text/HTML", Some("UTF-8"))),
        ),
        (
            "text/plain;charset=latin-1;format=flowed",
            Some(("text/plain", Some("latin-1"))),
        ),
        ("application/json; q=1", Some(("application/json", None))),
        ("text", None),
        ("/html", None),
        ("", None),
    ];
    for (value, expected) in cases {
        let got = ContentType::parse(value).map(|ct| (ct.essence, ct.charset));
        assert_eq!(got, expected, "{value:?}");
    }
}

#[test]
fn matching_table() {
    let types = MediaTypes::new(["text/html", "application/*"]).unwrap();
    for (essence, expected) in [
        ("text/html", true),
        ("text/plain", false),
        ("application/json", true),
        ("image/png", false),
    ] {
        assert_eq!(types.matches(essence), expected, "{essence}");
    }
    assert!(MediaTypes::new(["*/*"]).unwrap().matches("image/png"));
}

#[test]
fn invalid_entries_are_rejected() {
    for bad in [
        "html",
        "text/",
        "/x",
        "*/html",
        "text/html; charset=utf-8",
        "a/b/c",
    ] {
        assert!(MediaTypes::new([bad]).is_err(), "{bad}");
    }
}

#[test]
fn structured_syntax_suffixes() {
    let types = MediaTypes::new(["application/*+json", "application/*+XML"]).unwrap();
    for (essence, expected) in [
        ("application/vnd.api+json", true),
        ("application/hal+json", true),
        ("Application/Problem+JSON", true),
        ("application/atom+xml", true),
        ("application/json", false),
        ("application/+json", false),
        ("text/x+json", false),
        ("application/jsonp", false),
    ] {
        assert_eq!(types.matches(essence), expected, "{essence}");
    }
    for bad in ["application/x*", "application/*+", "application/a*+json"] {
        assert!(MediaTypes::new([bad]).is_err(), "{bad}");
    }
}
