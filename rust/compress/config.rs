//! The configuration and defaults of Compress and Gzip (pure: no pyo3).

use crate::http::accept_encoding::Coding;
use crate::http::media_type::MediaTypes;

/// Text formats worth compressing; never already-compressed media (images, audio, video,
/// archives), where compression only costs CPU. `application/*+json` and `application/*+xml`
/// are the structured-syntax suffixes of RFC 6839 (JSON:API, HAL, problem details, Atom...).
pub const DEFAULT_CONTENT_TYPES: [&str; 11] = [
    "text/*",
    "application/json",
    "application/*+json",
    "application/xml",
    "application/*+xml",
    "application/javascript",
    "application/ecmascript",
    "application/x-javascript",
    "application/x-ndjson",
    "application/wasm",
    "image/svg+xml",
];

/// Responses flushed after every chunk: each event decodable the moment it is sent.
pub const DEFAULT_STREAM_TYPES: [&str; 2] = ["text/event-stream", "application/x-ndjson"];

/// Longest BREACH padding accepted: a few hundred random bytes already hide any length
/// signal a page can carry.
pub const MAX_BREACH_PADDING: usize = 4096;

/// The codings Compress offers by default, in its order of preference.
pub const DEFAULT_ENCODINGS: [Coding; 3] = [Coding::Zstd, Coding::Br, Coding::Gzip];

/// Levels: gzip (zlib and libdeflate) 0-9, brotli quality 0-11, zstd 1-22.
pub const GZIP_LEVELS: (u32, u32) = (0, 9);
pub const BROTLI_QUALITIES: (u32, u32) = (0, 11);
pub const ZSTD_LEVELS: (u32, u32) = (1, 22);

/// The immutable configuration of one `Compress` (or `Gzip`: gzip alone), shared by all its
/// responses.
pub struct CompressConfig {
    /// The codings offered, in the server's order of preference (ties of the client's
    /// q-values go to the earlier).
    pub encodings: Vec<Coding>,
    pub min_size: usize,
    pub gzip_level: u32,
    pub brotli_quality: u32,
    pub zstd_level: i32,
    pub content_types: MediaTypes,
    pub stream_types: MediaTypes,
    pub breach_padding: usize,
}

impl CompressConfig {
    /// The level the config gives `coding`.
    pub fn level(&self, coding: Coding) -> i32 {
        match coding {
            Coding::Gzip => self.gzip_level as i32,
            Coding::Br => self.brotli_quality as i32,
            Coding::Zstd => self.zstd_level,
        }
    }
}
