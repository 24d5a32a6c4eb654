//! Which responses may be stored, for how long, and which requests may be answered from the
//! store (RFC 9111 §3, §4.2, §5.2). Pure: callers hand in parsed facts and times.

use crate::http::cache_control::CacheControl;
use crate::http::head::is_field_name;
use crate::http::http_date::parse_http_date;

/// The middleware's configuration that the policy reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Statuses that may be stored (RFC 9110 §15.1 "heuristically cacheable" by default).
    pub statuses: Vec<u16>,
    /// Lifetime of a response without explicit freshness; 0: such responses are not stored.
    pub default_ttl: u64,
}

/// What a request says about using the cache.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RequestFacts {
    pub cache_control: CacheControl,
    /// `Pragma: no-cache` (HTTP/1.0 clients; counts only without Cache-Control, §5.4).
    pub pragma_no_cache: bool,
    pub has_cache_control: bool,
    pub authorization: bool,
}

/// What a response says about being stored.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ResponseFacts {
    pub status: u16,
    pub cache_control: CacheControl,
    pub set_cookie: bool,
    /// `Vary: *`, or a member that is not a field name (RFC 9110 §12.5.5): no request can be
    /// known to match the stored one.
    pub vary_star: bool,
    /// Expires, parsed; `Some(None)` when present but invalid (which means "already expired").
    pub expires: Option<Option<i64>>,
    /// Date, parsed; the time the response arrived when absent or invalid.
    pub date: Option<i64>,
}

/// What the cache reads from a response's header fields, in one pass: by the store path from
/// the app's head, and by admit.rs from a record read back from a shared store.
#[derive(Debug, Default)]
pub struct HeadFacts<'a> {
    pub cache_control: Vec<&'a str>,
    pub set_cookie: bool,
    /// The members of every Vary field, trimmed, as sent.
    pub vary: Vec<&'a str>,
    pub expires: Option<&'a str>,
    pub date: Option<&'a str>,
    /// Every Content-Length field's value (more than one is refused: admit::declared_length).
    pub content_length: Vec<&'a str>,
    pub age: Option<&'a str>,
}

impl<'a> HeadFacts<'a> {
    pub fn read(fields: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut facts = HeadFacts::default();
        for (name, value) in fields {
            let is = |field: &str| name.eq_ignore_ascii_case(field);
            if is("cache-control") {
                facts.cache_control.push(value);
            } else if is("set-cookie") {
                facts.set_cookie = true;
            } else if is("vary") {
                facts
                    .vary
                    .extend(value.split(',').map(str::trim).filter(|v| !v.is_empty()));
            } else if is("expires") {
                facts.expires.get_or_insert(value);
            } else if is("date") {
                facts.date.get_or_insert(value);
            } else if is("content-length") {
                facts.content_length.push(value);
            } else if is("age") {
                facts.age.get_or_insert(value);
            }
        }
        facts
    }

    /// The facts [`storable`] decides on, for a response with this status.
    pub fn response(&self, status: u16) -> ResponseFacts {
        ResponseFacts {
            status,
            cache_control: CacheControl::parse(self.cache_control.iter().copied()),
            set_cookie: self.set_cookie,
            vary_star: self.vary.iter().any(|v| *v == "*" || !is_field_name(v)),
            expires: self.expires.map(parse_http_date),
            date: self.date.and_then(parse_http_date),
        }
    }
}

/// What the cache makes of a request's own Cache-Control and Pragma (`request_directives=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestDirectives {
    /// As CDNs and Varnish do by default: a client's no-cache, max-age or Pragma cannot
    /// refresh a shared entry, and its no-store only keeps its own response out of the store.
    Ignore,
    /// RFC 9111 §5.2.1: no-cache / max-age=0 / Pragma refresh the entry (coalesced by
    /// single-flight), max-age=N takes nothing older, no-store bypasses the cache.
    Honor,
}

impl RequestDirectives {
    pub fn name(self) -> &'static str {
        match self {
            RequestDirectives::Ignore => "ignore",
            RequestDirectives::Honor => "honor",
        }
    }
}

/// How a request may use the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Look up, serve a fresh entry; a miss leads (or waits for) the single flight and its
    /// response is stored.
    Use,
    /// Look up and serve a fresh entry, but a miss is not stored and leads no flight (it
    /// may wait for one): request no-store when directives are ignored.
    UseOnly,
    /// The entry found first is not acceptable: the response to a refresh (coalesced by
    /// single-flight) replaces it (honoured no-cache / max-age=0 / Pragma: no-cache).
    Refresh,
    /// Neither look up nor store (honoured request no-store).
    Bypass,
}

pub fn lookup(request: &RequestFacts, directives: RequestDirectives) -> Lookup {
    let cc = &request.cache_control;
    match directives {
        RequestDirectives::Ignore if cc.no_store => Lookup::UseOnly,
        RequestDirectives::Ignore => Lookup::Use,
        RequestDirectives::Honor if cc.no_store => Lookup::Bypass,
        RequestDirectives::Honor
            if cc.no_cache
                || cc.max_age == Some(0)
                || (!request.has_cache_control && request.pragma_no_cache) =>
        {
            Lookup::Refresh
        }
        RequestDirectives::Honor => Lookup::Use,
    }
}

/// Why a response is not stored (for `stats()` and debugging).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStored {
    RequestNoStore,
    NoStore,
    Private,
    NoCache,
    SetCookie,
    VaryStar,
    Status,
    Authorization,
    NotFresh,
}

