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

fn variant(path: &str, coding: &str) -> Key {
    let mut builder = KeyBuilder::extend(&key(path));
    builder.vary("accept-encoding", Some(coding.as_bytes()));
    builder.finish()
}

#[test]
fn purge_uri_takes_exactly_that_uri_and_its_variants() {
    let mut store = Store::new(1000);
    store.insert(key("/a"), entry("A-record", 10, 0, 600), 0);
    store.insert(variant("/a", "gzip"), entry("A-gzip", 10, 0, 600), 0);
    store.insert(variant("/a", "br"), entry("A-br", 10, 0, 600), 0);
    store.insert(key("/ab"), entry("AB", 10, 0, 600), 0);
    store.insert(variant("/ab", "gzip"), entry("AB-gzip", 10, 0, 600), 0);
    let mut purged = store.purge_uri(&variant("/a", "gzip"));
    purged.sort();
    assert_eq!(purged, ["A-br", "A-gzip", "A-record"]);
    assert_eq!((store.len(), store.bytes()), (2, 20));
    assert!(store.purge_uri(&key("/a")).is_empty());
    assert_eq!(fresh(&mut store, "/ab", 1), Some("AB".to_owned()));
}

#[test]
fn the_uri_index_follows_evictions_expiry_and_replacement() {
    let mut store = Store::new(30);
    store.insert(key("/a"), entry("A", 10, 0, 5), 0);
    store.insert(variant("/a", "gzip"), entry("A-gzip", 10, 0, 600), 0);
    store.insert(key("/b"), entry("B", 10, 0, 600), 0);
    // Expired /a goes (the sweep), then LRU A-gzip: nothing of /a is left to purge.
    store.insert(key("/c"), entry("C", 20, 10, 600), 10);
    assert!(store.purge_uri(&key("/a")).is_empty());
    // A replaced entry is indexed once.
    store.insert(key("/b"), entry("B2", 10, 11, 600), 11);
    assert_eq!(store.purge_uri(&key("/b")), ["B2"]);
    assert_eq!(store.bytes(), 20);
    store.clear();
    assert!(store.purge_uri(&key("/c")).is_empty());
}

#[test]
fn a_full_store_sweeps_for_expired_entries_at_most_once_a_second() {
    // Sweeping scans the whole store: doing it on every insert into a full store made each
    // insert cost the store's size.
    let mut store = Store::new(30);
    store.insert(key("/x"), entry("X", 10, 0, 100_000), 0);
    store.insert(key("/y"), entry("Y", 10, 0, 100_000), 0);
    store.insert(key("/z"), entry("Z", 10, 0, 100_000), 0);
    // Full, nothing can have expired yet (the earliest expiry is 100 s): LRU, no sweep.
    assert_eq!(store.insert(key("/1"), entry("1", 10, 1, 1), 1), ["X"]);
    // /1 expired at 2: the first sweep finds it.
    assert_eq!(store.insert(key("/2"), entry("2", 10, 3, 1), 3), ["1"]);
    // /2 expired at 4, but the last sweep ran at 3: LRU order until a second has passed.
    assert_eq!(
        store.insert(key("/3"), entry("3", 10, 5, 100_000), 5),
        ["Y"]
    );
    assert_eq!(
        store.insert(key("/4"), entry("4", 10, 1003, 100_000), 1003),
        ["2"]
    );
}
