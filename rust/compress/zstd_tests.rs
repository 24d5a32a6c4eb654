//! Unit tests for `zstd.rs`, against the zstd library's own decoder.

use super::*;

fn body() -> Vec<u8> {
    (0..20_000u32)
        .flat_map(|i| format!("<li>{i}</li>").into_bytes())
        .collect()
}

fn unzstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::decode_all(data).expect("a valid zstd stream")
}

#[test]
fn whole_and_streamed_roundtrip_at_several_levels() {
    let body = body();
    for level in [1, 3, 9, 19] {
        let mut whole = Vec::new();
        zstd_all(&body, level, None, &mut whole);
        assert_eq!(unzstd(&whole), body, "whole, level {level}");
        assert!(whole.len() < body.len() / 3);
        let mut out = Vec::new();
        let mut stream = ZstdStream::new(level, None);
        for chunk in body.chunks(777) {
            stream.write(chunk, &mut out);
        }
        stream.finish(&mut out);
        assert_eq!(unzstd(&out), body, "streamed, level {level}");
    }
}

#[test]
fn a_flush_makes_everything_so_far_decodable() {
    let mut out = Vec::new();
    let mut stream = ZstdStream::new(3, None);
    let mut sent = Vec::new();
    for event in ["data: one\n\n", "data: two\n\n", "data: three\n\n"] {
        stream.write(event.as_bytes(), &mut out);
        stream.flush(&mut out);
        sent.extend_from_slice(event.as_bytes());
        // A streaming decoder given only the bytes out so far yields every event so far.
        let mut decoder = zstd::stream::raw::Decoder::new().unwrap();
        let mut decoded = vec![0u8; 1024];
        let mut input = zstd::stream::raw::InBuffer::around(&out);
        let mut output = zstd::stream::raw::OutBuffer::around(&mut decoded[..]);
        zstd::stream::raw::Operation::run(&mut decoder, &mut input, &mut output).unwrap();
        let n = output.pos();
        assert_eq!(&decoded[..n], &sent[..]);
    }
}

#[test]
fn padding_is_a_skippable_frame_the_decoder_skips() {
    let body = body();
    let mut plain = Vec::new();
    zstd_all(&body, 3, None, &mut plain);
    for len in [0, 1, 100] {
        let mut padded = Vec::new();
        zstd_all(&body, 3, Some(vec![b'x'; len]), &mut padded);
        assert_eq!(padded.len(), plain.len() + 8 + len);
        assert_eq!(unzstd(&padded), body);
    }
}

#[test]
fn an_abandoned_stream_leaves_a_reusable_context() {
    let body = body();
    {
        let mut out = Vec::new();
        let mut stream = ZstdStream::new(3, None);
        stream.write(&body[..5000], &mut out);
        // dropped mid-frame: the context goes back to the pool
    }
    let mut out = Vec::new();
    zstd_all(&body, 3, None, &mut out);
    assert_eq!(unzstd(&out), body);
}
