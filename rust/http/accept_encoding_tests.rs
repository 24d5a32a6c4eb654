//! Unit tests for `accept_encoding.rs`.

use super::*;

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

#[test]
fn accepted_set_normalises_equivalent_headers() {
    let cases: [(&str, Option<&str>, &[&str]); 7] = [
        ("absent", None, &[]),
        (
            "order_does_not_matter",
            Some("gzip, deflate, br"),
            &["br", "deflate", "gzip"],
        ),
        (
            "weights_above_zero_are_equal",
            Some("br;q=0.5, gzip, deflate;q=0.1"),
            &["br", "deflate", "gzip"],
        ),
        ("refused_codings_dropped", Some("gzip;q=0, br"), &["br"]),
        ("x_gzip_is_gzip", Some("x-gzip, GZIP"), &["gzip"]),
        ("star_kept", Some("*"), &["*"]),
        ("malformed_accepts_nothing", Some("gzip;q=abc"), &[]),
    ];
    for (rule, header, expected) in cases {
        assert_eq!(accepted_set(header), expected, "{rule}");
    }
}

#[test]
fn elements_past_the_cap_are_ignored() {
    // Each element counts, repeated or not; what comes after the cap changes nothing.
    let head = vec!["identity;q=0.5"; MAX_CODINGS].join(", ");
    assert_eq!(accepted_set(Some(&format!("{head}, br"))), ["identity"]);
    assert!(!accepts_gzip(Some(&format!("{head}, gzip"))));
    let within = vec!["identity;q=0.5"; MAX_CODINGS - 1].join(", ");
    assert_eq!(
        accepted_set(Some(&format!("{within}, br"))),
        ["br", "identity"]
    );
    // Empty elements are not elements (RFC 9110 §5.6.1) and do not use up the cap.
    let commas = ",".repeat(10 * MAX_CODINGS);
    assert_eq!(accepted_set(Some(&format!("{commas}gzip"))), ["gzip"]);
}

#[test]
fn a_coding_listed_twice_keeps_its_highest_weight() {
    assert_eq!(
        accepted_set(Some("gzip;q=0, br, gzip;q=0.2")),
        ["br", "gzip"]
    );
    assert_eq!(accepted_set(Some("gzip;q=0.2, gzip;q=0")), ["gzip"]);
}
