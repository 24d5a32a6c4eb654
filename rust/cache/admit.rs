//! What a record read back from a shared store must be before it is served: a record this
//! Cache's store path could have written.
//!
//! Defence in depth. Decoding (entry.rs) refuses bytes that are no record, but a shared
//! Redis is often written by more than one program (other apps, another version of this
//! one, an operator's redis-cli), and a well-formed record Cache never writes still breaks
//! the response a hit sends: a stored `100 Continue` goes out as the final response and the
//! client reads the next response as this one's body; a stored Content-Length beside the
//! one a hit adds makes two; a stored Set-Cookie is replayed to every client; a stored Age
//! or X-Cache goes out twice. So after decoding, everything the store path enforces on the
//! way in is checked again on the way out.
//!
//! Pure (no pyo3). The store path applies the same rules when it stores ([`never_stored`],
//! [`declared_length`], `freshness::response_storable`), so everything it writes is
//! admitted. A refused record is a miss: the app answers and its response overwrites the
//! record.
//!
//! [`never_stored`]: Admission::never_stored

use std::fmt;

use super::config::CacheConfig;
use super::entry::ResponseRecord;
use super::freshness::{
    response_storable, shareable, stale_windows, HeadFacts, NotStored, Policy, MAX_DELTA_SECONDS,
    MAX_STALE_WINDOW,
};
use crate::http::head::{is_field_name, is_hop_by_hop, status_forbids_body};

/// How far in the future a record's `stored_at` may be: the clocks of the machines sharing
/// a store disagree a little (5 minutes is Kerberos's default tolerance). Further, and the
/// record would stay fresh for as long as its writer likes.
pub const MAX_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// The longest freshness the store path writes: lifetimes stop at 2^31 s (RFC 9111 §1.2.2).
pub const MAX_TTL_MS: u64 = MAX_DELTA_SECONDS * 1000;

/// What this Cache stores, from its configuration: built once, kept in `Shared`.
pub struct Admission {
    policy: Policy,
    max_entry_bytes: usize,
    status_header: Option<String>,
    tag_header: Option<String>,
}

impl Admission {
    pub fn new(config: &CacheConfig) -> Self {
        Admission {
            policy: config.policy.clone(),
            max_entry_bytes: config.max_entry_bytes,
            status_header: config.status_header.clone(),
            tag_header: config.tag_header.clone(),
        }
    }

    /// Whether Cache never stores this header field:
    /// - `Age` and its status header: a hit sends its own;
    /// - its tag header: removed before storing (tags are for the cache);
    /// - `Set-Cookie`: such a response is not stored at all;
    /// - what a cache need not or must not store (RFC 9111 §3.1): the hop-by-hop fields
    ///   (RFC 9110 §7.6.1: Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade,
    ///   Proxy-Connection; wsgiref's Trailers), Trailer (a WSGI response has no trailers to
    ///   announce), and the proxy's own fields (Proxy-Authenticate,
    ///   Proxy-Authentication-Info, Proxy-Authorization): every `Proxy-*`.
    pub fn never_stored(&self, name: &str) -> bool {
        let own = |header: &Option<String>| {
            header
                .as_deref()
                .is_some_and(|h| name.eq_ignore_ascii_case(h))
        };
        is_hop_by_hop(name)
            || ["age", "set-cookie", "trailer"]
                .iter()
                .any(|never| name.eq_ignore_ascii_case(never))
            || name
                .as_bytes()
                .get(..6)
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"proxy-"))
            || own(&self.status_header)
            || own(&self.tag_header)
    }
}

