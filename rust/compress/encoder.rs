//! One interface over the three encoders: a stream (write, flush, finish) and a whole body
//! in one shot, with the BREACH padding each coding carries in its own way.

use super::brotli::{brotli_all, BrotliStream};
use super::config::CompressConfig;
use super::gzip::{breach_name, gzip_all, GzipStream};
use super::zstd::{zstd_all, ZstdStream};
use crate::http::accept_encoding::Coding;

/// Bytes of one coding, handed out as soon as the encoder produces them.
pub enum Stream {
    Gzip(GzipStream),
    Zstd(ZstdStream),
    Br(BrotliStream),
}

impl Stream {
    /// A new stream of `coding` at the config's level; what goes before the first data (the
    /// brotli padding) is appended to `out`.
    pub fn new(coding: Coding, config: &CompressConfig, out: &mut Vec<u8>) -> Stream {
        let padding = breach_name(config.breach_padding);
        match coding {
            Coding::Gzip => Stream::Gzip(GzipStream::new(config.gzip_level, padding)),
            Coding::Zstd => Stream::Zstd(ZstdStream::new(config.zstd_level, padding)),
            Coding::Br => {
                let (stream, head) = BrotliStream::new(config.brotli_quality, 0, padding);
                out.extend_from_slice(&head);
                Stream::Br(stream)
            }
        }
    }

    pub fn write(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        match self {
            Stream::Gzip(stream) => stream.write(chunk, out),
            Stream::Zstd(stream) => stream.write(chunk, out),
            Stream::Br(stream) => stream.write(chunk, out),
        }
    }

    /// Everything written so far becomes decodable by the client now.
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        match self {
            Stream::Gzip(stream) => stream.flush(out),
            Stream::Zstd(stream) => stream.flush(out),
            Stream::Br(stream) => stream.flush(out),
        }
    }

    pub fn finish(self, out: &mut Vec<u8>) {
        match self {
            Stream::Gzip(stream) => stream.finish(out),
            Stream::Zstd(stream) => stream.finish(out),
            Stream::Br(stream) => stream.finish(out),
        }
    }
}

/// A whole body in `coding`, in one shot.
pub fn compress_all(coding: Coding, config: &CompressConfig, body: &[u8], out: &mut Vec<u8>) {
    let padding = breach_name(config.breach_padding);
    match coding {
        Coding::Gzip => gzip_all(body, config.gzip_level, padding, out),
        Coding::Zstd => zstd_all(body, config.zstd_level, padding, out),
        Coding::Br => brotli_all(body, config.brotli_quality, padding, out),
    }
}

/// How much CPU one input byte costs `coding` at `level`, relative to a literal scan (the
/// GIL-release threshold's unit). Measured here: zlib-rs level 6 about 50 MB/s, zstd level 3
/// several hundred, brotli quality 4 about 100, a literal scan over 1.5 GB/s.
pub fn work_per_byte(coding: Coding, level: i32) -> usize {
    match coding {
        Coding::Gzip => 32,
        Coding::Zstd if level <= 3 => 4,
        Coding::Zstd => 16,
        Coding::Br if level <= 4 => 16,
        Coding::Br => 64,
    }
}
