//! Unit tests for `regex_rules.rs` (kept beside it so the module reads as the code alone).

#[test]
fn group_reference_table() {
    // (pattern, replacement, accepted): the regex crate would silently expand unknown
    // groups to "" (`$1lo` is the group "1lo").
    let cases: [(&str, &str, bool); 10] = [
        ("H(el)lo", "J${1}lo", true),
        ("H(el)lo", "J$1", true),
        ("H(el)lo", "J$1lo", false),
        ("H(el)lo", "J$2", false),
        ("H(?P<mid>el)lo", "J${mid}lo", true),
        ("H(?P<mid>el)lo", "J$mid", true),
        ("H(?P<mid>el)lo", "J$other", false),
        ("Hello", "costs $$5", true),
        ("Hello", "a $ alone, ${ unclosed", true),
        ("Hello", "$0 is the whole match", true),
    ];
    for (pattern, replacement, accepted) in cases {
        let result = RegexRules::new(vec![(
            RegexPattern::Text(pattern.to_owned()),
            replacement.as_bytes().to_vec(),
        )]);
        assert_eq!(result.is_ok(), accepted, "{pattern} -> {replacement}");
    }
    let err = RegexRules::new(vec![(
        RegexPattern::Text("H(el)lo".to_owned()),
        b"J$1lo".to_vec(),
    )])
    .err()
    .unwrap();
    assert!(err.message.contains("${1}lo"), "{}", err.message);
}

use super::*;

fn text(pattern: &str, replacement: &str) -> (RegexPattern, Vec<u8>) {
    (
        RegexPattern::Text(pattern.to_string()),
        replacement.as_bytes().to_vec(),
    )
}

fn bytes(pattern: &[u8], replacement: &[u8]) -> (RegexPattern, Vec<u8>) {
    (RegexPattern::Bytes(pattern.to_vec()), replacement.to_vec())
}

/// The rewritten body, None when nothing matched; a test body never exhausts the budget.
fn rewritten(rules: &RegexRules, body: &[u8]) -> Option<Vec<u8>> {
    match rules.apply(body) {
        Applied::Unchanged => None,
        Applied::Rewritten(out) => Some(out),
        Applied::OverBudget => panic!("over budget on {} bytes", body.len()),
    }
}

#[test]
fn apply_cases() {
    type Row<'a> = (
        &'a str,
        Vec<(RegexPattern, Vec<u8>)>,
        &'a [u8],
        Option<&'a [u8]>,
    );
    let rows: Vec<Row> = vec![
        (
            "numbered_groups_in_replacement",
            vec![text(r"(\w+)@(\w+)", "$2 at $1")],
            b"mail bob@example now",
            Some(b"mail example at bob now"),
        ),
        (
            "named_groups_in_replacement",
            vec![text(r"(?P<user>\w+)@", "${user} at ")],
            b"bob@example",
            Some(b"bob at example"),
        ),
        (
            "double_dollar_is_a_literal_dollar",
            vec![text(r"\d+", "$$$0")],
            b"price 5",
            Some(b"price $5"),
        ),
        (
            "replaces_every_non_overlapping_match",
            vec![text("aa", "b")],
            b"aaaaa",
            Some(b"bba"),
        ),
        (
            "rules_apply_in_sequence_like_sed",
            vec![text("a", "b"), text("b", "c")],
            b"ab",
            Some(b"cc"),
        ),
        (
            "later_rule_sees_earlier_output",
            vec![text("cat", "dog"), text("dog", "wolf")],
            b"cat",
            Some(b"wolf"),
        ),
        (
            "only_some_rules_match",
            vec![text("x", "y"), text("cat", "dog"), text("z", "w")],
            b"cat",
            Some(b"dog"),
        ),
        (
            "none_when_nothing_matches",
            vec![text("x", "y"), text("z", "w")],
            b"cat",
            None,
        ),
        (
            "some_even_when_the_replacement_is_identical",
            vec![text("cat", "cat")],
            b"cat",
            Some(b"cat"),
        ),
        ("empty_rules_return_none", vec![], b"cat", None),
        ("empty_body_without_match", vec![text("a", "b")], b"", None),
        (
            "text_dot_is_one_code_point",
            vec![text("^.$", "X")],
            "\u{e9}".as_bytes(),
            Some(b"X"),
        ),
        (
            "text_classes_are_unicode",
            vec![text(r"\w+", "W")],
            "caf\u{e9} ok".as_bytes(),
            Some(b"W W"),
        ),
        (
            "text_pattern_skips_invalid_utf8",
            vec![text("b", "B")],
            b"a\xffb",
            Some(b"a\xffB"),
        ),
        (
            "bytes_pattern_matches_raw_0xff",
            vec![bytes(b"\xff+", b"-")],
            b"a\xff\xffb",
            Some(b"a-b"),
        ),
        (
            "bytes_pattern_high_bytes_inside_a_class",
            vec![bytes(b"[\xe9\xe8]", b"e")],
            b"caf\xe9 \xe8re",
            Some(b"cafe ere"),
        ),
        (
            "bytes_pattern_escaped_high_byte_is_literal",
            vec![bytes(b"\\\xe9", b"e")],
            b"\xe9",
            Some(b"e"),
        ),
        (
            "bytes_pattern_escaped_backslash_before_high_byte",
            vec![bytes(b"\\\\\xe9", b"e")],
            b"\\\xe9",
            Some(b"e"),
        ),
        (
            "bytes_dot_is_one_byte",
            vec![bytes(b"^..$", b"X")],
            "\u{e9}".as_bytes(),
            Some(b"X"),
        ),
        (
            "bytes_pattern_ascii_syntax_and_groups",
            vec![bytes(b"(\\d+)\xa0(\\w+)", b"$2=$1")],
            b"10\xa0kg",
            Some(b"kg=10"),
        ),
        (
            "bytes_replacement_may_be_non_utf8",
            vec![text("x", "\u{0}"), bytes(b"\x00", b"\xfe")],
            b"axb",
            Some(b"a\xfeb"),
        ),
    ];
    for (name, pairs, body, expected) in rows {
        let rules = RegexRules::new(pairs).unwrap();
        assert_eq!(rewritten(&rules, body).as_deref(), expected, "{name}");
    }
}

