//! Unit tests for `freshness.rs`.

use super::*;

const NOW: i64 = 1_700_000_000;

fn policy(default_ttl: u64) -> Policy {
    Policy {
        statuses: vec![200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501],
        default_ttl,
    }
}

fn response(cc: &str) -> ResponseFacts {
    ResponseFacts {
        status: 200,
        cache_control: CacheControl::parse([cc]),
        ..Default::default()
    }
}

/// (rule, request, response, default_ttl, expected)
type Row = (
    &'static str,
    RequestFacts,
    ResponseFacts,
    u64,
    Result<u64, NotStored>,
);

#[test]
fn storable_table() {
    let plain = RequestFacts::default();
    let authorized = RequestFacts {
        authorization: true,
        ..Default::default()
    };
    let request_no_store = RequestFacts {
        cache_control: CacheControl::parse(["no-store"]),
        has_cache_control: true,
        ..Default::default()
    };
    let with_cookie = ResponseFacts {
        set_cookie: true,
        ..response("max-age=60")
    };
    let vary_star = ResponseFacts {
        vary_star: true,
        ..response("max-age=60")
    };
    let teapot = ResponseFacts {
        status: 418,
        ..response("max-age=60")
    };
    let server_error = ResponseFacts {
        status: 500,
        ..response("max-age=60")
    };
    let expires = ResponseFacts {
        expires: Some(Some(NOW + 90)),
        date: Some(NOW),
        ..response("")
    };
    let expires_invalid = ResponseFacts {
        expires: Some(None),
        ..response("")
    };
    let expires_past = ResponseFacts {
        expires: Some(Some(NOW - 5)),
        date: Some(NOW),
        ..response("")
    };
    let expires_no_date = ResponseFacts {
        expires: Some(Some(NOW + 30)),
        ..response("")
    };
    let expires_far = ResponseFacts {
        expires: Some(Some(i64::MAX)),
        date: Some(NOW),
        ..response("")
    };
    // (rule, request, response, default_ttl, expected)
    let cases: Vec<Row> = vec![
        ("max_age_stored", plain, response("max-age=60"), 0, Ok(60)),
        (
            "s_maxage_beats_max_age",
            plain,
            response("max-age=10, s-maxage=300"),
            0,
            Ok(300),
        ),
        (
            "max_age_zero_not_stored",
            plain,
            response("max-age=0"),
            60,
            Err(NotStored::NotFresh),
        ),
        (
            "max_age_zero_with_s_maxage_stored",
            plain,
            response("max-age=0, s-maxage=30"),
            0,
            Ok(30),
        ),
        (
            "default_ttl_without_freshness",
            plain,
            response(""),
            60,
            Ok(60),
        ),
        (
            "default_ttl_zero_disables",
            plain,
            response(""),
            0,
            Err(NotStored::NotFresh),
        ),
        ("expires_minus_date", plain, expires, 0, Ok(90)),
        (
            "lifetime_past_2_31_is_2_31",
            plain,
            response("max-age=99999999999999999999999"),
            0,
            Ok(1 << 31),
        ),
        (
            "expires_past_2_31_is_2_31",
            plain,
            expires_far,
            0,
            Ok(1 << 31),
        ),
        (
            "expires_invalid_is_expired",
            plain,
            expires_invalid,
            60,
            Err(NotStored::NotFresh),
        ),
        (
            "expires_in_the_past",
            plain,
            expires_past,
            60,
            Err(NotStored::NotFresh),
        ),
        (
            "expires_without_date_uses_now",
            plain,
            expires_no_date,
            0,
            Ok(30),
        ),
        (
            "no_store",
            plain,
            response("no-store, max-age=60"),
            60,
            Err(NotStored::NoStore),
        ),
        (
            "private",
            plain,
            response("private, max-age=60"),
            60,
            Err(NotStored::Private),
        ),
        (
            "no_cache",
            plain,
            response("no-cache, max-age=60"),
            60,
            Err(NotStored::NoCache),
        ),
        (
            "set_cookie_never_stored",
            plain,
            with_cookie,
            60,
            Err(NotStored::SetCookie),
        ),
        (
            "vary_star_never_stored",
            plain,
            vary_star,
            60,
            Err(NotStored::VaryStar),
        ),
        (
            "status_outside_list",
            plain,
            teapot,
            60,
            Err(NotStored::Status),
        ),
        (
            "server_error_not_stored",
            plain,
            server_error,
            60,
            Err(NotStored::Status),
        ),
        (
            "request_no_store",
            request_no_store,
            response("max-age=60"),
            60,
            Err(NotStored::RequestNoStore),
        ),
        (
            "authorization_bypasses",
            authorized,
            response("max-age=60"),
            60,
            Err(NotStored::Authorization),
        ),
        (
            "authorization_public_ok",
            authorized,
            response("public, max-age=60"),
            0,
            Ok(60),
        ),
        (
            "authorization_s_maxage_ok",
            authorized,
            response("s-maxage=60"),
            0,
            Ok(60),
        ),
        (
            "authorization_must_revalidate_ok",
            authorized,
            response("must-revalidate, max-age=60"),
            0,
            Ok(60),
        ),
    ];
    for (rule, request, response, default_ttl, expected) in cases {
        assert_eq!(
            storable(&policy(default_ttl), &request, &response, NOW),
            expected,
            "{rule}"
        );
    }
}

