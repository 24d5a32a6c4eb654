//! What a hit sends (pure: no pyo3): the stored response, or a 304 Not Modified when the
//! request's preconditions say the client's copy is current. `py.rs` builds the Python
//! objects of the answer from the stored entry's fields for each.

use std::borrow::Cow;

use crate::http::conditional::not_modified;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sends {
    /// The stored head (with its added Content-Length, if any) and body.
    Stored,
    /// A 304: the fields a 304 keeps (RFC 9110 §15.4.5), no Content-Length, no body.
    NotModified,
}

/// The stored response's validators.
pub struct Validators<'a> {
    pub code: u16,
    pub etag: Option<&'a str>,
    pub last_modified: Option<i64>,
}

/// What a hit sends a request; `conditional`: it has If-None-Match or If-Modified-Since,
/// which `preconditions` reads (their values, only when they are evaluated).
///
/// RFC 9110 §13.2.1: a cache evaluates the preconditions only when the response it would
/// send is 2xx; a stored 404 answers a conditional request with the 404.
pub fn sends<'a>(
    conditional: bool,
    stored: &Validators<'_>,
    preconditions: impl FnOnce() -> (Option<Cow<'a, str>>, Option<i64>),
) -> Sends {
    if !conditional || !(200..300).contains(&stored.code) {
        return Sends::Stored;
    }
    let (if_none_match, if_modified_since) = preconditions();
    if not_modified(
        if_none_match.as_deref(),
        if_modified_since,
        stored.etag,
        stored.last_modified,
    ) {
        Sends::NotModified
    } else {
        Sends::Stored
    }
}

#[cfg(test)]
#[path = "hit_tests.rs"]
mod tests;
