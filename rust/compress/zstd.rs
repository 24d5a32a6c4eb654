//! zstd (RFC 8878) frames, streamed or in one shot, from compression contexts kept per
//! thread: a context's tables are set up once and reset per response, so no request pays
//! for them. The BREACH padding is a skippable frame (RFC 8878 §3.1.2) before the data
//! frame: every decoder skips it, and the decoded body is unchanged.

use std::cell::RefCell;

use zstd::zstd_safe::zstd_sys::ZSTD_EndDirective;
use zstd::zstd_safe::{CCtx, CParameter, InBuffer, OutBuffer, ResetDirective};

/// Contexts kept per thread (each holds its level's tables, up to a few MiB at high levels).
const POOLED_PER_THREAD: usize = 4;

thread_local! {
    static POOL: RefCell<Vec<(i32, CCtx<'static>)>> = const { RefCell::new(Vec::new()) };
}

fn take_context(level: i32) -> Option<CCtx<'static>> {
    let pooled = POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let at = pool.iter().position(|(l, _)| *l == level)?;
        Some(pool.swap_remove(at).1)
    });
    let mut context = match pooled {
        Some(context) => context,
        None => CCtx::try_create()?,
    };
    // A session reset keeps the parameters and the allocations; a stream abandoned half
    // way is discarded by it, so any context may go back.
    context.reset(ResetDirective::SessionOnly).ok()?;
    context
        .set_parameter(CParameter::CompressionLevel(level))
        .ok()?;
    // The frame says its checksum: a client can tell a damaged body.
    context.set_parameter(CParameter::ChecksumFlag(true)).ok()?;
    Some(context)
}

fn give_back(level: i32, context: CCtx<'static>) {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOLED_PER_THREAD {
            pool.push((level, context));
        }
    });
}

/// A skippable frame of `padding` bytes: magic 0x184D2A50 (little-endian), length, content.
pub fn skippable_frame(padding: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&0x184D_2A50_u32.to_le_bytes());
    out.extend_from_slice(&u32::try_from(padding.len()).unwrap_or(0).to_le_bytes());
    if u32::try_from(padding.len()).is_ok() {
        out.extend_from_slice(padding);
    }
}

pub struct ZstdStream {
    level: i32,
    /// `None` when no context could be made (out of memory): the stream then writes nothing
    /// and the filter's output is an empty body, never a panic.
    context: Option<CCtx<'static>>,
    /// The padding frame, until the first output goes out with it.
    prefix: Vec<u8>,
}

impl ZstdStream {
    pub fn new(level: i32, padding: Option<Vec<u8>>) -> Self {
        let mut prefix = Vec::new();
        if let Some(padding) = padding {
            skippable_frame(&padding, &mut prefix);
        }
        ZstdStream {
            level,
            context: take_context(level),
            prefix,
        }
    }

    fn run(&mut self, input: &[u8], out: &mut Vec<u8>, end: ZSTD_EndDirective) {
        if !self.prefix.is_empty() {
            out.append(&mut self.prefix);
        }
        let Some(context) = self.context.as_mut() else {
            return;
        };
        let mut input = InBuffer::around(input);
        loop {
            out.reserve(input.src.len().saturating_sub(input.pos) / 4 + 256);
            let at = out.len();
            let remaining = {
                let mut output = OutBuffer::around_pos(out, at);
                match context.compress_stream2(&mut output, &mut input, end) {
                    Ok(remaining) => remaining,
                    Err(_) => return,
                }
            };
            let consumed = input.pos == input.src.len();
            match end {
                // Continue: done once the input is taken (zstd keeps what it buffers).
                ZSTD_EndDirective::ZSTD_e_continue if consumed => return,
                // Flush and end: done once nothing is left to write.
                ZSTD_EndDirective::ZSTD_e_continue => {}
                _ if consumed && remaining == 0 => return,
                _ => {}
            }
        }
    }

    pub fn write(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.run(chunk, out, ZSTD_EndDirective::ZSTD_e_continue);
    }

    /// Everything written so far becomes decodable now (a complete block).
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        self.run(&[], out, ZSTD_EndDirective::ZSTD_e_flush);
    }

    /// End the frame (its last block and checksum).
    pub fn finish(mut self, out: &mut Vec<u8>) {
        self.run(&[], out, ZSTD_EndDirective::ZSTD_e_end);
    }
}

impl Drop for ZstdStream {
    fn drop(&mut self) {
        if let Some(context) = self.context.take() {
            give_back(self.level, context);
        }
    }
}

/// One whole body as one frame (its size in the frame header).
pub fn zstd_all(body: &[u8], level: i32, padding: Option<Vec<u8>>, out: &mut Vec<u8>) {
    let mut stream = ZstdStream::new(level, padding);
    if let Some(context) = stream.context.as_mut() {
        let _ = context.set_pledged_src_size(Some(body.len() as u64));
    }
    out.reserve(zstd::zstd_safe::compress_bound(body.len()) + stream.prefix.len());
    stream.run(body, out, ZSTD_EndDirective::ZSTD_e_end);
}

#[cfg(test)]
#[path = "zstd_tests.rs"]
mod tests;
