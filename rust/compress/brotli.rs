//! Brotli (RFC 7932) streams, from the pure-Rust `brotli` encoder. The BREACH padding is a
//! metadata meta-block (RFC 7932 §9.2) at the start of the stream: decoders skip its bytes,
//! so the decoded body is unchanged.
//!
//! The encoder has no reset, so each response makes its own state; at the default quality
//! (4) its tables are allocated lazily and sized to the window, which `size_hint` keeps small
//! for a whole body.

use brotli::enc::encode::BrotliEncoderParameter;
use brotli::enc::encode::{BrotliEncoderOperation, BrotliEncoderStateStruct};
use brotli::enc::StandardAlloc;

/// The longest metadata a meta-block carries (RFC 7932 §9.2: MSKIPLEN up to 2^24).
const MAX_METADATA: usize = 1 << 24;

pub struct BrotliStream {
    state: Box<BrotliEncoderStateStruct<StandardAlloc>>,
    /// The state refused an operation (it cannot here, but a broken stream stops quietly:
    /// the body then ends early, never a panic).
    broken: bool,
}

impl BrotliStream {
    /// `size_hint`: the body's length when it is known whole (0: a stream).
    pub fn new(quality: u32, size_hint: usize, padding: Option<Vec<u8>>) -> (Self, Vec<u8>) {
        let mut state = Box::new(BrotliEncoderStateStruct::new(StandardAlloc::default()));
        state.set_parameter(
            BrotliEncoderParameter::BROTLI_PARAM_QUALITY,
            quality.min(11),
        );
        if size_hint > 0 {
            let hint = u32::try_from(size_hint).unwrap_or(u32::MAX);
            state.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_SIZE_HINT, hint);
            // The smallest window that holds the body (10 to 24 bits, RFC 7932 §9.1).
            let bits = (usize::BITS - size_hint.leading_zeros()).clamp(10, 22);
            state.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_LGWIN, bits);
        }
        let mut stream = BrotliStream {
            state,
            broken: false,
        };
        let mut out = Vec::new();
        if let Some(mut padding) = padding.filter(|p| !p.is_empty() && p.len() <= MAX_METADATA) {
            // The brotli crate (9.1) writes a one-byte metadata block with a length field
            // that says none, and the stream no longer decodes: one byte becomes two.
            if padding.len() == 1 {
                padding.extend_from_within(..);
            }
            stream.run(
                BrotliEncoderOperation::BROTLI_OPERATION_EMIT_METADATA,
                &padding,
                &mut out,
            );
        }
        (stream, out)
    }

    fn run(&mut self, op: BrotliEncoderOperation, input: &[u8], out: &mut Vec<u8>) {
        if self.broken {
            return;
        }
        let mut available_in = input.len();
        let mut in_offset = 0;
        loop {
            let room = (available_in / 2).clamp(1024, 1 << 16);
            let start = out.len();
            out.resize(start + room, 0);
            let mut available_out = room;
            let mut out_offset = start;
            let mut total = None;
            let ok = self.state.compress_stream(
                op,
                &mut available_in,
                input,
                &mut in_offset,
                &mut available_out,
                out,
                &mut out_offset,
                &mut total,
                &mut |_, _, _, _| (),
            );
            out.truncate(out_offset);
            if !ok {
                self.broken = true;
                return;
            }
            let pending = self.state.has_more_output();
            let done = match op {
                BrotliEncoderOperation::BROTLI_OPERATION_FINISH => {
                    self.state.is_finished() && !pending
                }
                _ => available_in == 0 && !pending,
            };
            if done {
                return;
            }
        }
    }

    pub fn write(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.run(BrotliEncoderOperation::BROTLI_OPERATION_PROCESS, chunk, out);
    }

    /// Everything written so far becomes decodable now.
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        self.run(BrotliEncoderOperation::BROTLI_OPERATION_FLUSH, &[], out);
    }

    pub fn finish(mut self, out: &mut Vec<u8>) {
        self.run(BrotliEncoderOperation::BROTLI_OPERATION_FINISH, &[], out);
    }
}

/// One whole body.
pub fn brotli_all(body: &[u8], quality: u32, padding: Option<Vec<u8>>, out: &mut Vec<u8>) {
    let (mut stream, head) = BrotliStream::new(quality, body.len().max(1), padding);
    out.extend_from_slice(&head);
    out.reserve(body.len() / 3 + 64);
    stream.write(body, out);
    stream.finish(out);
}

#[cfg(test)]
#[path = "brotli_tests.rs"]
mod tests;
