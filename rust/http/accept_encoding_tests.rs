//! Unit tests for `accept_encoding.rs`.

use super::*;

/// Whether a Gzip (gzip alone offered) compresses for this Accept-Encoding.
fn accepts_gzip(header: Option<&str>) -> bool {
    negotiate(header, &[Coding::Gzip]).is_some()
}

#[test]
fn accept_encoding_table() {
    // (rule, header, compress?) — RFC 9110 §12.5.3 and §12.4.2.
    let cases: [(&str, Option<&str>, bool); 26] = [
        ("absent_means_no", None, false),
        ("empty_means_no", Some(""), false),
        ("plain_gzip", Some("gzip"), true),
        ("browser_list", Some("gzip, deflate, br"), true),
        ("x_gzip_is_gzip", Some("x-gzip"), true),
        ("case_insensitive", Some("GZIP"), true),
        ("q_zero_refuses_gzip", Some("gzip;q=0"), false),
        ("q_zero_point_zero_refuses", Some("gzip;q=0.000"), false),
        ("q_half_accepts", Some("gzip;q=0.5"), true),
        ("q_upper_name", Some("gzip;Q=1"), true),
        ("q_with_spaces", Some("gzip ; q = 0.8"), true),
        ("star_counts", Some("*"), true),
        ("star_q_zero_refuses", Some("*;q=0"), false),
        ("gzip_q_zero_beats_star", Some("gzip;q=0, *"), false),
        ("star_with_other_codings", Some("br, *;q=0.1"), true),
        ("identity_only", Some("identity"), false),
        ("br_only", Some("br"), false),
        ("empty_elements_ignored", Some(", ,gzip,"), true),
        (
            "highest_weight_of_duplicates",
            Some("gzip;q=0, x-gzip"),
            true,
        ),
        ("malformed_q_letters", Some("gzip;q=abc"), false),
        ("malformed_q_above_one", Some("gzip;q=2"), false),
        ("malformed_q_four_decimals", Some("gzip;q=0.1234"), false),
        ("malformed_one_point_five", Some("gzip;q=1.5"), false),
        ("malformed_empty_coding", Some(";;"), false),
        ("malformed_param_without_value", Some("gzip;q"), false),
        ("other_params_ignored", Some("gzip;level=1"), true),
    ];
    for (rule, header, expected) in cases {
        assert_eq!(accepts_gzip(header), expected, "{rule}: {header:?}");
    }
}

#[test]
fn qvalues() {
    for (text, expected) in [
        ("0", Some(0)),
        ("1", Some(1000)),
        ("0.5", Some(500)),
        ("0.05", Some(50)),
        ("1.000", Some(1000)),
        ("1.001", None),
        ("", None),
        ("0.", Some(0)),
        ("-0", None),
    ] {
        assert_eq!(parse_qvalue(text), expected, "{text:?}");
    }
}

/// (rule, header, offered, chosen)
type Negotiation<'a> = (&'a str, Option<&'a str>, &'a [Coding], Option<Coding>);

