//! Unit tests for `admit.rs`: each rule the store path keeps, and a record breaking it.

use super::*;
use crate::cache::config::DEFAULT_STATUSES;

const NOW: i64 = 1_764_000_000_000;

fn rules() -> Admission {
    Admission {
        policy: Policy {
            statuses: DEFAULT_STATUSES.to_vec(),
            default_ttl: 60,
        },
        max_entry_bytes: 1024,
        status_header: Some("X-Cache".to_owned()),
        tag_header: Some("Surrogate-Key".to_owned()),
    }
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

/// A record the store path writes: a 200 the app sent without Content-Length.
fn record() -> ResponseRecord {
    ResponseRecord {
        code: 200,
        status: "200 OK".to_owned(),
        stored_at: NOW - 1_000,
        ttl_ms: 60_000,
        age: 3,
        stale_while_revalidate: 30,
        stale_if_error: 600,
        shareable: false,
        add_length: true,
        headers: fields(&[
            ("Content-Type", "text/html; charset=utf-8"),
            ("Cache-Control", "max-age=63"),
            ("ETag", "\"v1\""),
        ]),
        tags: vec!["blog".to_owned()],
        body: b"<p>Hello</p>".to_vec(),
    }
}

type Change = fn(&mut ResponseRecord);

#[test]
fn what_the_store_path_writes_is_admitted() {
    // (rule, change to the record)
    let cases: [(&str, Change); 12] = [
        ("plain_with_add_length", |_| {}),
        ("app_content_length_matches_body", |r| {
            r.add_length = false;
            r.headers
                .push(("Content-Length".to_owned(), "12".to_owned()));
        }),
        ("no_content_204", |r| {
            r.code = 204;
            r.status = "204 No Content".to_owned();
            r.add_length = false;
            r.body.clear();
        }),
        ("empty_body_with_add_length", |r| r.body.clear()),
        ("body_of_max_entry_bytes", |r| r.body = vec![b'x'; 1024]),
        ("vary_header_kept", |r| {
            r.headers
                .push(("Vary".to_owned(), "Accept-Encoding".to_owned()))
        }),
        ("public_is_shareable", |r| {
            r.shareable = true;
            r.headers = fields(&[("Cache-Control", "public, max-age=60")]);
        }),
        ("s_maxage_shareable_and_windows_only_its_own", |r| {
            r.shareable = true;
            r.headers = fields(&[("Cache-Control", "s-maxage=60, stale-if-error=5")]);
            r.stale_while_revalidate = 0;
            r.stale_if_error = 5;
        }),
        ("windows_of_a_year", |r| {
            r.stale_while_revalidate = 365 * 24 * 3600;
            r.stale_if_error = 365 * 24 * 3600;
        }),
        ("lifetime_of_2_31_seconds", |r| {
            r.age = 0;
            r.ttl_ms = MAX_TTL_MS;
        }),
        ("stored_by_a_clock_a_little_ahead", |r| {
            r.stored_at = NOW + MAX_CLOCK_SKEW_MS
        }),
        ("stored_long_ago", |r| r.stored_at = 0),
    ];
    for (rule, change) in cases {
        let mut admitted = record();
        change(&mut admitted);
        let written = admitted.clone();
        assert_eq!(admit(&mut admitted, &rules(), NOW), Ok(()), "{rule}");
        assert_eq!(admitted, written, "{rule}: changed what it admitted");
    }
}

#[test]
fn what_the_store_path_never_writes_is_refused() {
    let status = |code| Refusal::NotStorable {
        code,
        why: NotStored::Status,
    };
    let header = |name: &str| Refusal::Header(name.to_owned());
    // (rule, change to the record, refusal)
    let cases: Vec<(&str, Change, Refusal)> = vec![
        (
            "informational_status",
            |r| {
                r.code = 100;
                r.status = "100 Continue".to_owned();
                r.add_length = false;
                r.body.clear();
            },
            status(100),
        ),
        (
            "status_outside_statuses",
            |r| {
                r.code = 500;
                r.status = "500 Internal Server Error".to_owned();
            },
            status(500),
        ),
        (
            "no_store",
            |r| {
                r.headers
                    .push(("Cache-Control".to_owned(), "no-store".to_owned()))
            },
            Refusal::NotStorable {
                code: 200,
                why: NotStored::NoStore,
            },
        ),
        (
            "private",
            |r| {
                r.headers
                    .push(("cache-control".to_owned(), "private".to_owned()))
            },
            Refusal::NotStorable {
                code: 200,
                why: NotStored::Private,
            },
        ),
        (
            "set_cookie",
            |r| {
                r.headers
                    .push(("Set-Cookie".to_owned(), "session=1".to_owned()))
            },
            Refusal::NotStorable {
                code: 200,
                why: NotStored::SetCookie,
            },
        ),
        (
            "vary_star",
            |r| r.headers.push(("Vary".to_owned(), "*".to_owned())),
            Refusal::NotStorable {
                code: 200,
                why: NotStored::VaryStar,
            },
        ),
        (
            "own_status_header",
            |r| r.headers.push(("x-cache".to_owned(), "HIT".to_owned())),
            header("x-cache"),
        ),
        (
            "age_header",
            |r| r.headers.push(("Age".to_owned(), "5".to_owned())),
            header("Age"),
        ),
        (
            "tag_header",
            |r| r.headers.push(("Surrogate-Key".to_owned(), "a".to_owned())),
            header("Surrogate-Key"),
        ),
        (
            "hop_by_hop_connection",
            |r| {
                r.headers
                    .push(("Connection".to_owned(), "close".to_owned()))
            },
            header("Connection"),
        ),
        (
            "hop_by_hop_transfer_encoding",
            |r| {
                r.headers
                    .push(("Transfer-Encoding".to_owned(), "chunked".to_owned()))
            },
            header("Transfer-Encoding"),
        ),
        (
            "hop_by_hop_trailer",
            |r| r.headers.push(("Trailer".to_owned(), "X-Sum".to_owned())),
            header("Trailer"),
        ),
        (
            "proxy_fields",
            |r| {
                r.headers
                    .push(("Proxy-Connection".to_owned(), "close".to_owned()))
            },
            header("Proxy-Connection"),
        ),
        (
            "content_length_and_add_length",
            |r| {
                r.headers
                    .push(("Content-Length".to_owned(), "12".to_owned()))
            },
            Refusal::LengthTwice,
        ),
        (
            "content_length_not_the_body",
            |r| {
                r.add_length = false;
                r.headers
                    .push(("Content-Length".to_owned(), "3".to_owned()));
            },
            Refusal::LengthMismatch {
                declared: 3,
                body: 12,
            },
        ),
        (
            "several_content_lengths",
            |r| {
                r.add_length = false;
                r.headers
                    .push(("Content-Length".to_owned(), "12".to_owned()));
                r.headers
                    .push(("Content-Length".to_owned(), "12".to_owned()));
            },
            Refusal::SeveralLengths,
        ),
        (
            "content_length_not_a_number",
            |r| {
                r.add_length = false;
                r.headers
                    .push(("Content-Length".to_owned(), "+12".to_owned()));
            },
            Refusal::BadLength("+12".to_owned()),
        ),
        (
            "no_length_at_all",
            |r| r.add_length = false,
            Refusal::LengthMissing,
        ),
        (
            "bodiless_status_with_body",
            |r| {
                r.code = 204;
                r.status = "204 No Content".to_owned();
                r.add_length = false;
            },
            Refusal::BodyOnBodiless(204),
        ),
        (
            "bodiless_status_with_add_length",
            |r| {
                r.code = 204;
                r.status = "204 No Content".to_owned();
                r.body.clear();
            },
            Refusal::BodyOnBodiless(204),
        ),
        (
            "body_over_max_entry_bytes",
            |r| r.body = vec![b'x'; 1025],
            Refusal::BodyTooLarge {
                body: 1025,
                max: 1024,
            },
        ),
        (
            "stored_in_the_future",
            |r| r.stored_at = NOW + MAX_CLOCK_SKEW_MS + 1,
            Refusal::StoredInFuture(MAX_CLOCK_SKEW_MS + 1),
        ),
        ("no_freshness", |r| r.ttl_ms = 0, Refusal::NoFreshness),
        (
            "lifetime_past_2_31_seconds",
            |r| r.ttl_ms = u64::MAX,
            Refusal::TooFresh(u64::MAX),
        ),
        (
            "stale_window_past_a_year",
            |r| r.stale_if_error = u32::MAX,
            Refusal::StaleWindow {
                window: u32::MAX,
                max: 365 * 24 * 3600,
            },
        ),
        (
            "stale_window_under_must_revalidate",
            |r| {
                r.headers
                    .push(("Cache-Control".to_owned(), "must-revalidate".to_owned()))
            },
            Refusal::StaleWindow { window: 30, max: 0 },
        ),
        (
            "stale_window_longer_than_its_directive",
            |r| {
                r.headers.push((
                    "Cache-Control".to_owned(),
                    "stale-while-revalidate=10".to_owned(),
                ))
            },
            Refusal::StaleWindow {
                window: 30,
                max: 10,
            },
        ),
        (
            "shareable_without_saying_so",
            |r| r.shareable = true,
            Refusal::Shareable,
        ),
    ];
    for (rule, change, refusal) in cases {
        let mut refused = record();
        change(&mut refused);
        assert_eq!(admit(&mut refused, &rules(), NOW), Err(refusal), "{rule}");
    }
}

#[test]
fn informational_status_is_refused_even_when_listed() {
    let mut rules = rules();
    rules.policy.statuses.push(100);
    let mut interim = ResponseRecord {
        code: 100,
        status: "100 Continue".to_owned(),
        add_length: false,
        body: Vec::new(),
        ..record()
    };
    assert_eq!(
        admit(&mut interim, &rules, NOW),
        Err(Refusal::NotStorable {
            code: 100,
            why: NotStored::Status
        })
    );
}

#[test]
fn without_status_or_tag_header_those_names_are_kept() {
    let rules = Admission {
        status_header: None,
        tag_header: None,
        ..rules()
    };
    let mut record = record();
    record
        .headers
        .push(("X-Cache".to_owned(), "app's".to_owned()));
    record
        .headers
        .push(("Surrogate-Key".to_owned(), "a b".to_owned()));
    assert_eq!(admit(&mut record, &rules, NOW), Ok(()));
}

#[test]
fn ages_past_2_31_are_clamped_and_leave_no_freshness() {
    // (rule, age, ttl_ms, age admitted, ttl_ms admitted)
    let cases = [
        ("age_within_bounds_kept", 3, 60_000, 3, 60_000),
        (
            "age_past_2_31_is_2_31",
            u64::MAX,
            60_000,
            MAX_DELTA_SECONDS,
            0,
        ),
        (
            "age_plus_lifetime_stops_at_2_31",
            MAX_DELTA_SECONDS - 10,
            60_000,
            MAX_DELTA_SECONDS - 10,
            10_000,
        ),
    ];
    for (rule, age, ttl_ms, admitted_age, admitted_ttl) in cases {
        let mut clamped = ResponseRecord {
            age,
            ttl_ms,
            ..record()
        };
        assert_eq!(admit(&mut clamped, &rules(), NOW), Ok(()), "{rule}");
        assert_eq!(
            (clamped.age, clamped.ttl_ms),
            (admitted_age, admitted_ttl),
            "{rule}"
        );
    }
}

#[test]
fn never_stored_names() {
    let rules = rules();
    for name in [
        "Age",
        "set-cookie",
        "Connection",
        "Keep-Alive",
        "TE",
        "Trailer",
        "Trailers",
        "Transfer-Encoding",
        "Upgrade",
        "Proxy-Connection",
        "Proxy-Authenticate",
        "Proxy-Authentication-Info",
        "proxy-authorization",
        "X-CACHE",
        "surrogate-key",
    ] {
        assert!(rules.never_stored(name), "{name}");
    }
    for name in [
        "Content-Type",
        "Content-Length",
        "Cache-Control",
        "Vary",
        "ETag",
        "Proxy",
        "X-Proxy-Id",
        "Agent",
    ] {
        assert!(!rules.never_stored(name), "{name}");
    }
}

/// (rule, Content-Length values, declared)
type LengthRow = (
    &'static str,
    &'static [&'static str],
    Result<Option<u64>, Refusal>,
);