#[test]
fn lookup_table() {
    let facts = |cc: Option<&str>, pragma: bool| RequestFacts {
        cache_control: CacheControl::parse(cc),
        has_cache_control: cc.is_some(),
        pragma_no_cache: pragma,
        authorization: false,
    };
    let cases = [
        ("plain", facts(None, false), Lookup::Use),
        (
            "no_cache_refreshes",
            facts(Some("no-cache"), false),
            Lookup::Refresh,
        ),
        (
            "max_age_zero_refreshes",
            facts(Some("max-age=0"), false),
            Lookup::Refresh,
        ),
        (
            "max_age_positive_uses",
            facts(Some("max-age=60"), false),
            Lookup::Use,
        ),
        (
            "no_store_bypasses",
            facts(Some("no-store"), false),
            Lookup::Bypass,
        ),
        ("pragma_alone_refreshes", facts(None, true), Lookup::Refresh),
        (
            "cache_control_beats_pragma",
            facts(Some("max-age=60"), true),
            Lookup::Use,
        ),
    ];
    for (rule, request, expected) in cases {
        assert_eq!(
            lookup(&request, RequestDirectives::Honor),
            expected,
            "{rule}"
        );
        // Ignored, no directive can skip the lookup; no-store only keeps its miss out.
        let ignored = if expected == Lookup::Bypass {
            Lookup::UseOnly
        } else {
            Lookup::Use
        };
        assert_eq!(
            lookup(&request, RequestDirectives::Ignore),
            ignored,
            "{rule} (ignored)"
        );
    }
}

#[test]
fn age_adds_time_in_store() {
    assert_eq!(age(0, NOW, NOW + 7), 7);
    assert_eq!(age(30, NOW, NOW + 7), 37);
    // A clock that went backwards never gives a negative age.
    assert_eq!(age(5, NOW, NOW - 100), 5);
    // RFC 9111 §1.2.2: past 2^31 it is 2^31, however it got there.
    assert_eq!(age(u64::MAX, NOW, NOW + 7), MAX_DELTA_SECONDS);
    assert_eq!(age(MAX_DELTA_SECONDS - 3, NOW, NOW + 7), MAX_DELTA_SECONDS);
    assert_eq!(age(0, i64::MIN, i64::MAX), MAX_DELTA_SECONDS);
}

#[test]
fn age_field_table() {
    // (rule, value, seconds)
    let cases = [
        ("plain_seconds", "30", 30),
        ("whitespace_trimmed", " 30 ", 30),
        ("past_2_31_is_2_31", "2147483649", MAX_DELTA_SECONDS),
        (
            "u64_overflow_is_2_31_not_0",
            "18446744073709551616",
            MAX_DELTA_SECONDS,
        ),
        ("u64_max_is_2_31", "18446744073709551615", MAX_DELTA_SECONDS),
        ("not_delta_seconds_ignored", "soon", 0),
        ("sign_is_not_delta_seconds", "+5", 0),
        ("negative_ignored", "-5", 0),
        ("empty_ignored", "", 0),
    ];
    for (rule, value, expected) in cases {
        assert_eq!(age_field(value), expected, "{rule}");
    }
}

