//! Cache's configuration and defaults (pure: no pyo3).

use std::time::Duration;

use super::freshness::{Policy, RequestDirectives};

/// RFC 9110 §15.1: the statuses that are heuristically cacheable.
pub const DEFAULT_STATUSES: [u16; 11] = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501];

/// The `status_header` values: answered from a fresh entry, by the app (its response
/// maybe stored), by the app around the cache.
pub const HIT: &str = "HIT";
pub const MISS: &str = "MISS";
pub const BYPASS: &str = "BYPASS";
/// The `status_header` value of a response served past its freshness, within a stale
/// window (RFC 5861).
pub const STALE: &str = "STALE";

/// `Cache(tag_header=)`'s default: Fastly's name (Varnish's xkey reads `xkey`).
pub const DEFAULT_TAG_HEADER: &str = "Surrogate-Key";

/// The tags of a response: the whitespace-separated words of every `tag_header` field.
pub fn response_tags<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut tags: Vec<String> = values
        .flat_map(str::split_ascii_whitespace)
        .map(str::to_owned)
        .collect();
    tags.sort_unstable();
    tags.dedup();
    tags
}

/// `Cache(key_prefix=)`'s default.
pub const DEFAULT_KEY_PREFIX: &str = "wsgi_mw:";
/// `Cache(store_timeout=)`'s default: a Redis on the same network answers in well under 1 ms.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_millis(250);
/// The longest key prefix.
const MAX_KEY_PREFIX: usize = 256;

/// A store URL Cache accepts: `redis://`, `rediss://` (TLS) or `unix://` (a socket path).
pub fn check_store_url(url: &str) -> Result<(), String> {
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("redis" | "rediss" | "unix") => Ok(()),
        _ => Err(
            "store must be None or a Redis URL: \"redis://host:port/db\", \"rediss://host:port/db\" or \"unix:///path/redis.sock?db=N\"".to_owned(),
        ),
    }
}

/// A key prefix: not empty (`clear()` deletes what starts with it), at most 256 bytes,
/// printable ASCII without spaces (glob characters are escaped in SCAN patterns).
pub fn check_key_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Err(
            "key_prefix must not be empty: clear() deletes every key that starts with it"
                .to_owned(),
        );
    }
    if prefix.len() > MAX_KEY_PREFIX {
        return Err(format!("key_prefix must be at most {MAX_KEY_PREFIX} bytes"));
    }
    if !prefix.chars().all(|c| c.is_ascii_graphic()) {
        return Err("key_prefix must be printable ASCII without spaces".to_owned());
    }
    Ok(())
}

/// `max_entry_bytes` against `max_bytes`: an entry the store could never hold is a mistake.
pub fn check_entry_size(max_entry_bytes: usize, max_bytes: usize) -> Result<(), String> {
    if max_entry_bytes > max_bytes {
        return Err(format!(
            "max_entry_bytes must be at most max_bytes ({max_bytes})"
        ));
    }
    Ok(())
}

/// The immutable configuration of one `Cache`, shared by all its requests.
pub struct CacheConfig {
    pub policy: Policy,
    pub max_bytes: usize,
    pub max_entry_bytes: usize,
    pub status_header: Option<String>,
    pub single_flight: bool,
    pub single_flight_timeout: Duration,
    pub request_directives: RequestDirectives,
    /// The shared store's URL; None: the in-process store.
    pub store_url: Option<String>,
    pub key_prefix: String,
    pub store_timeout: Duration,
    /// The response header whose space-separated tags are stored with the entry (and removed
    /// from what clients see); None: no tags.
    pub tag_header: Option<String>,
    /// `(stale_while_revalidate, stale_if_error)` seconds for responses that do not say.
    pub stale_defaults: (u64, u64),
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
