//! Cache: an RFC 9111 shared cache in memory. This first part is pure (no pyo3):
//! Cache-Control directives, freshness and storability, conditional requests, keys, HTTP
//! dates and the byte-budgeted store. Vary learning, single-flight and the Python class come
//! with the rest of the middleware (issue 4); nothing here is exposed to Python yet.
pub mod cache_control;
pub mod conditional;
pub mod freshness;
pub mod http_date;
pub mod key;
pub mod store;
