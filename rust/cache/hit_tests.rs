use super::*;

const OK: Validators = Validators {
    code: 200,
    etag: Some("\"v1\""),
    last_modified: Some(1_000),
};

fn asks(
    if_none_match: Option<&'static str>,
    if_modified_since: Option<i64>,
) -> impl FnOnce() -> (Option<Cow<'static, str>>, Option<i64>) {
    move || (if_none_match.map(Cow::Borrowed), if_modified_since)
}

#[test]
fn an_unconditional_request_gets_the_stored_response_and_its_preconditions_are_not_read() {
    let read = || -> (Option<Cow<'static, str>>, Option<i64>) {
        panic!("preconditions read for an unconditional request")
    };
    assert_eq!(sends(false, &OK, read), Sends::Stored);
}

#[test]
fn a_matching_if_none_match_on_a_2xx_gets_a_304() {
    assert_eq!(
        sends(true, &OK, asks(Some("\"v1\""), None)),
        Sends::NotModified
    );
    assert_eq!(
        sends(true, &OK, asks(Some("W/\"v1\""), None)),
        Sends::NotModified,
        "weak comparison"
    );
    assert_eq!(sends(true, &OK, asks(Some("*"), None)), Sends::NotModified);
    assert_eq!(sends(true, &OK, asks(Some("\"v2\""), None)), Sends::Stored);
}

#[test]
fn if_none_match_decides_alone_over_if_modified_since() {
    assert_eq!(
        sends(true, &OK, asks(Some("\"v2\""), Some(2_000))),
        Sends::Stored
    );
}

#[test]
fn if_modified_since_at_or_after_last_modified_gets_a_304() {
    assert_eq!(
        sends(true, &OK, asks(None, Some(1_000))),
        Sends::NotModified
    );
    assert_eq!(sends(true, &OK, asks(None, Some(999))), Sends::Stored);
    let undated = Validators {
        last_modified: None,
        ..OK
    };
    assert_eq!(
        sends(true, &undated, asks(None, Some(1_000))),
        Sends::Stored
    );
}

#[test]
fn preconditions_are_evaluated_only_when_the_response_would_be_2xx() {
    // RFC 9110 §13.2.1: a stored 404 answers with the 404, even to a matching tag.
    for code in [301, 404, 410, 501] {
        let stored = Validators { code, ..OK };
        let read = || -> (Option<Cow<'static, str>>, Option<i64>) {
            panic!("preconditions read for a {code}")
        };
        assert_eq!(sends(true, &stored, read), Sends::Stored, "{code}");
    }
    let no_content = Validators { code: 204, ..OK };
    assert_eq!(
        sends(true, &no_content, asks(Some("\"v1\""), None)),
        Sends::NotModified
    );
}
