//! Unit tests for `pattern.rs`.

use super::*;

fn shape(template: &str) -> String {
    match Pattern::parse(template) {
        Ok(pattern) => pattern.shape(),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn parses_segments_converters_and_slashes() {
    let Ok(p) = Pattern::parse("/users/{id:int}/files/{rest:path}") else {
        unreachable!("valid template")
    };
    assert_eq!(p.param_names().collect::<Vec<_>>(), ["id", "rest"]);
    assert!(!p.trailing_slash);
    assert_eq!(shape("/"), "");
    assert_eq!(shape("/dir/"), "/s3:dir/+");
    assert_eq!(shape("/a/{x:re:[0-9]{3}}"), "/s1:a/{re8:[0-9]{3}}");
    // Names do not count in the shape; converters do.
    assert_eq!(shape("/u/{id}"), shape("/u/{name}"));
    assert_ne!(shape("/u/{id}"), shape("/u/{id:int}"));
}

#[test]
fn rejects_bad_templates_with_a_reason() {
    for (template, reason) in [
        ("users", "must start with '/'"),
        ("/a//b", "empty segment"),
        ("/a/{b", "unbalanced"),
        ("/a/b}", "unbalanced"),
        ("/a/x{b}y", "text beside a {param}"),
        ("/v{n}", "text beside a {param}"),
        ("/{a}x", "text beside a {param}"),
        ("/{a:int}-{b:int}", "more than one {param}"),
        ("/{a}{b}", "more than one {param}"),
        ("/a/{b}}", "unbalanced"),
        ("/a/{b:float}", "unknown converter"),
        ("/a/{1b}", "not an identifier"),
        ("/a/{b:re:(}", "invalid regex"),
        ("/a/{b:re:a/b}", "may not match '/'"),
        ("/{a}/{a}", "appears twice"),
        ("/{p:path}/x", "last segment"),
        ("/{p:path}/", "last segment"),
    ] {
        let got = shape(template);
        assert!(got.contains(reason), "{template}: {got}");
    }
}

#[test]
fn an_int_has_at_most_pythons_default_digits() {
    // CPython refuses int() of longer decimal strings (leading zeros count): no match.
    assert!(Converter::Int.accepts(&"1".repeat(MAX_INT_DIGITS)));
    assert!(!Converter::Int.accepts(&"1".repeat(MAX_INT_DIGITS + 1)));
    assert!(!Converter::Int.accepts(&"0".repeat(MAX_INT_DIGITS + 1)));
}

#[test]
fn converters_accept() {
    assert!(Converter::Int.accepts("007"));
    assert!(!Converter::Int.accepts("-1"));
    assert!(!Converter::Int.accepts(""));
    assert!(!Converter::Str.accepts(""));
    let Ok(Segment::Param { converter, .. }) = parse_param("{x:re:[a-c]+}") else {
        unreachable!("valid segment")
    };
    assert!(converter.accepts("abc"));
    assert!(
        !converter.accepts("abcd"),
        "the regex must match the whole segment"
    );
}
