use super::*;

const ASK: Ask = Ask {
    lookup: Lookup::Use,
    authorization: false,
    max_age: None,
    single_flight: true,
};

fn seen(seconds: u64) -> Option<Seen> {
    Some(Seen {
        shareable: false,
        seconds,
        refused_before: false,
    })
}

#[test]
fn fresh_entries_are_served_and_misses_take_the_flight() {
    assert_eq!(next(&ASK, seen(30), false), Next::Serve);
    assert_eq!(next(&ASK, None, false), Next::Flight);
    assert_eq!(next(&ASK, None, true), Next::Miss, "one wait only");
    let solo = Ask {
        single_flight: false,
        ..ASK
    };
    assert_eq!(next(&solo, None, false), Next::Miss);
}

#[test]
fn authorization_gets_only_shareable_entries_and_no_flight() {
    let ask = Ask {
        authorization: true,
        ..ASK
    };
    assert_eq!(next(&ask, seen(0), false), Next::Bypass);
    let shareable = Some(Seen {
        shareable: true,
        seconds: 0,
        refused_before: false,
    });
    assert_eq!(next(&ask, shareable, false), Next::Serve);
    assert_eq!(next(&ask, None, false), Next::Bypass);
}

#[test]
fn request_max_age_refuses_older_entries() {
    let ask = Ask {
        max_age: Some(10),
        ..ASK
    };
    assert_eq!(next(&ask, seen(10), false), Next::Serve);
    assert_eq!(next(&ask, seen(11), false), Next::Flight);
}

#[test]
fn a_refresh_refuses_the_first_entry_and_takes_the_flight_result() {
    let ask = Ask {
        lookup: Lookup::Refresh,
        max_age: Some(0),
        ..ASK
    };
    assert_eq!(next(&ask, seen(0), false), Next::Flight);
    // After the wait: the same entry again means nobody refreshed it; call the app.
    let same = Some(Seen {
        shareable: false,
        seconds: 0,
        refused_before: true,
    });
    assert_eq!(next(&ask, same, true), Next::Miss);
    // A new entry is the refreshed response, even one whose age rounded up to 1 s.
    assert_eq!(next(&ask, seen(1), true), Next::Serve);
}
