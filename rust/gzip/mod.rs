//! Gzip: compress responses the client accepts, streaming, off the GIL.
pub mod encoder;
pub mod filter;
pub mod py;
