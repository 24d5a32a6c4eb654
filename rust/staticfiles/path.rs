//! Which file under `root` a request path names, if any (pure: no pyo3, no file system).
//!
//! The part of PATH_INFO after the prefix is split on `/` into segments, each checked on
//! its own; a request is refused, never "cleaned up", when any segment could step outside
//! `root` or name something not served:
//! - an empty segment (`//`, a leading `/`: `/static//etc/passwd`), `.` or `..`;
//! - a dotfile or dot-directory (`.env`, `.git/config`);
//! - a backslash (a Windows separator), a NUL, any other control character;
//! - a `%` escape that decodes to `/`, `\`, `.`, NUL or `%` (a server that leaves PATH_INFO
//!   undecoded, or a client that encoded twice: `%2e%2e`, `%252e`);
//! - more than 255 bytes in a segment, more than 1024 in all, more than 32 segments.
//!
//! PATH_INFO holds the request's bytes as code points (PEP 3333: latin-1), so a segment is
//! those bytes; file names are compared as bytes.

/// The longest relative path served, in bytes, and the most segments.
pub const MAX_PATH: usize = 1024;
pub const MAX_SEGMENTS: usize = 32;
/// The longest file name (most file systems' limit).
pub const MAX_SEGMENT: usize = 255;

/// Why a path is not served (the request then goes to the app, or gets a 404: the caller
/// decides; the reason is for tests and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Empty,
    EmptySegment,
    DotSegment,
    Dotfile,
    Separator,
    Control,
    Escape,
    TooLong,
}

/// Whether `relative` passes [`segments`], without collecting them.
pub fn check(relative: &[u8]) -> Result<(), Refused> {
    if relative.is_empty() {
        return Err(Refused::Empty);
    }
    if relative.len() > MAX_PATH {
        return Err(Refused::TooLong);
    }
    for (n, segment) in relative.split(|&b| b == b'/').enumerate() {
        if n == MAX_SEGMENTS {
            return Err(Refused::TooLong);
        }
        check_segment(segment)?;
    }
    Ok(())
}

/// The segments of a relative path under the root, as bytes: `["css", "site.css"]`.
pub fn segments(relative: &[u8]) -> Result<Vec<&[u8]>, Refused> {
    if relative.is_empty() {
        return Err(Refused::Empty);
    }
    if relative.len() > MAX_PATH {
        return Err(Refused::TooLong);
    }
    let mut out = Vec::new();
    for segment in relative.split(|&b| b == b'/') {
        if out.len() == MAX_SEGMENTS {
            return Err(Refused::TooLong);
        }
        check_segment(segment)?;
        out.push(segment);
    }
    Ok(out)
}

fn check_segment(segment: &[u8]) -> Result<(), Refused> {
    if segment.is_empty() {
        return Err(Refused::EmptySegment);
    }
    if segment.len() > MAX_SEGMENT {
        return Err(Refused::TooLong);
    }
    if segment == b"." || segment == b".." {
        return Err(Refused::DotSegment);
    }
    if segment.first() == Some(&b'.') {
        return Err(Refused::Dotfile);
    }
    for (i, &byte) in segment.iter().enumerate() {
        match byte {
            b'\\' => return Err(Refused::Separator),
            0..=0x1f | 0x7f => return Err(Refused::Control),
            b'%' => {
                let escaped = segment
                    .get(i + 1..i + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                if matches!(escaped, Some(b'/' | b'\\' | b'.' | 0 | b'%')) {
                    return Err(Refused::Escape);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A name as bundlers and Django's `ManifestStaticFilesStorage` write them:
/// `name.<8 or more hex digits>.ext` (`app.3f2a9b1c8d7e.css`, `main.a1b2c3d4.chunk.js`).
/// Such a file never changes under its name, so it may be cached for a year, immutable.
pub fn is_hashed_name(name: &[u8]) -> bool {
    let parts: Vec<&[u8]> = name.split(|&b| b == b'.').collect();
    // The parts between the first and the last: neither the name nor the extension.
    let middle = parts
        .get(1..parts.len().saturating_sub(1))
        .unwrap_or_default();
    middle
        .iter()
        .any(|part| part.len() >= 8 && part.iter().all(u8::is_ascii_hexdigit))
}

#[cfg(test)]
#[path = "path_tests.rs"]
mod tests;
