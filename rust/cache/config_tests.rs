//! Unit tests for `config.rs`.

use super::*;

#[test]
fn an_entry_may_be_as_large_as_the_whole_store_and_no_larger() {
    for (max_entry_bytes, max_bytes, fits) in [
        (0, 1, true),
        (1024, 1024, true),
        (1024 * 1024, 64 * 1024 * 1024, true),
        (1025, 1024, false),
        (usize::MAX, 1, false),
    ] {
        assert_eq!(
            check_entry_size(max_entry_bytes, max_bytes).is_ok(),
            fits,
            "{max_entry_bytes} in {max_bytes}"
        );
    }
    assert_eq!(
        check_entry_size(2048, 1024),
        Err("max_entry_bytes must be at most max_bytes (1024)".to_owned())
    );
}

#[test]
fn key_prefixes_and_store_urls_are_checked_with_the_reason() {
    assert!(check_key_prefix("wsgi_mw:").is_ok());
    for (prefix, reason) in [
        ("", "must not be empty"),
        ("a b", "printable ASCII without spaces"),
        ("é", "printable ASCII without spaces"),
    ] {
        let said = check_key_prefix(prefix).err().unwrap_or_default();
        assert!(said.contains(reason), "{prefix:?}: {said}");
    }
    assert!(check_key_prefix(&"p".repeat(257)).is_err());
    for url in [
        "redis://h:6379/0",
        "REDISS://h/1",
        "unix:///tmp/r.sock?db=2",
    ] {
        assert!(check_store_url(url).is_ok(), "{url}");
    }
    for url in ["memcached://h", "h:6379", ""] {
        assert!(check_store_url(url).is_err(), "{url}");
    }
}