#[test]
fn stale_windows_come_from_the_response_then_the_defaults() {
    let cc = |text: &str| CacheControl::parse([text]);
    let defaults = (30, 600);
    assert_eq!(stale_windows(&cc("max-age=60"), defaults), (30, 600));
    assert_eq!(stale_windows(&cc("max-age=60"), (0, 0)), (0, 0));
    assert_eq!(
        stale_windows(&cc("max-age=60, stale-while-revalidate=5"), defaults),
        (5, 600)
    );
    assert_eq!(
        stale_windows(
            &cc("max-age=60, stale-if-error=7, stale-if-error=9"),
            defaults
        ),
        (30, 7)
    );
    // What forbids serving stale.
    assert_eq!(
        stale_windows(&cc("max-age=60, must-revalidate"), defaults),
        (0, 0)
    );
    assert_eq!(
        stale_windows(
            &cc("max-age=60, proxy-revalidate, stale-while-revalidate=5"),
            defaults
        ),
        (0, 0)
    );
    // s-maxage implies proxy-revalidate: the defaults do not apply, the response's own do.
    assert_eq!(stale_windows(&cc("s-maxage=60"), defaults), (0, 0));
    assert_eq!(
        stale_windows(&cc("s-maxage=60, stale-while-revalidate=5"), defaults),
        (5, 0)
    );
    // An unusable value is the most conservative one.
    assert_eq!(
        stale_windows(&cc("max-age=60, stale-while-revalidate=soon"), defaults),
        (0, 600)
    );
}

#[test]
fn informational_statuses_are_never_stored_even_when_listed() {
    let policy = Policy {
        statuses: vec![100, 101, 103, 200],
        default_ttl: 60,
    };
    for status in [100, 101, 103] {
        let response = ResponseFacts {
            status,
            ..response("max-age=60")
        };
        assert_eq!(
            storable(&policy, &RequestFacts::default(), &response, NOW),
            Err(NotStored::Status),
            "{status}"
        );
        assert_eq!(
            response_storable(&policy, &response),
            Err(NotStored::Status)
        );
    }
}

/// (rule, header fields, vary_star)
type VaryRow = (&'static str, &'static [(&'static str, &'static str)], bool);

#[test]
fn head_facts_table() {
    let cases: [VaryRow; 6] = [
        ("no_vary", &[("Content-Type", "text/plain")], false),
        (
            "vary_names",
            &[("Vary", "Accept-Encoding, Accept-Language")],
            false,
        ),
        ("vary_star", &[("Vary", "Accept-Encoding, *")], true),
        (
            "vary_star_in_a_second_field",
            &[("Vary", "Accept"), ("vary", "*")],
            true,
        ),
        // RFC 9110 §12.5.5: a member is "*" or a field name; anything else can match no
        // request, so it is read as "*".
        (
            "vary_member_not_a_field_name",
            &[("Vary", "Accept Language")],
            true,
        ),
        (
            "vary_empty_members_skipped",
            &[("Vary", "Accept, , ")],
            false,
        ),
    ];
    for (rule, fields, vary_star) in cases {
        let facts = HeadFacts::read(fields.iter().copied());
        assert_eq!(facts.response(200).vary_star, vary_star, "{rule}");
    }
    let facts = HeadFacts::read(
        [
            ("Content-Length", "3"),
            ("content-length", "4"),
            ("Age", "5"),
            ("Set-Cookie", "a=b"),
            ("Cache-Control", "max-age=60"),
            ("Cache-Control", "public"),
        ]
        .into_iter(),
    );
    assert_eq!(facts.content_length, ["3", "4"]);
    assert_eq!(facts.age, Some("5"));
    let response = facts.response(200);
    assert!(response.set_cookie && response.cache_control.public);
    assert_eq!(response.cache_control.max_age, Some(60));
}