#[test]
fn construction_errors() {
    type Row<'a> = (&'a str, Vec<(RegexPattern, Vec<u8>)>, usize, &'a str);
    let rows: Vec<Row> = vec![
        (
            "unclosed_group_names_its_index",
            vec![text("ok", ""), text("(", "")],
            1,
            "unclosed group",
        ),
        (
            "first_bad_rule_is_reported",
            vec![text("[", ""), text("(", "")],
            0,
            "unclosed character class",
        ),
        (
            "bytes_pattern_syntax_error",
            vec![text("ok", ""), text("ok", ""), bytes(b"\xff(", b"")],
            2,
            "unclosed group",
        ),
        (
            "oversized_program_is_an_error_not_a_panic",
            vec![text(r"\w{1000}{1000}", "")],
            0,
            "size limit",
        ),
        (
            "unicode_class_in_bytes_pattern_is_refused",
            vec![bytes(br"\p{Greek}", b"")],
            0,
            "Unicode",
        ),
    ];
    for (name, pairs, index, message) in rows {
        let Err(err) = RegexRules::new(pairs) else {
            panic!("{name}: compiled");
        };
        assert_eq!(err.index, index, "{name}");
        assert!(err.message.contains(message), "{name}: {}", err.message);
    }
}

#[test]
fn is_empty_reflects_the_rule_count() {
    assert!(RegexRules::new(vec![]).unwrap().is_empty());
    assert!(!RegexRules::new(vec![text("a", "b")]).unwrap().is_empty());
}

#[test]
fn bytes_pattern_syntax_spelling() {
    let rows: &[(&str, &[u8], &str)] = &[
        ("ascii_passes_through", br"a+\d", r"a+\d"),
        ("high_byte_becomes_hex_escape", b"\xff", r"\xFF"),
        ("escaped_high_byte_drops_the_backslash", b"\\\xe9", r"\xE9"),
        ("escaped_backslash_is_kept", b"\\\\\xe9", r"\\\xE9"),
        ("trailing_backslash_is_kept_for_the_parser", b"a\\", "a\\"),
    ];
    for (name, pattern, expected) in rows {
        assert_eq!(bytes_pattern_syntax(pattern), *expected, "{name}");
    }
}

