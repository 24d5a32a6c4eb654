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
    match store.get(&mut store.budget(), b"k") {
        Err(Failure::Failed { first: true, .. }) => {}
        other => panic!("expected the outage to begin: {other:?}"),
    }
    assert!(matches!(
        store.get(&mut store.budget(), b"k"),
        Err(Failure::Down)
    ));
    assert_eq!(store.errors(), 1);
}

#[test]
fn a_spent_budget_sends_nothing_and_is_a_timeout() {
    // A listener that would accept: with nothing left of the budget, no connection is made.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let url = format!("redis://127.0.0.1:{port}/0");
    let store = RedisStore::new(&url, "p:", Duration::from_millis(200)).unwrap();
    let mut spent = Budget::new(Duration::ZERO);
    match store.get(&mut spent, b"k") {
        Err(Failure::Failed {
            first: true,
            outage: true,
            message,
        }) => assert!(message.contains("store_timeout"), "{message}"),
        other => panic!("expected a timeout: {other:?}"),
    }
    assert!(listener.accept().is_err(), "nothing connected");
}

#[test]
fn a_budget_is_spent_by_the_time_commands_wait() {
    // A store that accepts and never answers: the command waits what the budget has left,
    // connecting included, and the budget is then spent.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("redis://127.0.0.1:{port}/0");
    let store = RedisStore::new(&url, "p:", Duration::from_millis(100)).unwrap();
    let mut budget = store.budget();
    assert!(store.get(&mut budget, b"k").is_err());
    assert!(budget.left.is_zero(), "{budget:?}");
}
