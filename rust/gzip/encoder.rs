//! A gzip stream that hands out compressed bytes as soon as the encoder produces them, and the
//! "Heal the BREACH" file name that pads the header by a random length.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};

pub struct GzipStream {
    encoder: GzEncoder<Vec<u8>>,
}

impl GzipStream {
    /// `name`: the FNAME header field (BREACH padding); must not contain a NUL byte.
    pub fn new(level: u32, name: Option<Vec<u8>>) -> Self {
        let builder = match name {
            // An empty name still sets FNAME (just its NUL): with padding on, every response
            // carries the field, 1 to N + 1 bytes. flate2 panics on a NUL inside the name;
            // `breach_name` only makes alphanumerics.
            Some(name) if !name.contains(&0) => GzBuilder::new().filename(name),
            _ => GzBuilder::new(),
        };
        GzipStream {
            encoder: builder.write(Vec::new(), Compression::new(level.min(9))),
        }
    }

    /// Compress `chunk`; whatever the encoder emitted is appended to `out`.
    pub fn write(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail.
        let _ = self.encoder.write_all(chunk);
        out.append(self.encoder.get_mut());
    }

    /// Sync flush: everything written so far becomes decodable by the client now
    /// (server-sent events must not wait in the encoder).
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        let _ = self.encoder.flush();
        out.append(self.encoder.get_mut());
    }

    /// End the stream: the last deflate block and the gzip trailer.
    pub fn finish(self, out: &mut Vec<u8>) {
        if let Ok(mut rest) = self.encoder.finish() {
            out.append(&mut rest);
        }
    }
}

/// One whole body, compressed.
pub fn gzip_all(body: &[u8], level: u32, name: Option<Vec<u8>>, out: &mut Vec<u8>) {
    // Text compresses 4-8x; reserving a quarter avoids most regrowth.
    out.reserve(body.len() / 4 + 64);
    let mut stream = GzipStream::new(level, name);
    stream.write(body, out);
    stream.finish(out);
}

/// 0 to `max` random alphanumeric bytes for the gzip FNAME field: the compressed length then
/// varies per response, which defeats BREACH-style length oracles (Django's "Heal the
/// BREACH"). Random from SipHash keyed per process by the OS (std's RandomState).
pub fn breach_name(max: usize) -> Option<Vec<u8>> {
    if max == 0 {
        return None;
    }
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let state = RandomState::new();
    let draw = |i: u64| {
        let mut hasher = state.build_hasher();
        hasher.write_u64(i);
        hasher.finish()
    };
    let span = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let len = usize::try_from(draw(0) % span).unwrap_or(0);
    let name = (1..=len as u64)
        .map(|i| ALPHABET[(draw(i) % 62) as usize]) // `% 62` is always a valid index.
        .collect();
    Some(name)
}

#[cfg(test)]
#[path = "encoder_tests.rs"]
mod tests;