/// The oracle: the regex crate's own `replace_all` over the same body (the matches it finds
/// are the ones the rules must find, empty matches and all).
fn regex_crate(pattern: &str, unicode: bool, replacement: &str, body: &[u8]) -> Option<Vec<u8>> {
    let regex = regex::bytes::RegexBuilder::new(pattern)
        .unicode(unicode)
        .build()
        .unwrap();
    match regex.replace_all(body, replacement.as_bytes()) {
        std::borrow::Cow::Borrowed(_) => None,
        std::borrow::Cow::Owned(out) => Some(out),
    }
}

#[test]
fn same_matches_as_the_regex_crate() {
    let patterns: &[(&str, &str)] = &[
        (r"a", "b"),
        (r"a*", "-"),
        (r"", "|"),
        (r"\b", "|"),
        (r"\B", "."),
        (r"^", ">"),
        (r"$", "<"),
        (r"(?m)^", "> "),
        (r"(?m)$", " <"),
        (r"\w+", "[$0]"),
        (r"(\w)(\w)?", "$2$1"),
        (r"\bHello\b", "Goodbye"),
        (r"\bcaf\u{e9}\b", "coffee"),
        (r"\w+X|a", "Y"),
        (r"x*|a", "_"),
        (r"(?P<n>\d+)\.(\d+)", "v${n}_$2"),
        (r"[^\x00-\x7f]+", "?"),
        (r"(?i)hello", "bye"),
        (r".", "."),
        (r"(?s).{3}", "#"),
    ];
    let bodies: &[&[u8]] = &[
        b"",
        b"a",
        b"aaa",
        b"Hello world, Hello!",
        b"HelloHello Hello_x Hello",
        "caf\u{e9} caf\u{e9}s au caf\u{e9}".as_bytes(),
        "\u{e9}Hello\u{e9} Hello \u{4e16}Hello\u{4e16}".as_bytes(),
        b"line one\nline two\r\n\nend",
        b"v1.2 and v10.20 and 3.",
        b"a\xffb\xfe\xc3",
        b"aaaaXaaa aX",
        "\u{1F600}\u{e9}a".as_bytes(),
    ];
    for (pattern, replacement) in patterns {
        for body in bodies {
            let rules = RegexRules::new(vec![text(pattern, replacement)]).unwrap();
            assert_eq!(
                rewritten(&rules, body),
                regex_crate(pattern, true, replacement, body),
                "{pattern:?} -> {replacement:?} on {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}

#[test]
fn word_boundaries_beside_non_ascii_text_match_across_windows() {
    // A Unicode \b next to a non-ASCII byte is searched by the full engine, window by
    // window: matches anywhere in a body many windows long are still found exactly.
    let mut body = Vec::new();
    for i in 0..5000 {
        body.extend_from_slice(format!("\u{4e16}\u{754c} Hello{i} caf\u{e9} Hello ").as_bytes());
    }
    let rules = RegexRules::new(vec![text(r"\bHello\b", "Bye")]).unwrap();
    assert!(body.len() > 20 * FALLBACK_WINDOW);
    assert_eq!(
        rewritten(&rules, &body),
        regex_crate(r"\bHello\b", true, "Bye", &body)
    );
}

#[test]
fn pathological_alternation_stops_at_the_budget() {
    // `\w+X|a` on a's: each search scans to the end of the run before it settles for `a`,
    // n²/2 bytes in all (58 s for 256 KiB through the regex crate). The budget stops it
    // after WORK_PER_BYTE times the body.
    let rules = RegexRules::new(vec![text(r"\w+X|a", "Y")]).unwrap();
    let body = vec![b'a'; 256 * 1024];
    assert_eq!(rules.apply(&body), Applied::OverBudget);
    // Small bodies fit the allowance and are rewritten exactly.
    let small = vec![b'a'; 200];
    assert_eq!(
        rewritten(&rules, &small),
        regex_crate(r"\w+X|a", true, "Y", &small)
    );
}

#[test]
fn dense_matches_are_not_mistaken_for_pathological_ones() {
    // One match per byte scans each byte once: well within the budget at any size.
    let body = vec![b'a'; 4 * 1024 * 1024];
    let rules = RegexRules::new(vec![text("a", "b"), text(r"(b)", "$1")]).unwrap();
    assert_eq!(rewritten(&rules, &body), Some(vec![b'b'; body.len()]));
    let words: Vec<u8> = b"Hello world ".repeat(200_000);
    let rules = RegexRules::new(vec![text(r"\bHello\b", "Bye")]).unwrap();
    assert_eq!(
        rewritten(&rules, &words),
        regex_crate(r"\bHello\b", true, "Bye", &words)
    );
}
