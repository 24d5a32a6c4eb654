//! A gzip stream that hands out compressed bytes as soon as the encoder produces them, and the
//! "Heal the BREACH" file name that pads the header by a random length.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// Deflate states kept per thread and level for reuse. A new zlib-rs state allocates and
/// zeroes about 270 KiB (window, hash chains, pending buffer); that setup was ~20 µs, the
/// larger part of compressing a 4 KiB page (perf: memset, page faults and clear_page were a
/// fifth of a whole-stack miss). `reset()` keeps the allocations. Only the state of a stream
/// that was finished goes back: a state reset in the middle of a block (a response closed
/// early) gave a corrupt stream at level 1 (rust/compress/gzip_tests.rs).
const POOLED_PER_THREAD: usize = 4;

thread_local! {
    static POOL: RefCell<Vec<(u32, Compress)>> = const { RefCell::new(Vec::new()) };
}

fn take_state(level: u32) -> Compress {
    let pooled = POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let at = pool.iter().position(|(l, _)| *l == level)?;
        Some(pool.swap_remove(at).1)
    });
    match pooled {
        Some(mut state) => {
            state.reset();
            state
        }
        // Raw deflate: the gzip header and trailer are ours.
        None => Compress::new(Compression::new(level), false),
    }
}

fn give_back(level: u32, state: Compress) {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOLED_PER_THREAD {
            pool.push((level, state));
        }
    });
}

/// The 10-byte gzip header (RFC 1952) as flate2's `GzBuilder` writes it: no mtime, XFL from
/// the level, OS unknown; with `name`, the FNAME field (BREACH padding).
fn header(level: u32, name: Option<&[u8]>, out: &mut Vec<u8>) {
    const FNAME: u8 = 0x08;
    let xfl = match level {
        9.. => 2,
        1 => 4,
        _ => 0,
    };
    let flags = if name.is_some() { FNAME } else { 0 };
    out.extend_from_slice(&[0x1f, 0x8b, 8, flags, 0, 0, 0, 0, xfl, 0xff]);
    if let Some(name) = name {
        out.extend_from_slice(name);
        out.push(0);
    }
}

pub struct GzipStream {
    level: u32,
    /// `None` only after `finish` gave it back.
    state: Option<Compress>,
    crc: Crc,
    /// The header, until the first output goes out with it.
    header: Vec<u8>,
    /// `finish` ran: the state ended cleanly and may serve another stream.
    finished: bool,
}

impl GzipStream {
    /// `name`: the FNAME header field (BREACH padding); a name with a NUL byte is left out.
    pub fn new(level: u32, name: Option<Vec<u8>>) -> Self {
        let level = level.min(9);
        let mut head = Vec::with_capacity(10 + name.as_ref().map_or(0, |n| n.len() + 1));
        // An empty name still sets FNAME (just its NUL): with padding on, every response
        // carries the field, 1 to N + 1 bytes. `breach_name` only makes alphanumerics.
        header(
            level,
            name.as_deref().filter(|n| !n.contains(&0)),
            &mut head,
        );
        GzipStream {
            level,
            state: Some(take_state(level)),
            crc: Crc::new(),
            header: head,
            finished: false,
        }
    }

    fn deflate(&mut self, mut input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) {
        if !self.header.is_empty() {
            out.append(&mut self.header);
        }
        let Some(state) = self.state.as_mut() else {
            return;
        };
        loop {
            // Text compresses 4-8x: a quarter of the input (plus room for a block's end)
            // avoids most regrowth.
            out.reserve(input.len() / 4 + 256);
            let before = state.total_in();
            let room = out.capacity() - out.len();
            let written = out.len();
            let status = state.compress_vec(input, out, flush);
            let consumed = usize::try_from(state.total_in() - before).unwrap_or(input.len());
            input = input.get(consumed..).unwrap_or_default();
            match status {
                Ok(Status::StreamEnd) | Err(_) => return,
                Ok(_) => {}
            }
            // Done when the input is taken and the encoder did not fill the room it had
            // (a flush or finish with more to say fills it).
            let filled = out.len() - written >= room;
            if input.is_empty() && !filled && !matches!(flush, FlushCompress::Finish) {
                return;
            }
        }
    }

    /// Compress `chunk`; whatever the encoder emitted is appended to `out`.
    pub fn write(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.crc.update(chunk);
        self.deflate(chunk, out, FlushCompress::None);
    }

    /// Sync flush: everything written so far becomes decodable by the client now
    /// (server-sent events must not wait in the encoder).
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        self.deflate(&[], out, FlushCompress::Sync);
    }

    /// End the stream: the last deflate block and the gzip trailer.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        self.deflate(&[], out, FlushCompress::Finish);
        self.finished = true;
        out.extend_from_slice(&self.crc.sum().to_le_bytes());
        out.extend_from_slice(&self.crc.amount().to_le_bytes());
    }
}

impl Drop for GzipStream {
    fn drop(&mut self) {
        if let Some(state) = self.state.take().filter(|_| self.finished) {
            give_back(self.level, state);
        }
    }
}

thread_local! {
    /// libdeflate compressors per level (each a few hundred KiB of tables, made once).
    static ONE_SHOT: RefCell<Vec<(u32, libdeflater::Compressor)>> = const { RefCell::new(Vec::new()) };
}

/// One whole body, compressed in one call by libdeflate (several times zlib's speed on a
/// whole buffer, at the same level and a similar size), with our own header and trailer so
/// the FNAME padding works as for a stream.
pub fn gzip_all(body: &[u8], level: u32, name: Option<Vec<u8>>, out: &mut Vec<u8>) {
    let level = level.min(9);
    let Ok(lvl) = libdeflater::CompressionLvl::new(level as i32) else {
        let mut stream = GzipStream::new(level, name);
        stream.write(body, out);
        return stream.finish(out);
    };
    header(level, name.as_deref().filter(|n| !n.contains(&0)), out);
    ONE_SHOT.with(|compressors| {
        let mut compressors = compressors.borrow_mut();
        let at = match compressors.iter().position(|(l, _)| *l == level) {
            Some(at) => at,
            None => {
                compressors.push((level, libdeflater::Compressor::new(lvl)));
                compressors.len() - 1
            }
        };
        if let Some((_, compressor)) = compressors.get_mut(at) {
            let start = out.len();
            let bound = compressor.deflate_compress_bound(body.len());
            out.resize(start + bound, 0);
            let written = compressor
                .deflate_compress(body, out.get_mut(start..).unwrap_or_default())
                .unwrap_or(0);
            out.truncate(start + written);
        }
    });
    out.extend_from_slice(&libdeflater::crc32(body).to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
}

/// 0 to `max` random alphanumeric bytes (the gzip FNAME field, zstd's skippable frame,
/// brotli's metadata): the compressed length then varies per response, which defeats
/// BREACH-style length oracles (Django's "Heal the BREACH"). Random from SipHash keyed per
/// process by the OS (std's RandomState).
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
#[path = "gzip_tests.rs"]
mod tests;
