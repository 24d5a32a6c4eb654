//! Gzip's configuration and defaults (pure: no pyo3).

use crate::http::media_type::MediaTypes;

/// Text formats worth compressing; never already-compressed media (images, audio, video,
/// archives), where gzip only costs CPU.
pub const DEFAULT_CONTENT_TYPES: [&str; 15] = [
    "text/*",
    "application/json",
    "application/ld+json",
    "application/manifest+json",
    "application/problem+json",
    "application/geo+json",
    "application/javascript",
    "application/ecmascript",
    "application/x-javascript",
    "application/xml",
    "application/xhtml+xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/problem+xml",
    "image/svg+xml",
];

pub const DEFAULT_STREAM_TYPES: [&str; 1] = ["text/event-stream"];

/// Longest BREACH padding accepted: the FNAME field is read by every client; a few hundred
/// random bytes already hide any length signal a page can carry.
pub const MAX_BREACH_PADDING: usize = 4096;

/// The immutable configuration of one `Gzip`, shared by all its responses.
pub struct GzipConfig {
    pub level: u32,
    pub min_size: usize,
    pub content_types: MediaTypes,
    pub stream_types: MediaTypes,
    pub breach_padding: usize,
}
