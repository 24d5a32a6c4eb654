//! `Range: bytes=...` of a request for a representation of known length (RFC 9110 §14),
//! one range at a time, as WhiteNoise and most static servers do. Pure, linear in the
//! header's length.
//!
//! - A single satisfiable range (`a-b`, `a-`, `-n`) gives a 206 of those bytes.
//! - A single unsatisfiable one (starts at or past the end, or `-0`) gives a 416.
//! - Anything else (another unit, several ranges, bad syntax) is ignored: the full 200, as
//!   §14.2 allows ("a server MAY ignore the Range header field").

/// What a request's Range asks of a representation of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// Ignore it: send the whole representation.
    Full,
    /// Send bytes `start..=end` (inclusive, `end < len`).
    Partial { start: u64, end: u64 },
    /// 416, with `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// The longest Range value read; longer ones are ignored (a real client's single range is
/// a few dozen bytes).
const MAX_RANGE_HEADER: usize = 256;

pub fn byte_range(header: Option<&str>, len: u64) -> ByteRange {
    let Some(header) = header else {
        return ByteRange::Full;
    };
    if header.len() > MAX_RANGE_HEADER {
        return ByteRange::Full;
    }
    let Some((unit, spec)) = header.split_once('=') else {
        return ByteRange::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return ByteRange::Full;
    }
    let spec = spec.trim();
    if spec.contains(',') {
        // Several ranges: a multipart/byteranges answer is not offered.
        return ByteRange::Full;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return ByteRange::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let number = |text: &str| -> Option<u64> {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u64>().unwrap_or(u64::MAX))
    };
    if first.is_empty() {
        // `-n`: the last n bytes.
        return match number(last) {
            Some(0) => ByteRange::Unsatisfiable,
            Some(_) if len == 0 => ByteRange::Unsatisfiable,
            Some(suffix) => ByteRange::Partial {
                start: len.saturating_sub(suffix),
                end: len - 1,
            },
            None => ByteRange::Full,
        };
    }
    let Some(start) = number(first) else {
        return ByteRange::Full;
    };
    // `a-` runs to the end; `a-b` needs digits after the dash.
    let end = if last.is_empty() {
        None
    } else {
        match number(last) {
            Some(end) => Some(end),
            None => return ByteRange::Full,
        }
    };
    if end.is_some_and(|end| end < start) {
        return ByteRange::Full;
    }
    if start >= len {
        return ByteRange::Unsatisfiable;
    }
    ByteRange::Partial {
        start,
        end: end.map_or(len - 1, |end| end.min(len - 1)),
    }
}

#[cfg(test)]
#[path = "range_tests.rs"]
mod tests;
