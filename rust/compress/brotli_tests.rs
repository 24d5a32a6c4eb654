//! Unit tests for `brotli.rs`, against the brotli crate's decoder.

use std::io::Read;

use super::*;

fn body() -> Vec<u8> {
    (0..20_000u32)
        .flat_map(|i| format!("<li>{i}</li>").into_bytes())
        .collect()
}

fn unbrotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match brotli::Decompressor::new(data, 4096).read_to_end(&mut out) {
        Ok(_) => out,
        Err(err) => panic!(
            "not a valid brotli stream ({err}): {:?}",
            &data[..data.len().min(24)]
        ),
    }
}

#[test]
fn whole_and_streamed_roundtrip_at_several_qualities() {
    let body = body();
    for quality in [0, 1, 4, 9, 11] {
        let mut whole = Vec::new();
        brotli_all(&body, quality, None, &mut whole);
        assert_eq!(unbrotli(&whole), body, "whole, quality {quality}");
        let (mut stream, mut out) = BrotliStream::new(quality, 0, None);
        for chunk in body.chunks(777) {
            stream.write(chunk, &mut out);
        }
        stream.finish(&mut out);
        assert_eq!(unbrotli(&out), body, "streamed, quality {quality}");
    }
    let mut empty = Vec::new();
    brotli_all(b"", 4, None, &mut empty);
    assert_eq!(unbrotli(&empty), b"");
}

#[test]
fn a_flush_makes_everything_so_far_decodable() {
    let (mut stream, mut out) = BrotliStream::new(4, 0, None);
    let mut sent = Vec::new();
    for event in ["data: one\n\n", "data: two\n\n", "data: three\n\n"] {
        stream.write(event.as_bytes(), &mut out);
        stream.flush(&mut out);
        sent.extend_from_slice(event.as_bytes());
        // A streaming decoder given only the bytes out so far yields every event so far.
        let mut decoder = brotli::Decompressor::new(&out[..], 4096);
        let mut decoded = vec![0u8; sent.len()];
        decoder.read_exact(&mut decoded).unwrap();
        assert_eq!(decoded, sent);
    }
}

#[test]
fn padding_is_metadata_the_decoder_skips() {
    let body = body();
    let mut plain = Vec::new();
    brotli_all(&body, 4, None, &mut plain);
    for quality in [0, 1, 4, 11] {
        let mut padded = Vec::new();
        brotli_all(&body, quality, Some(vec![b'z'; 33]), &mut padded);
        assert_eq!(unbrotli(&padded), body, "quality {quality}");
    }
    for len in [1, 2, 100, 4096] {
        let mut padded = Vec::new();
        brotli_all(&body, 4, Some(vec![b'x'; len]), &mut padded);
        assert!(padded.len() >= plain.len() + len, "{len}");
        assert_eq!(unbrotli(&padded), body, "whole, {len}");
        let (mut stream, mut out) = BrotliStream::new(4, 0, Some(vec![b'y'; len]));
        stream.write(&body, &mut out);
        stream.finish(&mut out);
        assert_eq!(unbrotli(&out), body, "streamed, {len}");
    }
}
