//! Unit tests for the pure parts of `redis_store.rs`; the store itself is tested against a
//! real redis-server in tests/test_cache_redis.py.

use super::*;

#[test]
fn scan_patterns_match_the_prefix_literally() {
    assert_eq!(glob_escape(b"wsgi_mw:"), b"wsgi_mw:*");
    assert_eq!(glob_escape(b"a*b?[c]\\"), b"a\\*b\\?\\[c\\]\\\\*");
}

#[test]
fn digests_are_sha256_hex() {
    assert_eq!(
        digest(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn tokens_differ() {
    assert_ne!(lock_token(), lock_token());
}

#[test]
fn urls_are_parsed_without_connecting() {
    // Nothing listens on port 1: construction must not notice.
    assert!(RedisStore::new("redis://127.0.0.1:1/0", "p:", Duration::from_millis(50)).is_ok());
    assert!(RedisStore::new(
        "unix:///tmp/nothing.sock?db=2",
        "p:",
        Duration::from_millis(50)
    )
    .is_ok());
    assert!(RedisStore::new("http://example.com", "p:", Duration::from_millis(50)).is_err());
}

#[test]
fn an_unreachable_store_fails_once_then_backs_off() {
    let store = RedisStore::new("redis://127.0.0.1:1/0", "p:", Duration::from_millis(50)).unwrap();
    match store.get(b"k") {
        Err(Failure::Failed { first: true, .. }) => {}
        other => panic!("expected the outage to begin: {other:?}"),
    }
    assert!(matches!(store.get(b"k"), Err(Failure::Down)));
    assert_eq!(store.errors(), 1);
}
