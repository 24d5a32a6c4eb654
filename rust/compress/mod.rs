//! Compress (zstd, brotli, gzip) and Gzip (gzip alone): compress responses the client
//! accepts, negotiated by q-values, whole bodies in one shot and streams as they come, off
//! the GIL.
pub mod brotli;
pub mod config;
pub mod encoder;
pub mod filter;
pub mod gzip;
pub mod py;
pub mod zstd;
