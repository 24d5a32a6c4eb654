//! Gzip: compress responses the client accepts, streaming, off the GIL.
pub mod config;
pub mod encoder;
pub mod filter;
pub mod py;
