//! Unit tests for `http_date.rs`.

use super::*;

/// The one instant RFC 9110 §5.6.7 spells in all three forms.
const RFC_EXAMPLE: i64 = 784_111_777;

#[test]
fn parse_table() {
    // (rule, input, expected)
    let cases: [(&str, &str, Option<i64>); 26] = [
        // RFC 9110 §5.6.7 examples.
        (
            "imf_fixdate_rfc_example",
            "Sun, 06 Nov 1994 08:49:37 GMT",
            Some(RFC_EXAMPLE),
        ),
        (
            "rfc850_rfc_example",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            Some(RFC_EXAMPLE),
        ),
        (
            "asctime_rfc_example",
            "Sun Nov  6 08:49:37 1994",
            Some(RFC_EXAMPLE),
        ),
        // asctime date3 = month SP ( 2DIGIT / ( SP 1DIGIT ) ).
        (
            "asctime_zero_padded_day",
            "Sun Nov 06 08:49:37 1994",
            Some(RFC_EXAMPLE),
        ),
        (
            "asctime_two_digit_day",
            "Thu Nov 10 08:49:37 1994",
            Some(784_457_377),
        ),
        ("epoch", "Thu, 01 Jan 1970 00:00:00 GMT", Some(0)),
        (
            "before_epoch_is_negative",
            "Wed, 31 Dec 1969 23:59:59 GMT",
            Some(-1),
        ),
        (
            "last_four_digit_year",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            Some(LAST_FORMATTABLE),
        ),
        (
            "year_zero",
            "Sat, 01 Jan 0000 00:00:00 GMT",
            Some(FIRST_FORMATTABLE),
        ),
        // Names are case-sensitive in the RFC; real servers send odd case.
        (
            "lowercase_names",
            "sun, 06 nov 1994 08:49:37 gmt",
            Some(RFC_EXAMPLE),
        ),
        (
            "uppercase_rfc850",
            "SUNDAY, 06-NOV-94 08:49:37 GMT",
            Some(RFC_EXAMPLE),
        ),
        (
            "mixed_case_asctime",
            "sUN nOV  6 08:49:37 1994",
            Some(RFC_EXAMPLE),
        ),
        // §5.6.7: recipients should ignore a day-name that does not match the date.
        (
            "weekday_mismatch_imf",
            "Mon, 06 Nov 1994 08:49:37 GMT",
            Some(RFC_EXAMPLE),
        ),
        (
            "weekday_mismatch_rfc850",
            "Friday, 06-Nov-94 08:49:37 GMT",
            Some(RFC_EXAMPLE),
        ),
        (
            "weekday_mismatch_asctime",
            "Wed Nov  6 08:49:37 1994",
            Some(RFC_EXAMPLE),
        ),
        (
            "surrounding_whitespace",
            " \t Sun, 06 Nov 1994 08:49:37 GMT \t",
            Some(RFC_EXAMPLE),
        ),
        (
            "surrounding_crlf",
            "\r\nSun Nov  6 08:49:37 1994\r\n",
            Some(RFC_EXAMPLE),
        ),
        // Two-digit years: fixed pivot, 70-99 is 19xx and 00-69 is 20xx.
        (
            "rfc850_year_70_is_1970",
            "Thursday, 01-Jan-70 00:00:00 GMT",
            Some(0),
        ),
        (
            "rfc850_year_99_is_1999",
            "Friday, 31-Dec-99 00:00:00 GMT",
            Some(946_598_400),
        ),
        (
            "rfc850_year_00_is_2000",
            "Tuesday, 29-Feb-00 00:00:00 GMT",
            Some(951_782_400),
        ),
        (
            "rfc850_year_69_is_2069",
            "Tuesday, 01-Jan-69 00:00:00 GMT",
            Some(3_124_224_000),
        ),
        // §5.6.7 time-of-day allows 23:59:60; POSIX time has no leap seconds.
        (
            "leap_second_is_next_second",
            "Sat, 31 Dec 2016 23:59:60 GMT",
            Some(1_483_228_800),
        ),
        (
            "midnight_next_day",
            "Sun, 01 Jan 2017 00:00:00 GMT",
            Some(1_483_228_800),
        ),
        (
            "last_second_of_day",
            "Sat, 31 Dec 2016 23:59:59 GMT",
            Some(1_483_228_799),
        ),
        (
            "leap_day_in_asctime",
            "Thu Feb 29 12:00:00 2024",
            Some(1_709_208_000),
        ),
        (
            "leap_day_in_rfc850",
            "Thursday, 29-Feb-24 00:00:00 GMT",
            Some(1_709_164_800),
        ),
    ];
    for (rule, input, expected) in cases {
        assert_eq!(parse_http_date(input), expected, "{rule}: {input:?}");
    }
}

