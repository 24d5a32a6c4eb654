//! Unit tests for `store.rs`.

use super::super::key::KeyBuilder;
use super::*;

fn key(path: &str) -> Key {
    KeyBuilder::new("http", "h", "", path, "").finish()
}

fn entry(value: &str, bytes: usize, stored_at: i64, ttl: u64) -> Entry<String> {
    Entry {
        value: value.to_owned(),
        bytes,
        stored_at,
        ttl,
    }
}

fn fresh(store: &mut Store<String>, path: &str, now: i64) -> Option<String> {
    match store.get(&key(path), now) {
        Found::Fresh { value, .. } => Some(value),
        _ => None,
    }
}

#[test]
fn fresh_until_ttl_then_taken_out() {
    let mut store = Store::new(100);
    assert!(store.insert(key("/a"), entry("A", 10, 0, 60), 0).is_empty());
    assert_eq!(fresh(&mut store, "/a", 59), Some("A".to_owned()));
    assert!(matches!(store.get(&key("/a"), 60), Found::Expired(v) if v == "A"));
    assert_eq!((store.len(), store.bytes()), (0, 0));
    assert!(matches!(store.get(&key("/a"), 61), Found::Missing));
}

#[test]
fn byte_budget_evicts_least_recently_used() {
    let mut store = Store::new(30);
    store.insert(key("/a"), entry("A", 10, 0, 600), 0);
    store.insert(key("/b"), entry("B", 10, 0, 600), 0);
    store.insert(key("/c"), entry("C", 10, 0, 600), 0);
    assert_eq!(fresh(&mut store, "/a", 1), Some("A".to_owned())); // /a is now most recent
    let dropped = store.insert(key("/d"), entry("D", 10, 1, 600), 1);
    assert_eq!(dropped, ["B"]);
    assert_eq!((store.bytes(), store.evictions()), (30, 1));
}

#[test]
fn expired_entries_are_evicted_before_fresh_ones() {
    let mut store = Store::new(30);
    store.insert(key("/old"), entry("OLD", 10, 0, 5), 0);
    store.insert(key("/b"), entry("B", 10, 0, 600), 0);
    store.insert(key("/c"), entry("C", 10, 0, 600), 0);
    // /old is the most recently used, but it has expired by now: it goes first.
    assert_eq!(fresh(&mut store, "/old", 1), Some("OLD".to_owned()));
    let dropped = store.insert(key("/d"), entry("D", 10, 10, 600), 10);
    assert_eq!(dropped, ["OLD"]);
    assert_eq!(fresh(&mut store, "/b", 10), Some("B".to_owned()));
}

#[test]
fn too_large_is_refused_and_replacing_keeps_the_count_right() {
    let mut store = Store::new(30);
    assert_eq!(
        store.insert(key("/big"), entry("BIG", 31, 0, 60), 0),
        ["BIG"]
    );
    assert!(store.is_empty());
    store.insert(key("/a"), entry("A1", 10, 0, 60), 0);
    assert_eq!(store.insert(key("/a"), entry("A2", 20, 0, 60), 0), ["A1"]);
    assert_eq!((store.len(), store.bytes()), (1, 20));
    // Neither a refusal nor a replacement is an eviction.
    assert_eq!(store.evictions(), 0);
}

#[test]
fn purge_and_clear_hand_back_what_they_remove() {
    let mut store = Store::new(100);
    for path in ["/a", "/b", "/c"] {
        store.insert(key(path), entry(path, 10, 0, 60), 0);
    }
    let purged = store.purge(|k| *k == key("/b"));
    assert_eq!(purged, ["/b"]);
    assert_eq!((store.len(), store.bytes()), (2, 20));
    let mut cleared = store.clear();
    cleared.sort();
    assert_eq!(cleared, ["/a", "/c"]);
    assert_eq!((store.len(), store.bytes()), (0, 0));
}
