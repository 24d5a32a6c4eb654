//! Brotli (RFC 7932) streams, from Google's C encoder (the `brotlic-sys` crate builds it
//! from source): the encoder Python's `brotli` module wraps, so both compress the same way
//! and the difference is what goes around it. The BREACH padding is a metadata meta-block
//! (RFC 7932 §9.2) at the start of the stream: decoders skip its bytes, so the decoded body
//! is unchanged.
//!
//! The encoder has no reset, so each response makes its own state. A whole body goes in one
//! `FINISH` call, which the encoder knows as one shot: it sizes its window to the body and
//! prepares only the hash buckets the body touches.

use std::ptr;

use brotlic_sys::{
    BrotliEncoderCompressStream, BrotliEncoderCreateInstance, BrotliEncoderDestroyInstance,
    BrotliEncoderHasMoreOutput, BrotliEncoderIsFinished, BrotliEncoderOperation,
    BrotliEncoderOperation_BROTLI_OPERATION_EMIT_METADATA as EMIT_METADATA,
    BrotliEncoderOperation_BROTLI_OPERATION_FINISH as FINISH,
    BrotliEncoderOperation_BROTLI_OPERATION_FLUSH as FLUSH,
    BrotliEncoderOperation_BROTLI_OPERATION_PROCESS as PROCESS,
    BrotliEncoderParameter_BROTLI_PARAM_QUALITY as PARAM_QUALITY,
    BrotliEncoderParameter_BROTLI_PARAM_SIZE_HINT as PARAM_SIZE_HINT, BrotliEncoderSetParameter,
    BrotliEncoderState,
};

/// The longest metadata a meta-block carries (RFC 7932 §9.2: MSKIPLEN up to 2^24).
const MAX_METADATA: usize = 1 << 24;

pub struct BrotliStream {
    /// Null when the encoder could not allocate its state: the body then ends early, never
    /// a panic. Owned: destroyed on drop.
    state: *mut BrotliEncoderState,
}

// SAFETY: the encoder state is plain memory owned by this value alone, and the C encoder
// keeps no thread-local state, so it may move between threads. Every method that touches it
// takes `&mut self`, so a shared `&BrotliStream` can do nothing with it.
unsafe impl Send for BrotliStream {}
unsafe impl Sync for BrotliStream {}

impl Drop for BrotliStream {
    fn drop(&mut self) {
        if !self.state.is_null() {
            // SAFETY: created by BrotliEncoderCreateInstance and destroyed only here.
            unsafe { BrotliEncoderDestroyInstance(self.state) };
        }
    }
}

impl BrotliStream {
    /// `size_hint`: the body's length when it is known whole (0: a stream).
    pub fn new(quality: u32, size_hint: usize, padding: Option<Vec<u8>>) -> (Self, Vec<u8>) {
        // SAFETY: no custom allocator (null functions and opaque).
        let state = unsafe { BrotliEncoderCreateInstance(None, None, ptr::null_mut()) };
        let mut stream = BrotliStream { state };
        let mut out = Vec::new();
        if state.is_null() {
            return (stream, out);
        }
        // SAFETY: a live state, before any data. Values in range are accepted; the quality
        // is clamped to the encoder's 0..=11.
        unsafe {
            BrotliEncoderSetParameter(state, PARAM_QUALITY, quality.min(11));
            if size_hint > 0 {
                let hint = u32::try_from(size_hint).unwrap_or(u32::MAX);
                BrotliEncoderSetParameter(state, PARAM_SIZE_HINT, hint);
            }
        }
        if let Some(padding) = padding.filter(|p| !p.is_empty() && p.len() <= MAX_METADATA) {
            stream.run(EMIT_METADATA, &padding, &mut out);
        }
        (stream, out)
    }

    fn run(&mut self, op: BrotliEncoderOperation, input: &[u8], out: &mut Vec<u8>) {
        if self.state.is_null() {
            return;
        }
        let mut available_in = input.len();
        let mut next_in = input.as_ptr();
        loop {
            let room = (available_in / 2).clamp(1024, 1 << 16);
            out.reserve(room);
            let start = out.len();
            let mut available_out = out.capacity() - start;
            let offered = available_out;
            // SAFETY: `next_in` and `available_in` describe the unread rest of `input`;
            // `next_out` points at `available_out` writable bytes of `out`'s spare capacity,
            // of which the encoder initialises the ones it reports written.
            let ok = unsafe {
                let mut next_out = out.as_mut_ptr().add(start);
                let ok = BrotliEncoderCompressStream(
                    self.state,
                    op,
                    &mut available_in,
                    &mut next_in,
                    &mut available_out,
                    &mut next_out,
                    ptr::null_mut(),
                );
                out.set_len(start + (offered - available_out));
                ok
            };
            if ok == 0 {
                // A refused operation (it cannot happen with these arguments): stop quietly.
                self.drop_state();
                return;
            }
            // SAFETY: a live state.
            let (pending, finished) = unsafe {
                (
                    BrotliEncoderHasMoreOutput(self.state) != 0,
                    BrotliEncoderIsFinished(self.state) != 0,
                )
            };
            let done = if op == FINISH {
                finished && !pending
            } else {
                available_in == 0 && !pending
            };
            if done {
                return;
            }
        }
    }

    fn drop_state(&mut self) {
        // SAFETY: a live state, nulled so that Drop does not destroy it again.
        unsafe { BrotliEncoderDestroyInstance(self.state) };
        self.state = ptr::null_mut();
    }

    pub fn write(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.run(PROCESS, chunk, out);
    }

    /// Everything written so far becomes decodable now.
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        self.run(FLUSH, &[], out);
    }

    pub fn finish(mut self, out: &mut Vec<u8>) {
        self.run(FINISH, &[], out);
    }
}

/// One whole body, in one `FINISH` call (the encoder's one-shot path).
pub fn brotli_all(body: &[u8], quality: u32, padding: Option<Vec<u8>>, out: &mut Vec<u8>) {
    let (mut stream, head) = BrotliStream::new(quality, body.len().max(1), padding);
    out.extend_from_slice(&head);
    out.reserve(body.len() / 3 + 64);
    stream.run(FINISH, body, out);
}

#[cfg(test)]
#[path = "brotli_tests.rs"]
mod tests;