#[test]
fn leap_year_table() {
    // (rule, input, expected): Gregorian leap years (divisible by 4, centuries only by 400).
    let cases: [(&str, &str, Option<i64>); 9] = [
        (
            "leap_2000_divisible_by_400",
            "Tue, 29 Feb 2000 00:00:00 GMT",
            Some(951_782_400),
        ),
        (
            "not_leap_1900_century",
            "Thu, 29 Feb 1900 00:00:00 GMT",
            None,
        ),
        (
            "day_after_feb_1900",
            "Thu, 01 Mar 1900 00:00:00 GMT",
            Some(-2_203_891_200),
        ),
        (
            "leap_2024_divisible_by_4",
            "Thu, 29 Feb 2024 00:00:00 GMT",
            Some(1_709_164_800),
        ),
        ("not_leap_2023", "Wed, 29 Feb 2023 00:00:00 GMT", None),
        (
            "not_leap_2100_century",
            "Mon, 29 Feb 2100 00:00:00 GMT",
            None,
        ),
        (
            "feb_28_2100",
            "Sun, 28 Feb 2100 00:00:00 GMT",
            Some(4_107_456_000),
        ),
        (
            "leap_1600_before_epoch",
            "Tue, 29 Feb 1600 00:00:00 GMT",
            Some(-11_670_998_400),
        ),
        ("feb_30_never", "Wed, 30 Feb 2000 00:00:00 GMT", None),
    ];
    for (rule, input, expected) in cases {
        assert_eq!(parse_http_date(input), expected, "{rule}: {input:?}");
    }
}

#[test]
fn rejected_table() {
    // (rule, input): not an HTTP-date, so None.
    let cases: [(&str, &str); 37] = [
        ("empty", ""),
        ("only_whitespace", " \t "),
        ("zero", "0"),
        ("minus_one", "-1"),
        ("date_without_time", "Sun, 06 Nov 1994"),
        ("missing_gmt", "Sun, 06 Nov 1994 08:49:37"),
        ("utc_instead_of_gmt", "Sun, 06 Nov 1994 08:49:37 UTC"),
        ("numeric_offset", "Sun, 06 Nov 1994 08:49:37 +0000"),
        ("trailing_garbage", "Sun, 06 Nov 1994 08:49:37 GMTX"),
        ("asctime_trailing_zone", "Sun Nov  6 08:49:37 1994 GMT"),
        ("day_32", "Sun, 32 Nov 1994 08:49:37 GMT"),
        ("day_31_in_30_day_month", "Thu, 31 Nov 1994 08:49:37 GMT"),
        ("day_zero", "Sun, 00 Nov 1994 08:49:37 GMT"),
        ("hour_24", "Sun, 06 Nov 1994 24:00:00 GMT"),
        ("minute_60", "Sun, 06 Nov 1994 08:60:37 GMT"),
        ("second_61", "Sun, 06 Nov 1994 08:49:61 GMT"),
        ("unknown_month", "Sun, 06 Nvm 1994 08:49:37 GMT"),
        ("unknown_day_name", "Sux, 06 Nov 1994 08:49:37 GMT"),
        ("full_month_name", "Sun, 06 November 1994 08:49:37 GMT"),
        ("imf_one_digit_day", "Sun, 6 Nov 1994 08:49:37 GMT"),
        ("imf_two_digit_year", "Sun, 06 Nov 94 08:49:37 GMT"),
        ("imf_long_day_name", "Sunday, 06 Nov 1994 08:49:37 GMT"),
        ("imf_one_digit_hour", "Sun, 06 Nov 1994 8:49:37 GMT"),
        ("imf_missing_comma", "Sun 06 Nov 1994 08:49:37 GMT"),
        ("imf_double_space", "Sun,  06 Nov 1994 08:49:37 GMT"),
        ("rfc850_four_digit_year", "Sunday, 06-Nov-1994 08:49:37 GMT"),
        ("rfc850_short_day_name", "Sun, 06-Nov-94 08:49:37 GMT"),
        ("rfc850_spaces_for_dashes", "Sunday, 06 Nov 94 08:49:37 GMT"),
        (
            "asctime_single_space_before_one_digit_day",
            "Sun Nov 6 08:49:37 1994",
        ),
        ("asctime_two_digit_year", "Sun Nov  6 08:49:37 94"),
        ("signed_day", "Sun, +6 Nov 1994 08:49:37 GMT"),
        ("iso_8601", "1994-11-06T08:49:37Z"),
        ("nul_byte", "Sun, 06 Nov 1994 08:49:37 GMT\0"),
        ("non_ascii_day_name", "Sün, 06 Nov 1994 08:49:37 GMT"),
        ("fullwidth_digits", "Sun, ０６ Nov 1994 08:49:37 GMT"),
        // Only ASCII whitespace is trimmed; U+00A0 is not OWS.
        (
            "no_break_space_around",
            "\u{a0}Sun, 06 Nov 1994 08:49:37 GMT\u{a0}",
        ),
        ("emoji", "🕰️"),
    ];
    for (rule, input) in cases {
        assert_eq!(parse_http_date(input), None, "{rule}: {input:?}");
    }
}

