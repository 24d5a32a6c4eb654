//! Logger: access logs written when the response really ended. The pure cores (format,
//! escaping, rendering, clock, trusted proxies) and the Rust file appender; `filter.rs` and
//! `py.rs` bind them to the plumbing and Python.
pub mod appender;
pub mod clock;
pub mod config;
pub mod filter;
pub mod format;
pub mod proxies;
pub mod py;
pub mod render;
pub mod sink;
