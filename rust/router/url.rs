//! Path text: PEP 3333's latin-1 PATH_INFO to UTF-8, and percent-encoding for URLs we build.
//! Pure (no pyo3).

use std::borrow::Cow;

/// PATH_INFO holds the request's bytes as latin-1 characters (PEP 3333); routes are written
/// in Unicode. Reinterpret those bytes as UTF-8 (invalid sequences become U+FFFD, as
/// Werkzeug does). ASCII, the usual case, is returned as is.
pub fn decode_path(raw: &str) -> Cow<'_, str> {
    if raw.is_ascii() {
        return Cow::Borrowed(raw);
    }
    // A char above U+00FF cannot come from a PEP 3333 server; keep such text as it is.
    if raw.chars().any(|c| u32::from(c) > 0xFF) {
        return Cow::Borrowed(raw);
    }
    let bytes: Vec<u8> = raw
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect();
    Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
}

/// What stays unencoded.
#[derive(Clone, Copy)]
enum Keep {
    /// RFC 3986 `pchar` minus "%": what a path segment may hold.
    Segment,
    /// `pchar` and "/": a path.
    Path,
    /// Unreserved characters only: a query name or value ("+", "&", "=" mean something there).
    Query,
}

fn keep(byte: u8, keep: Keep) -> bool {
    let unreserved = byte.is_ascii_alphanumeric() || b"-._~".contains(&byte);
    match keep {
        Keep::Query => unreserved,
        Keep::Segment => unreserved || b"!$&'()*+,;=:@".contains(&byte),
        Keep::Path => unreserved || b"!$&'()*+,;=:@/".contains(&byte),
    }
}

fn encode_bytes(bytes: impl Iterator<Item = u8>, kept: Keep) -> String {
    let mut out = String::new();
    for byte in bytes {
        if keep(byte, kept) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Percent-encode text as UTF-8 for a URL path; `slash` keeps "/" (path parameters).
pub fn percent_encode(text: &str, slash: bool) -> String {
    encode_bytes(text.bytes(), if slash { Keep::Path } else { Keep::Segment })
}

/// Percent-encode a query-string name or value (UTF-8, unreserved characters kept).
pub fn encode_query(text: &str) -> String {
    encode_bytes(text.bytes(), Keep::Query)
}

/// Percent-encode PEP 3333 latin-1 text (SCRIPT_NAME, PATH_INFO) byte for byte, keeping "/",
/// as `wsgiref.util.request_uri` does.
pub fn quote_latin1(text: &str) -> String {
    encode_bytes(
        text.chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
        Keep::Path,
    )
}

#[cfg(test)]
#[path = "url_tests.rs"]
mod tests;