#[test]
fn very_long_inputs_are_rejected() {
    let example = "Sun, 06 Nov 1994 08:49:37 GMT";
    // (rule, input)
    let cases: [(&str, String); 5] = [
        ("many_letters", "a".repeat(100_000)),
        ("many_digits", "9".repeat(100_000)),
        ("date_repeated", example.repeat(10_000)),
        (
            "date_then_junk",
            format!("{example}{}", "x".repeat(100_000)),
        ),
        ("spaces_inside", example.replace(' ', &" ".repeat(50_000))),
    ];
    for (rule, input) in cases {
        assert_eq!(parse_http_date(&input), None, "{rule}");
    }
}

#[test]
fn every_prefix_and_byte_substitution_is_handled() {
    // A small deterministic fuzz: nothing panics, proper prefixes are rejected, and whatever
    // a one-character change still parses formats back to a date that parses to the same time.
    let examples = [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ];
    let replacements = [
        '0', '5', '9', 'a', 'Z', ' ', ',', '-', ':', '\t', '\0', 'é', '€',
    ];
    for example in examples {
        for end in 0..example.len() {
            let prefix = &example[..end];
            assert_eq!(parse_http_date(prefix), None, "prefix {prefix:?}");
        }
        for (index, original) in example.char_indices() {
            for replacement in replacements {
                let mut mutated = String::from(&example[..index]);
                mutated.push(replacement);
                mutated.push_str(&example[index + original.len_utf8()..]);
                if let Some(seconds) = parse_http_date(&mutated) {
                    let formatted = format_http_date(seconds);
                    assert_eq!(parse_http_date(&formatted), Some(seconds), "{mutated:?}");
                }
            }
        }
    }
}

#[test]
fn format_table() {
    // (rule, unix seconds, expected)
    let cases: [(&str, i64, &str); 10] = [
        ("rfc_example", RFC_EXAMPLE, "Sun, 06 Nov 1994 08:49:37 GMT"),
        ("epoch", 0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        ("second_before_epoch", -1, "Wed, 31 Dec 1969 23:59:59 GMT"),
        (
            "leap_day_2000",
            951_782_400,
            "Tue, 29 Feb 2000 00:00:00 GMT",
        ),
        (
            "leap_day_2024",
            1_709_164_800,
            "Thu, 29 Feb 2024 00:00:00 GMT",
        ),
        ("year_2100", 4_102_444_800, "Fri, 01 Jan 2100 00:00:00 GMT"),
        (
            "last_formattable",
            LAST_FORMATTABLE,
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ),
        (
            "first_formattable",
            FIRST_FORMATTABLE,
            "Sat, 01 Jan 0000 00:00:00 GMT",
        ),
        // Beyond four-digit years the value is clamped, never a malformed date.
        (
            "clamped_far_future",
            i64::MAX,
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ),
        (
            "clamped_far_past",
            i64::MIN,
            "Sat, 01 Jan 0000 00:00:00 GMT",
        ),
    ];
    for (rule, seconds, expected) in cases {
        assert_eq!(format_http_date(seconds), expected, "{rule}");
    }
}

#[test]
fn round_trip_since_epoch() {
    // 1970 to 2100 in steps of a prime number of seconds, so every field varies.
    let mut checked = 0;
    for seconds in (0..=4_102_444_800_i64).step_by(999_983) {
        let formatted = format_http_date(seconds);
        assert_eq!(parse_http_date(&formatted), Some(seconds), "{formatted}");
        checked += 1;
    }
    assert!(checked > 4_000);
}

#[test]
fn round_trip_across_all_formattable_years() {
    for seconds in (FIRST_FORMATTABLE..=LAST_FORMATTABLE).step_by(100_000_007) {
        let formatted = format_http_date(seconds);
        assert_eq!(parse_http_date(&formatted), Some(seconds), "{formatted}");
    }
}

#[test]
fn formatted_weekday_matches_the_date() {
    // The parser ignores the day-name, so check the formatter's against a plain count:
    // consecutive days cycle through the week.
    let mut expected = weekday_index(days_from_civil(1600, 0, 1));
    for days in days_from_civil(1600, 0, 1)..=days_from_civil(2400, 0, 1) {
        let formatted = format_http_date(days * SECONDS_PER_DAY);
        assert!(
            formatted.starts_with(SHORT_DAY_NAMES[expected]),
            "{formatted}"
        );
        expected = (expected + 1) % 7;
    }
}

#[test]
fn civil_arithmetic_matches_day_by_day_count() {
    // Hinnant's closed forms against walking the calendar one month at a time.
    let mut days = days_from_civil(1600, 0, 1);
    assert_eq!(days, -135_140);
    for year in 1600..=2400 {
        for month in 0..12 {
            assert_eq!(days_from_civil(year, month, 1), days, "{year}-{month}");
            assert_eq!(civil_from_days(days), (year, month, 1), "{days}");
            let last = days_in_month(year, month);
            assert_eq!(
                civil_from_days(days + last - 1),
                (year, month, last),
                "{days}"
            );
            days += last;
        }
    }
}

#[test]
fn formattable_bounds_are_the_four_digit_years() {
    assert_eq!(
        days_from_civil(0, 0, 1) * SECONDS_PER_DAY,
        FIRST_FORMATTABLE
    );
    assert_eq!(
        days_from_civil(10_000, 0, 1) * SECONDS_PER_DAY - 1,
        LAST_FORMATTABLE
    );
}
