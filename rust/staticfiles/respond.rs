//! What `Static` answers for one file (pure): status, headers, which bytes of which file.
//!
//! - GET and HEAD are served; any other method gets 405 with `Allow: GET, HEAD`.
//! - The representation: a precompressed sibling the client accepts (q-values, then the
//!   order of `encodings`), else the file itself. A Range request always gets the file
//!   itself, so byte positions mean the same for every client.
//! - RFC 9110 §13.2.2's order: `If-Match` (or, without it, `If-Unmodified-Since`) that
//!   fails: 412; then `If-None-Match` (or, without it, `If-Modified-Since`) that matches:
//!   304.
//! - `Range: bytes=` (one range) on a GET: 206 with Content-Range, or 416 with `bytes */N`,
//!   unless `If-Range` names another validator (then the whole file, 200). A HEAD ignores
//!   Range (§14.2: range handling is defined for GET only).
//! - Every response of a file with siblings says `Vary: Accept-Encoding`.

use std::borrow::Cow;

use super::index::{FileEntry, Variant};
use crate::http::accept_encoding::{negotiate, Coding};
use crate::http::conditional::{not_modified, precondition_failed};
use crate::http::http_date::parse_http_date;
use crate::http::range::{byte_range, ByteRange};

pub struct Options {
    pub max_age: u64,
    pub immutable_max_age: u64,
    /// The codings whose siblings may be served, in order of preference.
    pub encodings: Vec<Coding>,
    /// The two Cache-Control values, made once.
    pub cache_control: String,
    pub cache_control_immutable: String,
}

impl Options {
    pub fn new(max_age: u64, immutable_max_age: u64, encodings: Vec<Coding>) -> Options {
        Options {
            max_age,
            immutable_max_age,
            encodings,
            cache_control: format!("public, max-age={max_age}"),
            cache_control_immutable: format!("public, max-age={immutable_max_age}, immutable"),
        }
    }
}

/// The request, as far as a file's response depends on it.
#[derive(Default)]
pub struct Ask<'a> {
    pub method: &'a str,
    pub accept_encoding: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<&'a str>,
    pub range: Option<&'a str>,
    pub if_range: Option<&'a str>,
    pub if_match: Option<&'a str>,
    pub if_unmodified_since: Option<&'a str>,
}

/// Which bytes go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    None,
    /// `len` bytes of `file` from `start` (the whole file: start 0, its size).
    File {
        file: &'a Variant,
        start: u64,
        len: u64,
    },
    /// The 405's short text.
    Text(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply<'a> {
    pub status: &'static str,
    /// Values borrowed from the entry and the options where they are fixed.
    pub headers: Vec<(&'static str, Cow<'a, str>)>,
    pub body: Body<'a>,
}

pub const NOT_ALLOWED: &str = "Method Not Allowed\n";
pub const FAILED: &str = "Precondition Failed\n";

