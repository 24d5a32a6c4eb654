//! Unit tests for `clock.rs`.

use super::*;

#[test]
fn utc_civil_dates() {
    // 2000-10-10T20:55:36Z, Apache's documentation example in UTC.
    let t = utc(971_211_336);
    assert_eq!(
        (t.year, t.month, t.day, t.hour, t.minute, t.second),
        (2000, 10, 10, 20, 55, 36)
    );
    let epoch = utc(0);
    assert_eq!((epoch.year, epoch.month, epoch.day), (1970, 1, 1));
    // A leap day and the day before the epoch.
    let leap = utc(951_782_400);
    assert_eq!((leap.year, leap.month, leap.day), (2000, 2, 29));
    let before = utc(-1);
    assert_eq!(
        (
            before.year,
            before.month,
            before.day,
            before.hour,
            before.second
        ),
        (1969, 12, 31, 23, 59)
    );
}

#[test]
fn clf_and_iso_forms() {
    let mut t = utc(971_211_336);
    t.hour = 13;
    t.offset = -7 * 3600;
    let mut out = Vec::new();
    t.write_clf(&mut out);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "[10/Oct/2000:13:55:36 -0700]"
    );
    out.clear();
    t.write_iso(5, &mut out);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "2000-10-10T13:55:36.005-07:00"
    );
    t.offset = 5 * 3600 + 45 * 60;
    out.clear();
    t.write_clf(&mut out);
    assert!(out.ends_with(b" +0545]"), "{out:?}");
}
