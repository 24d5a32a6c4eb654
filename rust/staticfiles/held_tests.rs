//! Unit tests for `held.rs`.

use std::path::PathBuf;

use super::*;

fn variant(ino: u64, size: u64, mtime_ns: i64) -> Variant {
    let identity = Identity {
        dev: 1,
        ino,
        mtime_ns,
        ctime_ns: mtime_ns,
    };
    Variant::new(
        PathBuf::from(format!("/f{ino}")),
        size,
        mtime_ns / 1_000_000_000,
        identity,
    )
}

#[test]
fn bytes_are_held_for_one_version_only() {
    let mut held = Held::new(100);
    let v1 = variant(7, 10, 1_000_000_000);
    assert!(held.keep(&v1, "v1").is_empty());
    assert_eq!(held.get(&v1), Some(&"v1"));
    // The same size and second, rewritten a few nanoseconds later: not the same version.
    let v2 = variant(7, 10, 1_000_000_005);
    assert_eq!(held.get(&v2), None);
    assert_eq!(held.keep(&v2, "v2"), vec!["v1"]);
    assert_eq!(held.get(&v2), Some(&"v2"));
    assert_eq!(held.bytes(), 10);
}

#[test]
fn the_budget_bounds_what_is_held() {
    let mut held = Held::new(25);
    assert!(held.keep(&variant(1, 10, 0), 1).is_empty());
    assert!(held.keep(&variant(2, 10, 0), 2).is_empty());
    assert_eq!(held.keep(&variant(3, 10, 0), 3), vec![3]);
    assert_eq!(held.get(&variant(3, 10, 0)), None);
    assert_eq!(held.bytes(), 20);
}
