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

/// The inverse of [`decode_path`]: a path written in Unicode as PEP 3333 servers give it in
/// PATH_INFO (its UTF-8 bytes as latin-1 characters), so a mount prefix such as `/café` is
/// compared with the raw PATH_INFO of a request for `/caf%C3%A9`.
pub fn wsgi_path(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.bytes().map(char::from).collect())
}

/// The longest of `prefixes` that `path` starts with on a segment boundary (Werkzeug's
/// DispatcherMiddleware rule), found by `lookup`, with its length in `path`. `longest` is the
/// length of the longest prefix there is: only candidates no longer are looked up, so the
/// cost is bounded by the mounts, whatever the path's length (a path of n segments looked
/// up whole, then one segment shorter each time, cost O(n^2) in hashing).
pub fn longest_prefix<'a, T>(
    path: &str,
    longest: usize,
    mut lookup: impl FnMut(&str) -> Option<&'a T>,
) -> Option<(&'a T, usize)> {
    let mut script = path;
    if script.len() > longest {
        // The longest candidate that fits ends at a "/" at or before `longest`.
        let mut end = longest.saturating_add(1);
        while end > 0 && !path.is_char_boundary(end) {
            end -= 1;
        }
        let cut = path.get(..end).and_then(|head| head.rfind('/'));
        script = cut.and_then(|i| path.get(..i)).unwrap_or("");
    }
    while script.contains('/') {
        if let Some(found) = lookup(script) {
            return Some((found, script.len()));
        }
        script = script
            .rfind('/')
            .and_then(|i| script.get(..i))
            .unwrap_or("");
    }
    None
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

/// Append `%HH` for `byte` (no formatting machinery: a long hostile query is all escapes).
fn push_escape(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0xF)]));
}

fn encode_bytes(bytes: impl Iterator<Item = u8>, kept: Keep) -> String {
    let mut out = String::new();
    for byte in bytes {
        if keep(byte, kept) {
            out.push(char::from(byte));
        } else {
            push_escape(&mut out, byte);
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

/// Percent-encode a raw QUERY_STRING for a URL we emit: it arrives already encoded, so "%"
/// and everything RFC 3986 allows in a query stay; control characters, spaces, quotes and
/// other bytes that a header or URL must not carry raw are encoded. Chars up to U+00FF are
/// their latin-1 byte (PEP 3333), wider ones (no PEP 3333 server sends them) UTF-8.
pub fn quote_query(text: &str) -> String {
    let kept = |b: u8| keep(b, Keep::Path) || b == b'?' || b == b'%';
    let mut out = String::with_capacity(text.len());
    let mut utf8 = [0u8; 4];
    for c in text.chars() {
        let bytes: &[u8] = match u8::try_from(u32::from(c)) {
            Ok(byte) => {
                utf8[0] = byte;
                utf8.get(..1).unwrap_or_default()
            }
            Err(_) => c.encode_utf8(&mut utf8).as_bytes(),
        };
        for &byte in bytes {
            if kept(byte) {
                out.push(char::from(byte));
            } else {
                push_escape(&mut out, byte);
            }
        }
    }
    out
}

/// A URI scheme (RFC 3986 §3.1): a letter, then letters, digits, "+", "-", ".".
pub fn is_scheme(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// A Host we can put in a URL as it is: a reg-name, IPv4 or IP-literal with an optional
/// port (RFC 3986 §3.2.2 characters, no userinfo "@"). Anything else (control characters,
/// spaces, "/", "\\", non-ASCII) is refused, and the caller builds a relative URL instead.
pub fn is_authority(text: &[u8]) -> bool {
    !text.is_empty()
        && text
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:[]%".contains(&b))
}

#[cfg(test)]
#[path = "url_tests.rs"]
mod tests;
