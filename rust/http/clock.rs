//! The wall clock the cores read: Date, Expires and Last-Modified are wall-clock times, and
//! Cache and Static both compare against them. Pure (no pyo3).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch; 0 for a clock set before it, and the largest value
/// for one past i64's range (never a panic).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
