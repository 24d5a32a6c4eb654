//! Conditional requests (RFC 9110 §13): a response whose validators satisfy If-None-Match /
//! If-Modified-Since is answered 304 (by Cache from a stored entry, by Static from a file);
//! one whose validators fail If-Match / If-Unmodified-Since is a 412 (Static).

use crate::http::cache_control::split_outside_quotes;

/// An entity-tag without its weakness flag, for weak comparison (RFC 9110 §8.8.3.2: equal
/// opaque tags, whether either is weak); None when it is not a quoted tag.
fn opaque(tag: &str) -> Option<&str> {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    (tag.starts_with('"') && tag.len() >= 2).then_some(tag)
}

/// Split an entity-tag list on commas outside quotes (a tag may contain a comma).
fn entity_tags(list: &str) -> Vec<&str> {
    split_outside_quotes(list, false)
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

/// Should a request with these preconditions get 304 for a stored response with these
/// validators? If-None-Match, when present, decides alone (§13.2.2: If-Modified-Since is then
/// ignored); If-Modified-Since counts only with a valid date and a Last-Modified.
pub fn not_modified(
    if_none_match: Option<&str>,
    if_modified_since: Option<i64>,
    etag: Option<&str>,
    last_modified: Option<i64>,
) -> bool {
    if let Some(list) = if_none_match {
        let tags = entity_tags(list);
        return match etag {
            _ if tags == ["*"] => true,
            // The stored tag is read once: each listed tag costs its own length.
            Some(etag) => {
                opaque(etag).is_some_and(|etag| tags.iter().any(|tag| opaque(tag) == Some(etag)))
            }
            None => false,
        };
    }
    match (if_modified_since, last_modified) {
        (Some(since), Some(modified)) => modified <= since,
        _ => false,
    }
}

/// Does the client's If-None-Match hold the weak form `W/"x"` of this strong ETag `"x"`
/// (and not `"x"` itself)? Then the response the client stored was the weakened one a
/// transforming layer (Compress) sent for `"x"`, and a 304 for it must say `W/"x"` too.
pub fn holds_weakened(if_none_match: &str, etag: &str) -> bool {
    let etag = etag.trim();
    if !etag.starts_with('"') || etag.len() < 2 {
        return false;
    }
    let tags = entity_tags(if_none_match);
    tags.iter()
        .any(|tag| tag.strip_prefix("W/").is_some_and(|strong| strong == etag))
        && !tags.contains(&etag)
}

/// Should a request with these preconditions get 412 (RFC 9110 §13.2.2 steps 1-2)?
/// If-Match, when present, decides alone: `*`, or one listed tag equal to the current
/// strong ETag by strong comparison (a weak tag never matches); otherwise an
/// If-Unmodified-Since with a valid date fails when the representation is newer.
pub fn precondition_failed(
    if_match: Option<&str>,
    if_unmodified_since: Option<i64>,
    etag: &str,
    last_modified: i64,
) -> bool {
    if let Some(list) = if_match {
        let tags = entity_tags(list);
        if tags == ["*"] {
            return false;
        }
        let strong = |tag: &str| tag.starts_with('"') && tag.len() >= 2;
        return !(strong(etag) && tags.iter().any(|tag| strong(tag) && *tag == etag));
    }
    if_unmodified_since.is_some_and(|since| last_modified > since)
}

/// Header fields a 304 carries (RFC 9110 §15.4.5): the ones a 200 would have sent among
/// these, and never a body or Content-Type.
pub const NOT_MODIFIED_FIELDS: [&str; 6] = [
    "cache-control",
    "content-location",
    "date",
    "etag",
    "expires",
    "vary",
];

pub fn kept_in_not_modified(name: &str) -> bool {
    NOT_MODIFIED_FIELDS
        .iter()
        .any(|field| field.eq_ignore_ascii_case(name))
}

#[cfg(test)]
#[path = "conditional_tests.rs"]
mod tests;