#[test]
fn declared_length_table() {
    let cases: [LengthRow; 6] = [
        ("none", &[], Ok(None)),
        ("one", &["12"], Ok(Some(12))),
        ("whitespace_trimmed", &[" 12 "], Ok(Some(12))),
        ("several", &["12", "12"], Err(Refusal::SeveralLengths)),
        (
            "not_digits",
            &["12 bytes"],
            Err(Refusal::BadLength("12 bytes".to_owned())),
        ),
        (
            "past_u64",
            &["18446744073709551616"],
            Err(Refusal::BadLength("18446744073709551616".to_owned())),
        ),
    ];
    for (rule, values, expected) in cases {
        assert_eq!(declared_length(values), expected, "{rule}");
    }
}

#[test]
fn vary_names_table() {
    let names = |list: &[&str]| list.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    // (rule, names, verdict)
    let cases = [
        ("one_name", names(&["accept-encoding"]), Ok(())),
        (
            "sorted_names",
            names(&["accept-encoding", "accept-language", "cookie"]),
            Ok(()),
        ),
        ("empty", names(&[]), Err(Refusal::VaryEmpty)),
        (
            "star",
            names(&["*"]),
            Err(Refusal::VaryName("*".to_owned())),
        ),
        (
            "uppercase",
            names(&["Accept-Encoding"]),
            Err(Refusal::VaryName("Accept-Encoding".to_owned())),
        ),
        (
            "not_a_field_name",
            names(&["accept language"]),
            Err(Refusal::VaryName("accept language".to_owned())),
        ),
        (
            "empty_name",
            names(&[""]),
            Err(Refusal::VaryName(String::new())),
        ),
        (
            "unsorted",
            names(&["cookie", "accept"]),
            Err(Refusal::VaryOrder),
        ),
        (
            "repeated",
            names(&["accept", "accept"]),
            Err(Refusal::VaryOrder),
        ),
    ];
    for (rule, names, verdict) in cases {
        assert_eq!(admit_vary(&names), verdict, "{rule}");
    }
}

#[test]
fn every_refusal_says_why_in_words() {
    let refusals = [
        Refusal::Undecodable,
        Refusal::NotStorable {
            code: 100,
            why: NotStored::Status,
        },
        Refusal::Header("Set-Cookie".to_owned()),
        Refusal::LengthMismatch {
            declared: 3,
            body: 12,
        },
        Refusal::VaryName("*".to_owned()),
    ];
    let words = [
        "does not decode",
        "status 100 is not stored",
        "holds a Set-Cookie header",
        "Content-Length says 3 bytes but its body holds 12",
        "names \"*\"",
    ];
    for (refusal, words) in refusals.iter().zip(words) {
        assert!(refusal.to_string().contains(words), "{refusal}");
    }
}
