//! Cache: an RFC 9111 shared cache in memory. The policy modules are pure (no pyo3):
//! Cache-Control directives, freshness and storability, conditional requests, keys, HTTP
//! dates, the byte-budgeted store and single-flight. `request`, `shared`, `filter` and `py`
//! wire them to Python.
pub mod conditional;
pub mod config;
pub mod decide;
pub mod entry;
pub mod filter;
pub mod flight;
pub mod freshness;
pub mod key;
pub mod py;
pub mod redis_store;
pub mod request;
pub mod shared;
pub mod stale;
pub mod store;
