//! Unit tests for `entry.rs`: round trips, and untrusted bytes that must decode to nothing.

use super::*;

fn response() -> ResponseRecord {
    ResponseRecord {
        code: 200,
        status: "200 OK".to_owned(),
        stored_at: 1_764_000_000_123,
        ttl_ms: 60_000,
        age: 3,
        stale_while_revalidate: 30,
        stale_if_error: 600,
        shareable: true,
        add_length: false,
        headers: vec![
            (
                "Content-Type".to_owned(),
                "text/html; charset=utf-8".to_owned(),
            ),
            ("ETag".to_owned(), "\"v1\"".to_owned()),
        ],
        tags: vec!["post-1".to_owned(), "blog".to_owned()],
        body: b"<p>Hello</p>".to_vec(),
    }
}

#[test]
fn records_round_trip() {
    for record in [
        Record::Response(response()),
        Record::Response(ResponseRecord {
            body: Vec::new(),
            headers: Vec::new(),
            tags: Vec::new(),
            add_length: true,
            shareable: false,
            code: 204,
            status: "204 No Content".to_owned(),
            ..response()
        }),
        Record::Vary(vec![
            "accept-encoding".to_owned(),
            "accept-language".to_owned(),
        ]),
        Record::Vary(Vec::new()),
    ] {
        assert_eq!(Record::decode(&record.encode()), Some(record));
    }
}

#[test]
fn every_truncation_and_extension_is_refused() {
    let bytes = Record::Response(response()).encode();
    for len in 0..bytes.len() {
        assert_eq!(Record::decode(&bytes[..len]), None, "truncated to {len}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(Record::decode(&longer), None);
}

#[test]
fn foreign_values_are_refused() {
    // Another version, a pickle, plain text, a huge declared length.
    let mut other_version = Record::Vary(vec!["a".to_owned()]).encode();
    other_version[3] = 2;
    assert_eq!(Record::decode(&other_version), None);
    assert_eq!(Record::decode(b"\x80\x04\x95\x10\x00\x00\x00"), None);
    assert_eq!(Record::decode(b"hello"), None);
    let mut huge = MAGIC.to_vec();
    huge.push(VARY);
    huge.extend_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(Record::decode(&huge), None);
}

#[test]
fn headers_and_statuses_pep_3333_forbids_are_refused() {
    for (name, value) in [
        ("Set\nCookie", "x"),
        ("X-A", "one\r\nSet-Cookie: evil=1"),
        ("Connection", "close"),
        ("", "x"),
    ] {
        let record = Record::Response(ResponseRecord {
            headers: vec![(name.to_owned(), value.to_owned())],
            ..response()
        });
        assert_eq!(
            Record::decode(&record.encode()),
            None,
            "{name:?}: {value:?}"
        );
    }
    for (code, status) in [
        (200, "201 Created"),
        (200, "200\nOK"),
        (99, "99 x"),
        (200, "20"),
    ] {
        let record = Record::Response(ResponseRecord {
            code,
            status: status.to_owned(),
            ..response()
        });
        assert_eq!(Record::decode(&record.encode()), None, "{status:?}");
    }
}

/// A small xorshift generator: the same bytes on every run.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn hostile_bytes_never_panic_and_decode_only_to_valid_records() {
    let valid = Record::Response(response()).encode();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for round in 0..20_000 {
        let mut bytes = if round % 2 == 0 {
            // A valid record with a few bytes changed: lengths, counts, flags, text.
            let mut bytes = valid.clone();
            for _ in 0..1 + xorshift(&mut state) % 4 {
                let at = (xorshift(&mut state) as usize) % bytes.len();
                bytes[at] = xorshift(&mut state) as u8;
            }
            bytes
        } else {
            // The magic, then noise.
            let len = (xorshift(&mut state) % 200) as usize;
            let mut bytes = MAGIC.to_vec();
            bytes.extend((0..len).map(|_| xorshift(&mut state) as u8));
            bytes
        };
        if round % 3 == 0 {
            let cut = (xorshift(&mut state) as usize) % (bytes.len() + 1);
            bytes.truncate(cut);
        }
        if let Some(Record::Response(record)) = Record::decode(&bytes) {
            // Whatever decodes is what PEP 3333 allows an app to send.
            for (name, value) in &record.headers {
                assert!(check_header(name, value).is_ok(), "{name:?}: {value:?}");
            }
            assert!((100..=599).contains(&record.code));
            // And it encodes back to the very bytes.
            assert_eq!(Record::Response(record).encode(), bytes);
        }
    }
}
