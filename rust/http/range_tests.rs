//! Unit tests for `range.rs`, from RFC 9110 §14.1.2's examples and the edge cases.

use super::*;

#[test]
fn single_ranges() {
    let len = 10_000;
    let partial = |start, end| ByteRange::Partial { start, end };
    for (header, expected) in [
        ("bytes=0-499", partial(0, 499)),
        ("bytes=500-999", partial(500, 999)),
        ("bytes=-500", partial(9500, 9999)),
        ("bytes=9500-", partial(9500, 9999)),
        ("bytes=0-0", partial(0, 0)),
        ("bytes=-1", partial(9999, 9999)),
        ("bytes=9999-20000", partial(9999, 9999)),
        ("bytes=-20000", partial(0, 9999)),
        ("Bytes = 1-2", partial(1, 2)),
        ("bytes=0-99999999999999999999999", partial(0, 9999)),
    ] {
        assert_eq!(byte_range(Some(header), len), expected, "{header}");
    }
}

#[test]
fn unsatisfiable_ranges() {
    for (header, len) in [
        ("bytes=10000-", 10_000),
        ("bytes=10000-10001", 10_000),
        ("bytes=-0", 10_000),
        ("bytes=0-", 0),
        ("bytes=-5", 0),
        ("bytes=99999999999999999999999-", 10),
    ] {
        assert_eq!(
            byte_range(Some(header), len),
            ByteRange::Unsatisfiable,
            "{header} of {len}"
        );
    }
}

#[test]
fn what_is_ignored_gets_the_full_representation() {
    for header in [
        "",
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes=a-b",
        "bytes=5-1",
        "bytes=1-x",
        "bytes=0-1,5-6",
        "items=0-1",
        "bytes=+1-2",
        "bytes=1 2-3",
        &format!("bytes=0-{}", "9".repeat(300)),
    ] {
        assert_eq!(byte_range(Some(header), 100), ByteRange::Full, "{header:?}");
    }
    assert_eq!(byte_range(None, 100), ByteRange::Full);
}