/// Why a record read back from a shared store is not served. `Display` says it in words
/// for the line on `wsgi.errors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The bytes are no record of this version (entry.rs).
    Undecodable,
    /// A response Cache never stores, whoever asks (`freshness::response_storable`).
    NotStorable {
        code: u16,
        why: NotStored,
    },
    /// A header Cache never stores ([`Admission::never_stored`]).
    Header(String),
    SeveralLengths,
    BadLength(String),
    LengthMismatch {
        declared: u64,
        body: usize,
    },
    /// A Content-Length field and the flag that makes a hit add one: two would go out.
    LengthTwice,
    /// Neither a Content-Length nor the flag to add one, for a status with a body.
    LengthMissing,
    /// Body bytes, or the flag to add a Content-Length, for a status without a body.
    BodyOnBodiless(u16),
    BodyTooLarge {
        body: usize,
        max: usize,
    },
    NoFreshness,
    TooFresh(u64),
    /// A stale window (s) longer than the response's headers allow.
    StaleWindow {
        window: u32,
        max: u64,
    },
    /// `stored_at` this many ms ahead of now, past [`MAX_CLOCK_SKEW_MS`].
    StoredInFuture(i64),
    /// Marked shareable (answers requests with Authorization) without saying so.
    Shareable,
    VaryEmpty,
    VaryName(String),
    VaryOrder,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Undecodable => write!(f, "it does not decode as a record of this version"),
            Refusal::NotStorable { code, why } => match why {
                NotStored::Status => write!(
                    f,
                    "status {code} is not stored (a 1xx never is, others only when in statuses)"
                ),
                NotStored::NoStore => write!(f, "its Cache-Control says no-store"),
                NotStored::Private => write!(f, "its Cache-Control says private"),
                NotStored::NoCache => write!(f, "its Cache-Control says no-cache"),
                NotStored::SetCookie => write!(f, "it sets a cookie (Set-Cookie)"),
                NotStored::VaryStar => write!(f, "its Vary is * or names no field"),
                other => write!(f, "it is not storable ({other:?})"),
            },
            Refusal::Header(name) => write!(f, "it holds a {name} header, which Cache never stores"),
            Refusal::SeveralLengths => write!(f, "it holds more than one Content-Length"),
            Refusal::BadLength(value) => {
                write!(f, "its Content-Length {value:?} is not a number of bytes")
            }
            Refusal::LengthMismatch { declared, body } => write!(
                f,
                "its Content-Length says {declared} bytes but its body holds {body}"
            ),
            Refusal::LengthTwice => write!(
                f,
                "it holds a Content-Length and the flag that makes a hit add another"
            ),
            Refusal::LengthMissing => write!(
                f,
                "it holds neither a Content-Length nor the flag that makes a hit add one"
            ),
            Refusal::BodyOnBodiless(code) => write!(
                f,
                "status {code} has no body, but the record holds body bytes or the flag to add a Content-Length"
            ),
            Refusal::BodyTooLarge { body, max } => {
                write!(f, "its body is {body} bytes, over max_entry_bytes ({max})")
            }
            Refusal::NoFreshness => write!(f, "it has no freshness lifetime"),
            Refusal::TooFresh(ms) => write!(
                f,
                "its freshness lifetime of {ms} ms is past 2^31 seconds (RFC 9111 §1.2.2)"
            ),
            Refusal::StaleWindow { window, max } => write!(
                f,
                "it may be served stale for {window} s where its headers allow at most {max} s"
            ),
            Refusal::StoredInFuture(ms) => write!(
                f,
                "it was stored {ms} ms in the future (clocks may disagree by {} s at most)",
                MAX_CLOCK_SKEW_MS / 1000
            ),
            Refusal::Shareable => write!(
                f,
                "it is marked for requests with Authorization, but its Cache-Control says neither public, s-maxage nor must-revalidate"
            ),
            Refusal::VaryEmpty => write!(f, "its Vary record names no header"),
            Refusal::VaryName(name) => write!(
                f,
                "its Vary record names {name:?}, which is not a lowercase field name"
            ),
            Refusal::VaryOrder => {
                write!(f, "its Vary record's names are not sorted and distinct")
            }
        }
    }
}

/// The body length a response's Content-Length fields declare, None without one. More than
/// one field, or one that is not a number of bytes (RFC 9110 §8.6), is refused: a hit sends
/// the stored fields as they are.
pub fn declared_length(values: &[&str]) -> Result<Option<u64>, Refusal> {
    match values {
        [] => Ok(None),
        [value] => {
            let digits = value.trim();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Refusal::BadLength((*value).to_owned()));
            }
            digits
                .parse::<u64>()
                .map(Some)
                .map_err(|_| Refusal::BadLength((*value).to_owned()))
        }
        _ => Err(Refusal::SeveralLengths),
    }
}

