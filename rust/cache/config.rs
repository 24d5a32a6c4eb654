//! Cache's configuration and defaults (pure: no pyo3).

use std::time::Duration;

use super::freshness::{Policy, RequestDirectives};

/// RFC 9110 §15.1: the statuses that are heuristically cacheable.
pub const DEFAULT_STATUSES: [u16; 11] = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501];

/// The immutable configuration of one `Cache`, shared by all its requests.
pub struct CacheConfig {
    pub policy: Policy,
    pub max_bytes: usize,
    pub max_entry_bytes: usize,
    pub status_header: Option<String>,
    pub single_flight: bool,
    pub single_flight_timeout: Duration,
    pub request_directives: RequestDirectives,
}