#[test]
fn negotiation_table() {
    use Coding::{Br, Gzip, Zstd};
    const ALL: &[Coding] = &[Zstd, Br, Gzip];
    // (rule, header, offered, chosen) — RFC 9110 §12.5.3: q-values decide, ties go to the
    // server's order, `*` stands for what is not named, q=0 refuses.
    let cases: &[Negotiation<'_>] = &[
        ("no_header_no_coding", None, ALL, None),
        ("empty_header", Some(""), ALL, None),
        ("browser", Some("gzip, deflate, br, zstd"), ALL, Some(Zstd)),
        ("old_browser", Some("gzip, deflate, br"), ALL, Some(Br)),
        (
            "server_order_breaks_ties",
            Some("gzip, br"),
            &[Gzip, Br],
            Some(Gzip),
        ),
        ("q_beats_order", Some("zstd;q=0.5, gzip"), ALL, Some(Gzip)),
        ("q_zero_refuses", Some("gzip;q=0"), ALL, None),
        (
            "q_zero_is_not_a_tie",
            Some("zstd;q=0, br;q=0.001"),
            ALL,
            Some(Br),
        ),
        ("star_names_the_rest", Some("*"), ALL, Some(Zstd)),
        (
            "star_weight_for_unnamed",
            Some("gzip;q=0.9, *;q=0.5"),
            ALL,
            Some(Gzip),
        ),
        (
            "star_loses_to_named",
            Some("*;q=0.2, br;q=0.3"),
            ALL,
            Some(Br),
        ),
        (
            "named_q_zero_beats_star",
            Some("zstd;q=0, br;q=0, *"),
            ALL,
            Some(Gzip),
        ),
        (
            "star_q_zero_refuses_the_rest",
            Some("*;q=0, gzip;q=0.1"),
            ALL,
            Some(Gzip),
        ),
        ("only_star_refused", Some("*;q=0"), ALL, None),
        (
            "identity_preferred",
            Some("identity, gzip;q=0.5"),
            ALL,
            None,
        ),
        (
            "identity_tie_compresses",
            Some("identity, gzip"),
            ALL,
            Some(Gzip),
        ),
        (
            "identity_refused_compresses",
            Some("identity;q=0, gzip"),
            ALL,
            Some(Gzip),
        ),
        ("unknown_only", Some("deflate, compress"), ALL, None),
        ("not_offered", Some("zstd"), &[Gzip], None),
        ("x_gzip", Some("x-gzip"), ALL, Some(Gzip)),
        ("case", Some("ZSTD;Q=0.5, Br;q=0.4"), ALL, Some(Zstd)),
        (
            "duplicate_keeps_best",
            Some("br;q=0, br;q=0.5, gzip;q=0.4"),
            ALL,
            Some(Br),
        ),
        (
            "malformed_element_ignored",
            Some("zstd;q=abc, gzip"),
            ALL,
            Some(Gzip),
        ),
        (
            "malformed_q_above_one",
            Some("br;q=2, gzip;q=0.1"),
            ALL,
            Some(Gzip),
        ),
        ("malformed_param", Some("br;q, gzip"), ALL, Some(Gzip)),
        ("malformed_all", Some(";;, =, q=1"), ALL, None),
        ("spaces", Some(" br ; q = 0.7 ,gzip;q=0.6"), ALL, Some(Br)),
        (
            "other_params_ignored",
            Some("zstd;level=3"),
            ALL,
            Some(Zstd),
        ),
    ];
    for (rule, header, offered, chosen) in cases {
        assert_eq!(negotiate(*header, offered), *chosen, "{rule}: {header:?}");
    }
}

#[test]
fn normal_form_keeps_exactly_what_decides() {
    // Pairs that negotiate alike with every offer share a form...
    let same: &[(&str, &str, &str)] = &[
        ("order", "gzip, deflate, br", "br, deflate ,gzip"),
        ("spelling", "x-gzip, BR", "gzip, br"),
        ("star_spelled_out", "*", "zstd, br, gzip, *"),
        ("refused_unknown_dropped", "gzip, deflate;q=0", "gzip"),
        ("unknown_weights", "gzip, deflate;q=0.1", "gzip, deflate"),
        ("malformed_ignored", "gzip, br;q=abc", "gzip"),
    ];
    for (rule, a, b) in same {
        assert_eq!(normal_form(Some(a)), normal_form(Some(b)), "{rule}");
    }
    // ...and pairs that could negotiate differently never do.
    let apart: &[(&str, Option<&str>, Option<&str>)] = &[
        ("weights", Some("br;q=0.5, gzip"), Some("br, gzip;q=0.5")),
        ("absent_vs_empty", None, Some("")),
        (
            "identity_weight",
            Some("identity, gzip;q=0.5"),
            Some("gzip;q=0.5"),
        ),
        ("unknown_coding", Some("gzip, deflate"), Some("gzip")),
        ("refused", Some("gzip;q=0"), Some("gzip")),
    ];
    for (rule, a, b) in apart {
        assert_ne!(normal_form(*a), normal_form(*b), "{rule}");
    }
}

#[test]
fn elements_past_the_cap_are_ignored() {
    // Each element counts, repeated or not; what comes after the cap changes nothing.
    let head = vec!["identity;q=0.5"; MAX_CODINGS].join(", ");
    assert_eq!(
        normal_form(Some(&format!("{head}, br"))),
        normal_form(Some(&head))
    );
    assert!(!accepts_gzip(Some(&format!("{head}, gzip"))));
    let within = vec!["identity;q=0.5"; MAX_CODINGS - 1].join(", ");
    assert_eq!(
        negotiate(Some(&format!("{within}, br")), &Coding::ALL),
        Some(Coding::Br)
    );
    // Malformed elements count against the cap like any other: the cost stays bounded.
    let malformed = vec!["q=;;"; MAX_CODINGS].join(", ");
    assert!(!accepts_gzip(Some(&format!("{malformed}, gzip"))));
    assert!(accepts_gzip(Some(&format!(
        "{}, gzip",
        vec!["q=;;"; MAX_CODINGS - 1].join(", ")
    ))));
    // Empty elements are not elements (RFC 9110 §5.6.1) and do not use up the cap.
    let commas = ",".repeat(10 * MAX_CODINGS);
    assert!(accepts_gzip(Some(&format!("{commas}gzip"))));
}