/// RFC 9111 §1.2.2: a delta-seconds past 2^31, or a calculation that overflows it, counts
/// as 2^31 ("infinity": over 68 years). Lifetimes and ages are capped here, so a hit never
/// sends `Age: 18446744073709551615`.
pub const MAX_DELTA_SECONDS: u64 = 1 << 31;

/// The freshness lifetime in seconds: s-maxage, else max-age, else Expires − Date, else the
/// default (RFC 9111 §4.2.1; s-maxage applies because this is a shared cache). At most
/// [`MAX_DELTA_SECONDS`].
pub fn lifetime(response: &ResponseFacts, default_ttl: u64, now: i64) -> u64 {
    let cc = &response.cache_control;
    let seconds = if let Some(seconds) = cc.s_maxage.or(cc.max_age) {
        seconds
    } else {
        match response.expires {
            // An invalid Expires means "already expired" (§5.3).
            Some(None) => 0,
            Some(Some(expires)) => {
                let date = response.date.unwrap_or(now);
                u64::try_from(expires.saturating_sub(date)).unwrap_or(0)
            }
            None => default_ttl,
        }
    };
    seconds.min(MAX_DELTA_SECONDS)
}

/// May this response to this request be stored, and for how long?
pub fn storable(
    policy: &Policy,
    request: &RequestFacts,
    response: &ResponseFacts,
    now: i64,
) -> Result<u64, NotStored> {
    let cc = &response.cache_control;
    if request.cache_control.no_store {
        return Err(NotStored::RequestNoStore);
    }
    response_storable(policy, response)?;
    if request.authorization && !shareable(cc) {
        return Err(NotStored::Authorization);
    }
    match lifetime(response, policy.default_ttl, now) {
        0 => Err(NotStored::NotFresh),
        ttl => Ok(ttl),
    }
}

/// §3.5: a response that may answer requests with Authorization (and be stored from one)
/// says so with public, s-maxage or must-revalidate.
pub fn shareable(cc: &CacheControl) -> bool {
    cc.public || cc.s_maxage.is_some() || cc.must_revalidate
}

/// The part of [`storable`] the response decides alone, whatever the request and the clock:
/// also what a record read back from a shared store must pass (admit.rs).
pub fn response_storable(policy: &Policy, response: &ResponseFacts) -> Result<(), NotStored> {
    let cc = &response.cache_control;
    if cc.no_store {
        return Err(NotStored::NoStore);
    }
    // A shared cache never stores private responses (§5.2.2.7), nor ones that set a cookie
    // (Django's per-site cache replays Set-Cookie to other users).
    if cc.private {
        return Err(NotStored::Private);
    }
    if cc.no_cache {
        return Err(NotStored::NoCache);
    }
    if response.set_cookie {
        return Err(NotStored::SetCookie);
    }
    if response.vary_star {
        return Err(NotStored::VaryStar);
    }
    // A 1xx is interim (RFC 9110 §15.2), never a final response, whatever `statuses` says:
    // served from the store it would go out as the final one, and the client would read the
    // next response as this one's.
    if response.status < 200 || !policy.statuses.contains(&response.status) {
        return Err(NotStored::Status);
    }
    Ok(())
}

/// How long after going stale a stored response may still be served (RFC 5861), in seconds:
/// `(stale-while-revalidate, stale-if-error)`. The response's own directives win; the
/// defaults (`Cache(stale_while_revalidate=, stale_if_error=)`) apply to responses that do
/// not say. None when the response forbids serving it stale: `must-revalidate` or
/// `proxy-revalidate`, and for the defaults `s-maxage`, which implies `proxy-revalidate`
/// for a shared cache (RFC 9111 §4.2.4, §5.2.2.10).
/// At most a year each.
pub fn stale_windows(cc: &CacheControl, defaults: (u64, u64)) -> (u64, u64) {
    if cc.must_revalidate {
        return (0, 0);
    }
    let implied = |default: u64| if cc.s_maxage.is_some() { 0 } else { default };
    (
        cc.stale_while_revalidate
            .unwrap_or_else(|| implied(defaults.0))
            .min(MAX_STALE_WINDOW),
        cc.stale_if_error
            .unwrap_or_else(|| implied(defaults.1))
            .min(MAX_STALE_WINDOW),
    )
}

/// The longest stale window, in seconds: a year.
pub const MAX_STALE_WINDOW: u64 = 365 * 24 * 3600;

/// The Age of a stored response now (§4.2.3, simplified for an in-process cache that stored
/// it on arrival): what it already had when stored plus the time it has been stored; at most
/// [`MAX_DELTA_SECONDS`] (§1.2.2).
pub fn age(age_when_stored: u64, stored_at: i64, now: i64) -> u64 {
    age_when_stored
        .saturating_add(u64::try_from(now.saturating_sub(stored_at)).unwrap_or(0))
        .min(MAX_DELTA_SECONDS)
}

/// The app's `Age` field in seconds (RFC 9111 §5.1: delta-seconds). A number past 2^31,
/// even one that overflows u64, is 2^31 (§1.2.2), never 0: an app that says its response
/// is older than anything must not get it stored as brand new. A value that is not
/// delta-seconds is ignored (0).
pub fn age_field(value: &str) -> u64 {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    value
        .parse::<u64>()
        .map_or(MAX_DELTA_SECONDS, |seconds| seconds.min(MAX_DELTA_SECONDS))
}

#[cfg(test)]
#[path = "freshness_tests.rs"]
mod tests;