pub fn respond<'a>(entry: &'a FileEntry, ask: &Ask<'_>, options: &'a Options) -> Reply<'a> {
    // A sibling that may be served makes the response depend on Accept-Encoding.
    let vary = entry
        .siblings
        .iter()
        .any(|(coding, _)| options.encodings.contains(coding));
    let head = ask.method == "HEAD";
    if ask.method != "GET" && !head {
        let mut headers = vec![
            ("Allow", Cow::Borrowed("GET, HEAD")),
            ("Content-Type", Cow::Borrowed("text/plain; charset=utf-8")),
            ("Content-Length", Cow::Owned(NOT_ALLOWED.len().to_string())),
        ];
        if vary {
            headers.push(("Vary", Cow::Borrowed("Accept-Encoding")));
        }
        return Reply {
            status: "405 Method Not Allowed",
            headers,
            body: Body::Text(NOT_ALLOWED),
        };
    }
    let (coding, variant) = choose(entry, ask, options);
    let cache_control = if entry.immutable {
        &options.cache_control_immutable
    } else {
        &options.cache_control
    };
    // The validators and caching headers every answer carries (a 304 included).
    let mut headers = Vec::with_capacity(10);
    headers.push(("Cache-Control", Cow::Borrowed(cache_control.as_str())));
    headers.push(("ETag", Cow::Borrowed(variant.etag.as_str())));
    headers.push((
        "Last-Modified",
        Cow::Borrowed(variant.last_modified.as_str()),
    ));
    if vary {
        headers.push(("Vary", Cow::Borrowed("Accept-Encoding")));
    }
    let unmodified_since = ask.if_unmodified_since.and_then(parse_http_date);
    if precondition_failed(ask.if_match, unmodified_since, &variant.etag, variant.mtime) {
        headers.push(("Content-Type", Cow::Borrowed("text/plain; charset=utf-8")));
        headers.push(("Content-Length", Cow::Owned(FAILED.len().to_string())));
        return Reply {
            status: "412 Precondition Failed",
            headers,
            body: Body::Text(FAILED),
        };
    }
    let since = ask.if_modified_since.and_then(parse_http_date);
    if not_modified(
        ask.if_none_match,
        since,
        Some(&variant.etag),
        Some(variant.mtime),
    ) {
        return Reply {
            status: "304 Not Modified",
            headers,
            body: Body::None,
        };
    }
    headers.push(("Content-Type", Cow::Borrowed(entry.content_type.as_str())));
    headers.push(("Accept-Ranges", Cow::Borrowed("bytes")));
    if let Some(coding) = coding {
        headers.push(("Content-Encoding", Cow::Borrowed(coding.token())));
    }
    let size = variant.size;
    let range = match ask.range {
        Some(_) if !head && if_range_holds(ask.if_range, variant) => byte_range(ask.range, size),
        _ => ByteRange::Full,
    };
    let (status, start, len) = match range {
        ByteRange::Full => ("200 OK", 0, size),
        ByteRange::Partial { start, end } => {
            headers.push((
                "Content-Range",
                Cow::Owned(format!("bytes {start}-{end}/{size}")),
            ));
            ("206 Partial Content", start, end - start + 1)
        }
        ByteRange::Unsatisfiable => {
            headers.push(("Content-Range", Cow::Owned(format!("bytes */{size}"))));
            headers.push(("Content-Length", Cow::Borrowed("0")));
            return Reply {
                status: "416 Range Not Satisfiable",
                headers,
                body: Body::None,
            };
        }
    };
    headers.push(("Content-Length", Cow::Owned(len.to_string())));
    Reply {
        status,
        headers,
        body: if head {
            Body::None
        } else {
            Body::File {
                file: variant,
                start,
                len,
            }
        },
    }
}

/// The sibling to send, or the file itself (a Range request: always the file).
fn choose<'a>(
    entry: &'a FileEntry,
    ask: &Ask<'_>,
    options: &Options,
) -> (Option<Coding>, &'a Variant) {
    if (ask.range.is_some() && ask.method == "GET") || entry.siblings.is_empty() {
        return (None, &entry.file);
    }
    let offered: Vec<Coding> = options
        .encodings
        .iter()
        .copied()
        .filter(|c| entry.siblings.iter().any(|(s, _)| s == c))
        .collect();
    match negotiate(ask.accept_encoding, &offered) {
        Some(coding) => match entry.siblings.iter().find(|(s, _)| *s == coding) {
            Some((_, sibling)) => (Some(coding), sibling),
            None => (None, &entry.file),
        },
        None => (None, &entry.file),
    }
}

/// RFC 9110 §13.1.5: a Range is honoured when If-Range is absent, names the current strong
/// ETag, or is the file's exact Last-Modified date.
fn if_range_holds(if_range: Option<&str>, file: &Variant) -> bool {
    let Some(value) = if_range.map(str::trim) else {
        return true;
    };
    if value.starts_with('"') {
        return value == file.etag;
    }
    if value.starts_with("W/") {
        return false;
    }
    parse_http_date(value) == Some(file.mtime)
}

#[cfg(test)]
#[path = "respond_tests.rs"]
mod tests;