/// Whether a response record read back from a shared store at `now` (ms) is one this
/// Cache's store path could have written. Ages past 2^31 s are clamped to 2^31 (RFC 9111
/// §1.2.2), not refused, and so is the freshness left after them: the store path never
/// writes an age plus a lifetime past 2^31, so an age of "infinity" leaves none.
pub fn admit(record: &mut ResponseRecord, rules: &Admission, now: i64) -> Result<(), Refusal> {
    let facts = HeadFacts::read(
        record
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    );
    let response = facts.response(record.code);
    response_storable(&rules.policy, &response).map_err(|why| Refusal::NotStorable {
        code: record.code,
        why,
    })?;
    if let Some((name, _)) = record
        .headers
        .iter()
        .find(|(name, _)| rules.never_stored(name))
    {
        return Err(Refusal::Header(name.clone()));
    }
    let declared = declared_length(&facts.content_length)?;
    let body = record.body.len();
    if status_forbids_body(record.code) {
        // A 304's Content-Length may be the selected representation's (RFC 9110 §8.6): not
        // compared with the empty body.
        if body > 0 || record.add_length {
            return Err(Refusal::BodyOnBodiless(record.code));
        }
    } else {
        match (declared, record.add_length) {
            (Some(_), true) => return Err(Refusal::LengthTwice),
            (None, false) => return Err(Refusal::LengthMissing),
            (Some(declared), false) if u64::try_from(body).ok() != Some(declared) => {
                return Err(Refusal::LengthMismatch { declared, body })
            }
            _ => {}
        }
    }
    if body > rules.max_entry_bytes {
        return Err(Refusal::BodyTooLarge {
            body,
            max: rules.max_entry_bytes,
        });
    }
    let ahead = record.stored_at.saturating_sub(now);
    if ahead > MAX_CLOCK_SKEW_MS {
        return Err(Refusal::StoredInFuture(ahead));
    }
    if record.ttl_ms == 0 {
        return Err(Refusal::NoFreshness);
    }
    if record.ttl_ms > MAX_TTL_MS {
        return Err(Refusal::TooFresh(record.ttl_ms));
    }
    let cc = &response.cache_control;
    // The longest windows the store path writes for these headers, whatever the Cache's
    // defaults: their own directives, none under must-revalidate, a year at most.
    let (while_revalidate, if_error) = stale_windows(cc, (MAX_STALE_WINDOW, MAX_STALE_WINDOW));
    for (window, max) in [
        (record.stale_while_revalidate, while_revalidate),
        (record.stale_if_error, if_error),
    ] {
        if u64::from(window) > max {
            return Err(Refusal::StaleWindow { window, max });
        }
    }
    if record.shareable && !shareable(cc) {
        return Err(Refusal::Shareable);
    }
    record.age = record.age.min(MAX_DELTA_SECONDS);
    let left_ms = MAX_DELTA_SECONDS
        .saturating_sub(record.age)
        .saturating_mul(1000);
    record.ttl_ms = record.ttl_ms.min(left_ms);
    Ok(())
}

/// Whether the Vary names read back from a shared store are what the store path writes:
/// at least one, each a lowercase field name (never `*`: such a response is not stored),
/// sorted and distinct.
pub fn admit_vary(names: &[String]) -> Result<(), Refusal> {
    if names.is_empty() {
        return Err(Refusal::VaryEmpty);
    }
    if let Some(name) = names.iter().find(|name| {
        name.as_str() == "*" || !is_field_name(name) || name.bytes().any(|b| b.is_ascii_uppercase())
    }) {
        return Err(Refusal::VaryName(name.clone()));
    }
    if !names.windows(2).all(|pair| matches!(pair, [a, b] if a < b)) {
        return Err(Refusal::VaryOrder);
    }
    Ok(())
}

#[cfg(test)]
#[path = "admit_tests.rs"]
mod tests;
