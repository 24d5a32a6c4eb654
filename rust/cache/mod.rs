//! Cache: an RFC 9111 shared cache, in memory or on Redis. The policy modules are pure (no
//! pyo3): freshness, storability and RFC 5861 windows, keys, the lookup (where a request
//! goes, single-flight in and across processes) and its next step, what a hit sends, the
//! byte-budgeted store, single-flight, the stored record's format, what a record read back
//! from a shared store must be (admit) and the Redis store.
//! `request`, `shared`, `lookup_port`, `filter`, `stale` and `py` wire them to Python.
pub mod admit;
pub mod config;
pub mod decide;
pub mod entry;
pub mod filter;
pub mod flight;
pub mod freshness;
pub mod hit;
pub mod key;
pub mod lookup;
pub mod lookup_port;
pub mod py;
pub mod redis_store;
pub mod request;
pub mod shared;
pub mod stale;
pub mod store;
